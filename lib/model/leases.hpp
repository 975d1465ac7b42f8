// Leases: how a worker holds a running job (docs/workers.md). Pure
// functions over the job record, like transitions.hpp: each checks, then
// changes the record in place; on error the record is left as it was.
#ifndef JOBSTATE_MODEL_LEASES_HPP
#define JOBSTATE_MODEL_LEASES_HPP

#include <jobstate/options.hpp>
#include <jobstate/requests.hpp>
#include <jobstate/result.hpp>

namespace jobstate::model {

/// The error code of a job whose lease lapsed.
inline constexpr std::string_view lease_expired_code = "lease_expired";

/// A worker's fence: lease_lost (carrying the job's status, revision and
/// epoch) unless `j` is running under a lease of epoch `epoch` that has not
/// lapsed at `now`, within its run_timeout. A lapsed lease (or a passed run
/// deadline) is lost even before its expiry is written: the first commit
/// after `expires_at` decides, never the worker.
result<void> check_lease(const job& j, std::uint64_t epoch, timestamp now);

/// pending → running under a new lease for `r.worker_id`, with a "claimed"
/// event carrying the lease's epoch.
result<void> apply_claim(job& j, const claim_request& r, timestamp now,
                         const limits& lim);

/// Renews `j`'s lease for its ttl from `now`, without an event (revision
/// +1, so the change is seen). REQUIRES: check_lease passed.
void apply_heartbeat(job& j, timestamp now);

/// Whether `j`'s lease had lapsed by `now` while it ran: the job an expiry
/// must fail.
bool lease_lapsed(const job& j, timestamp now);

/// running under a lapsed lease → failed with error code "lease_expired".
/// REQUIRES: lease_lapsed(j, now).
void apply_lease_expiry(job& j, timestamp now);

}  // namespace jobstate::model

#endif  // JOBSTATE_MODEL_LEASES_HPP
