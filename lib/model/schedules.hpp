// Time limits and retries of a job (docs/workers.md): when it becomes
// claimable, when it runs out of time pending or running, and what a
// failure reruns. Pure functions over the job record, like leases.hpp.
#ifndef JOBSTATE_MODEL_SCHEDULES_HPP
#define JOBSTATE_MODEL_SCHEDULES_HPP

#include <jobstate/job.hpp>
#include <jobstate/requests.hpp>
#include <jobstate/result.hpp>

#include <optional>
#include <string_view>

namespace jobstate::model {

/// The error code of a job that ran longer than its run_timeout.
inline constexpr std::string_view deadline_exceeded_code = "deadline_exceeded";
/// The error code of a job cancelled for staying pending past pending_ttl.
inline constexpr std::string_view pending_expired_code = "expired";

/// When `j` became (or becomes) claimable: run_after when later than
/// created_at, else created_at. Claims take jobs in this order.
timestamp eligible_at(const job& j);

/// When `j` runs out of time in its present status, if ever: a pending
/// job's pending_ttl after eligible_at; a running job's run_timeout after
/// started_at. The key time of its idx_deadlines entry.
std::optional<timestamp> deadline(const job& j);

/// Whether `j`'s deadline has passed by `now`.
bool deadline_passed(const job& j, timestamp now);

/// Ends `j` for its passed deadline: pending → cancelled with code
/// "expired", running → failed with code "deadline_exceeded".
/// REQUIRES: deadline_passed(j, now).
void apply_deadline(job& j, timestamp now);

/// The wait before attempt `attempt` + 1 under `p`: initial_backoff ×
/// multiplier^(attempt − 1), at most max_backoff, moved by up to `jitter`
/// of itself as `unit` (in [0, 1)) says: 0.5 moves it not at all.
std::chrono::milliseconds retry_backoff(const retry_policy& p,
                                        std::uint32_t attempt, double unit);

/// Whether failed job `j` is to be rerun under its retry policy: it has
/// one, attempts remain, and the policy names its error code (or none).
bool retries(const job& j);

/// The rerun of `failed` that retries it: pending, claimable from `now` +
/// its backoff, with details naming the job and attempt it retries.
/// REQUIRES: retries(failed).
job make_retry(const job& failed, job_id id, timestamp now, double unit);

/// Whether the scheduling fields of a create request are valid: each time
/// limit 1 ms to max_time_limit, the retry policy within its bounds, and
/// none on a batch parent.
result<void> validate_schedule(const create_request& r, bool batch_parent);
/// Whether `p` is within its documented bounds; `field` names it in errors.
result<void> validate_retry_policy(std::string_view field,
                                   const retry_policy& p);

}  // namespace jobstate::model

#endif  // JOBSTATE_MODEL_SCHEDULES_HPP
