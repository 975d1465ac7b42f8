// Pieces shared by the native API's handlers (native_*.cpp): the job's
// tenancy from the path, answers for mutations, body members of jobs.
#ifndef JOBSTATE_HTTP_NATIVE_COMMON_HPP
#define JOBSTATE_HTTP_NATIVE_COMMON_HPP

#include <jobstate/json_reader.hpp>
#include <jobstate/requests.hpp>

#include "http/request_parts.hpp"
#include "http/responses.hpp"
#include "http/router.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/json/object.hpp>
#include <boost/system/error_code.hpp>

#include <optional>
#include <string>

namespace jobstate::http::native {

/// The job named by /projects/{params[0]}/jobs/{params[1]}, or nothing after
/// answering 404 (a malformed id names no job).
std::optional<job_ref> job_in_path(const exchange_ptr& ex, const call& c);

/// Answers 400 invalid_argument with `e`'s detail (what was wrong with the
/// request, without the error category's words around it).
void reply_bad_request(const exchange_ptr& ex, const jobstate::error& e);

/// Answers a failed request of the native API.
void reply_error(const exchange_ptr& ex, const jobstate::error& e);

/// Answers a mutation's completion: 200 and the job, or the error. `what`
/// names the operation ("start", ...) in a conflict's message.
void reply_mutation(const exchange_ptr& ex, std::string_view what,
                    boost::system::error_code ec, const job& j,
                    status ok = status::ok);

/// A completion handler for an async mutation, bound to the exchange's
/// strand, answering with reply_mutation.
inline auto mutation_answer(const exchange_ptr& ex, std::string what,
                            status ok = status::ok) {
  return boost::asio::bind_executor(
      ex->executor(),
      [ex, what = std::move(what), ok](boost::system::error_code ec, job j) {
        reply_mutation(ex, what, ec, j, ok);
      });
}

/// Reads the request's JSON body, an object, strictly: `read_members`
/// (called with a wire::object_reader) reads the members it knows, and any
/// other member is refused. Returns false after answering 400 (invalid_json
/// when the body is not JSON, invalid_argument naming the member and what
/// was expected otherwise; too_large as the engine would).
template <class ReadMembers>
bool read_body(const exchange_ptr& ex, ReadMembers read_members) {
  auto body = json_body(ex->req());
  if (!body) {
    ex->reply(error_response(surface::native, status::bad_request,
                             "invalid_json", body.error().detail()));
    return false;
  }
  wire::reader r;
  const wire::path where("body");
  const boost::json::value v(std::move(*body));
  wire::object_reader o(r, v, where, wire::object_reader::mode::strict);
  read_members(o);
  o.finish();
  if (!r.failed()) return true;
  const jobstate::error failure = r.take_failure();
  if (failure.code() == errc::invalid_argument) {
    reply_bad_request(ex, failure);
  } else {
    reply_error(ex, failure);
  }
  return false;
}

/// Reads list filters common to job lists and batch children: status,
/// kind, limit, cursor. Errors: invalid_argument naming the parameter.
result<void> read_list_filters(const call& c, list_query& q);

}  // namespace jobstate::http::native

#endif  // JOBSTATE_HTTP_NATIVE_COMMON_HPP
