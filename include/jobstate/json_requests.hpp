// Engine requests read from JSON: the shapes that the C API
// (include/jobstate/jobstate.h), the Python binding and any other foreign
// caller send. docs/c-api.md lists them with examples; jobs and the engine's
// answers are written by <jobstate/json.hpp>.
//
// Readers are strict: a member of the wrong type, or one they do not know,
// is an invalid_argument error whose detail names the member's path and
// what was expected, e.g.
//   create request.kind: expected a string, got the number 3
//   create request.knd: unknown member (expected: account_id, ...)
//   batch request.children[2].input: ...
// so that a typo never passes silently. Absent and null members take the
// C++ defaults of the request's struct; timestamps, ids and statuses are
// read as <jobstate/json.hpp> reads them. Bad input changes nothing.
//
// Pure functions, no I/O (except list_children, which reads the engine);
// thread-safe.
#ifndef JOBSTATE_JSON_REQUESTS_HPP
#define JOBSTATE_JSON_REQUESTS_HPP

#include <jobstate/export.hpp>
#include <jobstate/options.hpp>
#include <jobstate/requests.hpp>
#include <jobstate/result.hpp>
#include <jobstate/wait.hpp>

#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace jobstate {

class engine;

/// Engine options for the database at `path`: {"durability": "full" |
/// "no_meta_sync" | "no_sync", "map_size", "max_map_size", "max_readers",
/// "max_batch", "tombstone_retention_seconds", "feed_retention_count",
/// "feed_retention_age_seconds", "cross_process_notifications",
/// "write_map", "automatic_lease_expiry", "default_retry" (a retry policy,
/// as create's "retry"), "limits": {"max_id_size", "max_kind_size",
/// "max_json_size", "max_text_size", "max_history", "max_page_size",
/// "max_batch_children"}}; null for the defaults.
JOBSTATE_EXPORT result<options> options_from_json(std::string path,
                                                  const boost::json::value& v);

/// {"account_id", "project_id", "kind" (all three required), "input",
/// "source_id", "correlation_id", "idempotency_key", "details", "run_after"
/// (a timestamp), "run_timeout_ms", "pending_ttl_ms", "retry":
/// {"max_attempts", "initial_backoff_ms", "max_backoff_ms", "multiplier",
/// "jitter", "retry_on": [error code, ...]} (each member optional)}.
JOBSTATE_EXPORT result<create_request> create_request_from_json(
    const boost::json::value& v);

/// The members of a create request (the parent) and "children" (required):
/// [{"kind" (required), "input", "source_id", "correlation_id"}, ...].
/// More than `max_children` children is too_large, found before any child
/// is read (pass the engine's limits.max_batch_children).
JOBSTATE_EXPORT result<batch_request> batch_request_from_json(
    const boost::json::value& v, std::size_t max_children);

/// {"expected_revision", "lease_epoch", "details", "with_history"}, or
/// null.
JOBSTATE_EXPORT result<mutation_options> mutation_options_from_json(
    const boost::json::value& v);

/// {"account_id", "project_id", "kinds": ["parse", ...], "worker_id" (these
/// four required), "lease_ttl_ms" (default 30000), "wait_ms" (default 0),
/// "details", "with_history"}.
JOBSTATE_EXPORT result<claim_request> claim_request_from_json(
    const boost::json::value& v);

/// The job's "progress" shape: {"percent", "counts": {"total", "succeeded",
/// "failed", "cancelled", "pending", "running", "partially_succeeded"},
/// "details"}; each member may be left out.
JOBSTATE_EXPORT result<progress> progress_from_json(
    const boost::json::value& v);

/// {"status": "succeeded" | "partially_succeeded" | "failed" (default
/// "succeeded"), "result", "error": {"code", "message"} or null}.
JOBSTATE_EXPORT result<completion> completion_from_json(
    const boost::json::value& v);

/// {"correlation_id", "details"}, or null.
JOBSTATE_EXPORT result<rerun_options> rerun_options_from_json(
    const boost::json::value& v);

/// {"account_id", "project_id" (both required), "status", "kind",
/// "parent_id", "original_job_id", "limit", "cursor", "order":
/// "newest_first" | "oldest_first", "with_history": true (the default) |
/// false}.
JOBSTATE_EXPORT result<list_query> list_query_from_json(
    const boost::json::value& v);

/// A query for the children of batch `parent`: {"status", "limit",
/// "cursor", "order", "with_history"}, or null.
JOBSTATE_EXPORT result<list_query> children_query_from_json(
    const job_ref& parent, const boost::json::value& v);

/// {"older_than_seconds", "max_jobs"}, or null.
JOBSTATE_EXPORT result<purge_request> purge_request_from_json(
    const boost::json::value& v);

/// null or {} (terminal), {"terminal": true}, {"changed_after": revision}
/// or {"status_in": ["running", ...]} (not empty): one member at most.
JOBSTATE_EXPORT result<wait_condition> wait_condition_from_json(
    const boost::json::value& v);

/// {"after", "limit", "account_id", "project_id", "bookmark_after_ms"
/// (negative: never)}, or null.
JOBSTATE_EXPORT result<watch_request> watch_request_from_json(
    const boost::json::value& v);

// --- What foreign callers share beyond JSON ---

/// A job_ref from its three parts as text. Errors: invalid_argument when
/// `id` is not a UUID.
JOBSTATE_EXPORT result<job_ref> make_job_ref(std::string_view account_id,
                                             std::string_view project_id,
                                             std::string_view id);

/// A timeout given in milliseconds, as the C API and Python take it:
/// negative (or beyond 100 years) waits forever, 0 checks once.
JOBSTATE_EXPORT std::chrono::milliseconds timeout_from_ms(
    std::int64_t ms) noexcept;

/// A page of the children of batch `parent` (query from
/// children_query_from_json). Errors: those of engine::get for the parent
/// (not_found, gone, ...), invalid_argument when it is not a batch, those
/// of engine::list. Thread-safe as the engine is.
JOBSTATE_EXPORT result<job_page> list_children(engine& e, const job_ref& parent,
                                               const list_query& query);

}  // namespace jobstate

#endif  // JOBSTATE_JSON_REQUESTS_HPP
