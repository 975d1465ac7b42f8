// Each mutation as it runs inside the committer's write transaction: load
// the job (within its tenancy), apply the model's transition, write it back
// and record the change. Inputs are validated before they get here.
#ifndef JOBSTATE_ENGINE_MUTATIONS_HPP
#define JOBSTATE_ENGINE_MUTATIONS_HPP

#include "store/job_store.hpp"

#include <jobstate/options.hpp>
#include <jobstate/requests.hpp>
#include <jobstate/result.hpp>

namespace jobstate::engine_detail {

/// The job `ref` names, honouring tenancy: a job of another account or
/// project is not_found; a purged one is gone.
result<job> load(const store::txn_view& txn, const job_ref& ref);
/// The job with id `id`, whatever its tenancy (for waiters, whose tenancy
/// was checked when they registered): not_found, or gone when purged.
result<job> load_by_id(const store::txn_view& txn, const job_id& id);

result<created_job> create(store::write_txn& w, const create_request& r,
                           timestamp now);
result<job> start(store::write_txn& w, const job_ref& ref,
                  const mutation_options& opts, timestamp now,
                  const limits& lim);
result<job> report_progress(store::write_txn& w, const job_ref& ref,
                            const progress& p, const mutation_options& opts,
                            timestamp now, const limits& lim);
result<job> complete(store::write_txn& w, const job_ref& ref,
                     const completion& c, const mutation_options& opts,
                     timestamp now, const limits& lim);
result<job> cancel(store::write_txn& w, const job_ref& ref,
                   std::string_view reason, const mutation_options& opts,
                   timestamp now, const limits& lim);
result<job> rerun(store::write_txn& w, const job_ref& ref,
                  const rerun_options& opts, timestamp now);
result<purge_result> purge(store::write_txn& w, const purge_request& r,
                           std::chrono::seconds tombstone_retention,
                           timestamp now);

}  // namespace jobstate::engine_detail

#endif  // JOBSTATE_ENGINE_MUTATIONS_HPP
