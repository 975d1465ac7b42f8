// Building answers: JSON bodies, the error envelope of each surface, and the
// mapping from engine errors to HTTP statuses.
#ifndef JOBSTATE_HTTP_RESPONSES_HPP
#define JOBSTATE_HTTP_RESPONSES_HPP

#include <jobstate/error.hpp>
#include <jobstate/job.hpp>
#include <jobstate/status.hpp>

#include "http/exchange.hpp"
#include "http/surfaces.hpp"

#include <boost/beast/http/status.hpp>
#include <boost/json/value.hpp>

#include <string_view>

namespace jobstate::http {

using status = boost::beast::http::status;

/// A response with a JSON body and Content-Type application/json.
response json_response(status code, const boost::json::value& body);

/// json_response of the native shape of `j` (<jobstate/json.hpp>). Every
/// read of a job answers with it, so it builds the JSON in a stack buffer
/// instead of allocating each member.
response job_response(status code, const job& j);

/// An error in the envelope of `s`. `code` is a short machine-readable
/// name ("not_found", "invalid_json", ...), `message` says what to fix.
/// The message is sent as printable ASCII: other bytes (of client text it
/// quotes) become '?', so the body is always valid JSON.
response error_response(surface s, status code, std::string_view error_code,
                        std::string_view message);

/// The HTTP status for an engine error: invalid_argument 400, not_found 404,
/// illegal_transition, conflict and already_exists 409, gone and expired 410,
/// too_large 413, storage_full 507, engine_closed 503, others 500.
status status_for(std::error_code ec);
/// The short name of an engine error code, e.g. "illegal_transition".
std::string_view code_name(std::error_code ec);
/// error_response for an engine error.
response engine_error_response(surface s, const jobstate::error& e);

/// Seconds a client polling an unfinished job should wait before asking
/// again; sent as Retry-After on every answer about such a job.
inline constexpr int retry_after_seconds = 1;
/// Adds Retry-After when `st` is not terminal.
void add_retry_after(response& res, job_status st);

}  // namespace jobstate::http

#endif  // JOBSTATE_HTTP_RESPONSES_HPP
