// The state machine applied to job records: pure functions, no I/O.
//
// Each function checks the expected revision and the transition table, then
// changes the record in place, appends one history event and bumps the
// revision. On error the record is left exactly as it was.
//
// `j.history` need hold only the job's last event: a transition looks no
// further back (the store reads no more for a write, so that a write costs
// the same however long the history). apply_progress, which keeps the
// history within its limit, is told how many events come before.
#ifndef JOBSTATE_MODEL_TRANSITIONS_HPP
#define JOBSTATE_MODEL_TRANSITIONS_HPP

#include <jobstate/options.hpp>
#include <jobstate/requests.hpp>
#include <jobstate/result.hpp>

namespace jobstate::model {

/// A new pending job at revision 1 with its "created" event.
job make_job(const create_request& request, job_id id, timestamp now);

/// A new pending job that reruns terminal job `original`.
/// REQUIRES: is_terminal(original.status) (checked by check_rerun).
job make_rerun(const job& original, const rerun_options& opts, job_id id,
               timestamp now);

/// Whether `original` may be rerun: illegal_transition unless terminal.
result<void> check_rerun(const job& original);

result<void> apply_start(job& j, const mutation_options& opts, timestamp now,
                         const limits& lim);
/// `earlier_events`: how many events of `j`'s history come before
/// `j.history` (0 when it holds them all).
result<void> apply_progress(job& j, const progress& p,
                            const mutation_options& opts, timestamp now,
                            const limits& lim, std::size_t earlier_events);
result<void> apply_complete(job& j, const completion& c,
                            const mutation_options& opts, timestamp now,
                            const limits& lim);
result<void> apply_cancel(job& j, std::string_view reason,
                          const mutation_options& opts, timestamp now,
                          const limits& lim);

/// The event of `j` moving to `to` (or staying, for progress) at `now`: its
/// duration is the time since the previous event, never negative (a wall
/// clock stepped back must not make time run backwards in a history).
history_event make_event(const job& j, std::string_view step, job_status to,
                         timestamp now, const boost::json::value& details);

/// The error code recorded on a cancelled job.
inline constexpr std::string_view cancelled_error_code = "cancelled";

}  // namespace jobstate::model

#endif  // JOBSTATE_MODEL_TRANSITIONS_HPP
