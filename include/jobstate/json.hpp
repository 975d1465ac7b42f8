// jobstate's wire format: the native JSON shape of a job and of the engine's
// other answers (changes, pages, batches, purges, waits, stats), and
// Boost.JSON conversions for them. Requests are read by
// <jobstate/json_requests.hpp>; timestamps are written and read by
// <jobstate/timestamp.hpp>.
//
// This is the one wire layer: the C API, the HTTP server's native surface
// and the Python binding all use it, and the compatibility surfaces (Scale
// GP, the generic jobs API, GC AI) map from it.
// It is written by hand, not derived from the structs, so that renaming a
// member never changes it. Pure functions, no I/O; thread-safe.
//
// The shape of a job (every member present, in this order, except those
// marked "only when set"):
//
//   {
//     "id":              "0193...-...",   canonical UUID, lower case
//     "account_id":      "acme",
//     "project_id":      "alpha",
//     "kind":            "parse",
//     "status":          "running",       a job_status name (status.hpp)
//     "created_at":      "2026-11-24T23:30:39.123456Z",
//     "started_at":      timestamp or null,
//     "completed_at":    timestamp or null,
//     "source_id":       string or null,
//     "correlation_id":  string or null,
//     "idempotency_key": string or null,
//     "original_job_id": UUID or null,
//     "parent_id":       UUID or null,
//     "attempt":         1,
//     "is_batch":        false,
//     "input":           any JSON (null when none),
//     "result":          any JSON (null when none),
//     "error":           {"code": string, "message": string} or null,
//     "progress": {
//       "percent": number (0 to 100) or null,
//       "counts":  {"total": n, "succeeded": n, "failed": n,
//                   "cancelled": n, "pending": n} or null,
//       "details": any JSON (null when none)
//     },
//     "lease":           {"worker_id": string, "epoch": 1,
//                         "expires_at": timestamp, "ttl_ms": n},
//                                         only when set (claimed jobs)
//     "run_after":       timestamp,       only when set
//     "run_timeout_ms":  n,               only when set
//     "pending_ttl_ms":  n,               only when set
//     "retry":           {"max_attempts": n, "initial_backoff_ms": n,
//                         "max_backoff_ms": n, "multiplier": x,
//                         "jitter": x, "retry_on": [string, ...]},
//                                         only when set
//     "history": [
//       {"step": "created", "timestamp": timestamp, "duration_ms": 0,
//        "status": "pending", "details": any JSON (null when none)},
//       ...
//     ],
//     "revision": 3
//   }
//
// Names are the members of job.hpp, except that a history event's `at` is
// "timestamp", as in the published APIs. Timestamps are RFC 3339 in UTC with
// exactly six fraction digits and a "Z". Counts, attempt, revision and
// duration_ms are integers; a whole percent is written as an integer (50,
// not 50.0), any other as a floating-point number.
//
// The other answers:
//
//   change:        {"sequence": 42, "at": timestamp, "id": UUID,
//                   "account_id", "project_id", "status", "revision": 3,
//                   "step": "started"}
//   change_batch:  {"changes": [change, ...], "last_sequence": 42}
//   job_page:      {"jobs": [job, ...], "next_cursor": string or null}
//   created_batch: {"parent": job, "child_ids": [UUID, ...] (in the order of
//                   the request's children), "created": true}
//   purge_result:  {"purged": n, "tombstones_expired": n, "more": false}
//   wait_result:   {"job": job, "timed_out": false, "satisfied_revision": 3}
//   engine_stats:  {"jobs_by_status": {"pending": n, ...},
//                   "changes_by_step": {"created": n, ...},
//                   "waits_pending": n, "watches_pending": n,
//                   "commits": {"bucket_bounds_seconds": [...],
//                               "bucket_counts": [...],
//                               "sum_seconds": x, "count": n}}
//
// Reading (job_from_json, boost::json::value_to, boost::json::try_value_to)
// accepts exactly what writing produces, with this tolerance: a member whose
// value may be null may also be left out; unknown members are ignored;
// timestamps may carry any number of fraction digits (beyond six they are
// truncated) and a numeric offset instead of "Z"; UUIDs may be upper case;
// integers may be written as whole floating-point numbers up to 2^53.
// Reading checks shape and types only, not the engine's rules (e.g. that a
// pending job has no started_at): those are enforced when jobs are written.
// Writing then reading gives back an equal job. Through text too, given a
// reader that rounds numbers correctly: Boost.JSON 1.81's parser may read a
// fractional percent one unit in the last place off (boostorg/json#599).
#ifndef JOBSTATE_JSON_HPP
#define JOBSTATE_JSON_HPP

#include <jobstate/export.hpp>
#include <jobstate/job.hpp>
#include <jobstate/requests.hpp>
#include <jobstate/result.hpp>
#include <jobstate/stats.hpp>
#include <jobstate/wait.hpp>

#include <boost/json/conversion.hpp>
#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

namespace jobstate {

/// The JSON shape of `j` (above). Never fails.
JOBSTATE_EXPORT boost::json::value to_json(const job& j);

/// The JSON shapes of the engine's other answers (above). Never fail.
JOBSTATE_EXPORT boost::json::value to_json(const change& c);
JOBSTATE_EXPORT boost::json::value to_json(const change_batch& b);
JOBSTATE_EXPORT boost::json::value to_json(const job_page& page);
JOBSTATE_EXPORT boost::json::value to_json(const created_batch& b);
JOBSTATE_EXPORT boost::json::value to_json(const purge_result& r);
JOBSTATE_EXPORT boost::json::value to_json(const wait_result& r);
JOBSTATE_EXPORT boost::json::value to_json(const engine_stats& s);
/// {"job": ..., "cancelled": bool}.
JOBSTATE_EXPORT boost::json::value to_json(const heartbeat_result& r);

/// The job that `to_json` would have turned into `v`.
/// Errors: invalid_argument, whose detail names the member, its path and
/// what was expected, e.g. `job.history[2].status: expected a job status
/// (pending, running, ...), got "done"`.
JOBSTATE_EXPORT result<job> job_from_json(const boost::json::value& v);

// --- Boost.JSON conversions ---
//
// So that boost::json::value_from(x) works for each type of the job record,
// producing the shapes above, and boost::json::value_to<T>(v) /
// boost::json::try_value_to<T>(v) read them back. Call the Boost functions,
// not these overloads.
//
// value_to throws jobstate::system_error (code invalid_argument, detail as in
// job_from_json) on bad input; try_value_to returns a boost::system::result
// whose error is errc::invalid_argument, without the detail (use
// job_from_json, or the readers of <jobstate/json_requests.hpp>, to keep
// it). The engine's answers other than the job record convert one way only
// (value_from).

JOBSTATE_EXPORT void tag_invoke(const boost::json::value_from_tag&,
                                boost::json::value& v, const job& j);
JOBSTATE_EXPORT void tag_invoke(const boost::json::value_from_tag&,
                                boost::json::value& v, job_status s);
JOBSTATE_EXPORT void tag_invoke(const boost::json::value_from_tag&,
                                boost::json::value& v, const job_id& id);
JOBSTATE_EXPORT void tag_invoke(const boost::json::value_from_tag&,
                                boost::json::value& v, const job_error& e);
JOBSTATE_EXPORT void tag_invoke(const boost::json::value_from_tag&,
                                boost::json::value& v, const retry_policy& p);
JOBSTATE_EXPORT void tag_invoke(const boost::json::value_from_tag&,
                                boost::json::value& v, const progress& p);
JOBSTATE_EXPORT void tag_invoke(const boost::json::value_from_tag&,
                                boost::json::value& v,
                                const progress_counts& c);
JOBSTATE_EXPORT void tag_invoke(const boost::json::value_from_tag&,
                                boost::json::value& v, const history_event& e);
JOBSTATE_EXPORT void tag_invoke(const boost::json::value_from_tag&,
                                boost::json::value& v, const change& c);
JOBSTATE_EXPORT void tag_invoke(const boost::json::value_from_tag&,
                                boost::json::value& v, const change_batch& b);
JOBSTATE_EXPORT void tag_invoke(const boost::json::value_from_tag&,
                                boost::json::value& v, const job_page& page);
JOBSTATE_EXPORT void tag_invoke(const boost::json::value_from_tag&,
                                boost::json::value& v, const created_batch& b);
JOBSTATE_EXPORT void tag_invoke(const boost::json::value_from_tag&,
                                boost::json::value& v, const purge_result& r);
JOBSTATE_EXPORT void tag_invoke(const boost::json::value_from_tag&,
                                boost::json::value& v, const wait_result& r);
JOBSTATE_EXPORT void tag_invoke(const boost::json::value_from_tag&,
                                boost::json::value& v, const engine_stats& s);
JOBSTATE_EXPORT void tag_invoke(const boost::json::value_from_tag&,
                                boost::json::value& v,
                                const heartbeat_result& r);

JOBSTATE_EXPORT job tag_invoke(const boost::json::value_to_tag<job>&,
                               const boost::json::value& v);
JOBSTATE_EXPORT job_status tag_invoke(
    const boost::json::value_to_tag<job_status>&, const boost::json::value& v);
JOBSTATE_EXPORT job_id tag_invoke(const boost::json::value_to_tag<job_id>&,
                                  const boost::json::value& v);
JOBSTATE_EXPORT job_error tag_invoke(
    const boost::json::value_to_tag<job_error>&, const boost::json::value& v);
JOBSTATE_EXPORT progress tag_invoke(const boost::json::value_to_tag<progress>&,
                                    const boost::json::value& v);
JOBSTATE_EXPORT progress_counts
tag_invoke(const boost::json::value_to_tag<progress_counts>&,
           const boost::json::value& v);
JOBSTATE_EXPORT history_event
tag_invoke(const boost::json::value_to_tag<history_event>&,
           const boost::json::value& v);

JOBSTATE_EXPORT boost::system::result<job> tag_invoke(
    const boost::json::try_value_to_tag<job>&, const boost::json::value& v);
JOBSTATE_EXPORT boost::system::result<job_status> tag_invoke(
    const boost::json::try_value_to_tag<job_status>&,
    const boost::json::value& v);
JOBSTATE_EXPORT boost::system::result<job_id> tag_invoke(
    const boost::json::try_value_to_tag<job_id>&, const boost::json::value& v);
JOBSTATE_EXPORT boost::system::result<job_error> tag_invoke(
    const boost::json::try_value_to_tag<job_error>&,
    const boost::json::value& v);
JOBSTATE_EXPORT boost::system::result<progress> tag_invoke(
    const boost::json::try_value_to_tag<progress>&,
    const boost::json::value& v);
JOBSTATE_EXPORT boost::system::result<progress_counts> tag_invoke(
    const boost::json::try_value_to_tag<progress_counts>&,
    const boost::json::value& v);
JOBSTATE_EXPORT boost::system::result<history_event> tag_invoke(
    const boost::json::try_value_to_tag<history_event>&,
    const boost::json::value& v);

}  // namespace jobstate

#endif  // JOBSTATE_JSON_HPP
