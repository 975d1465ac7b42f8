// Each mutation as it runs inside the committer's write transaction: load
// the job (within its tenancy), apply the model's transition, write it back
// and record the change. Inputs are validated before they get here.
#ifndef JOBSTATE_ENGINE_MUTATIONS_HPP
#define JOBSTATE_ENGINE_MUTATIONS_HPP

#include <jobstate/options.hpp>
#include <jobstate/requests.hpp>
#include <jobstate/result.hpp>

#include "store/job_store.hpp"

#include <variant>

namespace jobstate::engine_detail {

/// The job `ref` names, honouring tenancy: a job of another account or
/// project is not_found; a purged one is gone.
/// Without `with_history`, the job's history is left empty (not decoded).
result<job> load(const store::txn_view& txn, const job_ref& ref,
                 bool with_history = true);
/// The job with id `id`, whatever its tenancy (for waiters, whose tenancy
/// was checked when they registered): not_found, or gone when purged.
result<job> load_by_id(const store::txn_view& txn, const job_id& id,
                       bool with_history = true);

result<created_job> create(store::write_txn& w, const create_request& r,
                           timestamp now);
result<created_batch> create_batch(store::write_txn& w, const batch_request& r,
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
/// What a claim attempt found: the job it claimed, and what its kinds have
/// left: another job claimable now, or when the next one becomes claimable
/// (a job created with run_after, a retry waiting out its backoff).
struct claim_found {
  std::optional<job> claimed;
  std::optional<timestamp> next_eligible;  ///< Only when none is ready.
  /// Another job is claimable now (or, with nothing claimed, the attempt
  /// stopped early: try again).
  bool more_ready = false;
};
/// Claims the first claimable job of the request's kinds (the soonest
/// eligible, then the oldest). With `look_further`, a claim that took a
/// job also reports what its kinds have left (for the claims still
/// waiting: one more read); without, only what it took.
result<claim_found> claim(store::write_txn& w, const claim_request& r,
                          timestamp now, const limits& lim,
                          bool look_further = true);
/// Renews the lease opts.lease_epoch names, recording `p` when given.
result<heartbeat_result> heartbeat(store::write_txn& w, const job_ref& ref,
                                   const std::optional<progress>& p,
                                   const mutation_options& opts, timestamp now,
                                   const limits& lim);
/// Ends up to `max` jobs that ran out of time by `now`: a lapsed lease
/// fails its job ("lease_expired"), a passed run deadline too
/// ("deadline_exceeded"), a passed pending_ttl cancels it ("expired").
/// Answers how many it ended (a lease renewed or a job ended meanwhile is
/// left, and so is a damaged record: the rest are not held back by it).
result<std::size_t> expire_due(store::write_txn& w, timestamp now,
                               std::size_t max);
result<purge_result> purge(store::write_txn& w, const purge_request& r,
                           std::chrono::seconds tombstone_retention,
                           timestamp now);

/// A mutation of an existing job, as a value: what the blocking and the
/// asynchronous forms of each operation share.
struct start_op {
  job_ref ref;
  mutation_options opts;
};
struct progress_op {
  job_ref ref;
  progress p;
  mutation_options opts;
};
struct complete_op {
  job_ref ref;
  completion c;
  mutation_options opts;
};
struct cancel_op {
  job_ref ref;
  std::string reason;
  mutation_options opts;
};
struct rerun_op {
  job_ref ref;
  rerun_options opts;
};
using job_mutation =
    std::variant<start_op, progress_op, complete_op, cancel_op, rerun_op>;

/// Checks a mutation's input before it is queued: nothing invalid is ever
/// written.
result<void> validate(const job_mutation& m, const limits& lim);
/// Runs a validated mutation inside the committer's transaction.
result<job> apply(store::write_txn& w, const job_mutation& m, timestamp now,
                  const limits& lim);
/// The job a mutation targets.
const job_ref& target(const job_mutation& m);
/// Whether the mutation answers with the job's history
/// (mutation_options::with_history; a rerun's new job always has it).
bool answers_with_history(const job_mutation& m);

}  // namespace jobstate::engine_detail

#endif  // JOBSTATE_ENGINE_MUTATIONS_HPP
