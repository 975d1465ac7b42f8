// Engine requests and answers as JSON values: the shapes that the C API
// (include/jobstate/jobstate.h) and the Python binding exchange with their
// callers. docs/c-api.md lists them; jobs themselves use the native shape of
// <jobstate/json.hpp>.
//
// Readers are strict: a member of the wrong type, or one they do not know,
// is an invalid_argument error naming it ("create request: member \"knd\" is
// not known"), so that a typo never passes silently. Absent and null members
// take the C++ defaults.
//
// Uses only the public API and Boost.JSON, so that the Python extension can
// compile it too (it cannot reach symbols hidden in libjobstate). Pure
// functions; thread-safe.
#ifndef JOBSTATE_CAPI_JSON_REQUESTS_HPP
#define JOBSTATE_CAPI_JSON_REQUESTS_HPP

#include <jobstate/engine.hpp>
#include <jobstate/options.hpp>
#include <jobstate/requests.hpp>
#include <jobstate/result.hpp>
#include <jobstate/wait.hpp>

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace jobstate::capi {

/// Engine options: {"durability": "full"|"no_meta_sync"|"no_sync",
/// "map_size", "max_map_size", "max_readers", "max_batch",
/// "tombstone_retention_seconds", "feed_retention_count",
/// "feed_retention_age_seconds", "cross_process_notifications",
/// "limits": {"max_id_size", "max_kind_size", "max_json_size",
/// "max_text_size", "max_history", "max_page_size", "max_batch_children"}};
/// null for defaults.
result<options> options_from_json(std::string path,
                                  const boost::json::value& v);

/// {"account_id", "project_id", "kind", "input", "source_id",
/// "correlation_id", "idempotency_key", "details"}.
result<create_request> create_request_from_json(const boost::json::value& v);

/// The members of a create request (the parent) and "children": [{"kind"
/// (required), "input", "source_id", "correlation_id"}, ...]. More than
/// `max_children` children is too_large, found before any child is read.
result<batch_request> batch_request_from_json(const boost::json::value& v,
                                              std::size_t max_children);

/// {"expected_revision", "details"}, or null.
result<mutation_options> mutation_options_from_json(
    const boost::json::value& v);

/// The job's "progress" shape: {"percent", "counts", "details"}.
result<progress> progress_from_json(const boost::json::value& v);

/// {"status": "succeeded"|"partially_succeeded"|"failed" (default
/// "succeeded"), "result", "error": {"code", "message"} or null}.
result<completion> completion_from_json(const boost::json::value& v);

/// {"correlation_id", "details"}, or null.
result<rerun_options> rerun_options_from_json(const boost::json::value& v);

/// {"account_id", "project_id", "status", "kind", "parent_id",
/// "original_job_id", "limit", "cursor"}.
result<list_query> list_query_from_json(const boost::json::value& v);

/// The children of `parent`: {"status", "limit", "cursor"}, or null.
result<list_query> children_query_from_json(const job_ref& parent,
                                            const boost::json::value& v);

/// A page of the children of `parent` (query from children_query_from_json):
/// not_found or gone when the parent is, invalid_argument when it is not a
/// batch. (Not JSON, but shared by the C API and the Python binding alike.)
result<job_page> list_children(engine& e, const job_ref& parent,
                               const list_query& query);

/// {"older_than_seconds", "max_jobs"}, or null.
result<purge_request> purge_request_from_json(const boost::json::value& v);

/// null or {} (terminal), {"terminal": true}, {"changed_after": revision}
/// or {"status_in": ["running", ...]}: one member at most.
result<wait_condition> wait_condition_from_json(const boost::json::value& v);

/// {"after", "limit", "account_id", "project_id", "bookmark_after_ms"
/// (negative: never)}.
result<watch_request> watch_request_from_json(const boost::json::value& v);

/// A job_ref from its three parts; the id in canonical UUID form.
result<job_ref> make_job_ref(std::string_view account_id,
                             std::string_view project_id,
                             std::string_view job_id);

/// A C-style timeout: negative (or beyond 100 years) waits forever, 0 checks
/// once.
std::chrono::milliseconds timeout_from_ms(std::int64_t ms) noexcept;

/// {"jobs": [job, ...], "next_cursor": string or null}.
boost::json::value to_json(const job_page& page);
/// {"parent": job, "child_ids": [id, ...] (in the order of the request's
/// children), "created": bool}.
boost::json::value to_json(const created_batch& b);
/// {"purged", "tombstones_expired", "more"}.
boost::json::value to_json(const purge_result& r);
/// {"sequence", "at", "id", "account_id", "project_id", "status",
/// "revision", "step"}.
boost::json::value to_json(const change& c);
/// {"changes": [change, ...], "last_sequence"}.
boost::json::value to_json(const change_batch& b);

/// "2026-11-24T23:30:39.123456Z", as jobs render their timestamps.
std::string format_timestamp(timestamp t);

}  // namespace jobstate::capi

#endif  // JOBSTATE_CAPI_JSON_REQUESTS_HPP
