#include "http/native_common.hpp"

#include <jobstate/json.hpp>

#include "http/job_reads.hpp"

namespace jobstate::http::native {

namespace json = boost::json;

std::optional<job_ref> job_in_path(const exchange_ptr& ex, const call& c) {
  auto id = path_job_id(c.params[1]);
  if (!id) {
    ex->reply(job_not_found(surface::native, c.params[1]));
    return std::nullopt;
  }
  return job_ref{c.account_id, c.params[0], *id};
}

void reply_bad_request(const exchange_ptr& ex, const jobstate::error& e) {
  ex->reply(error_response(surface::native, status::bad_request,
                           "invalid_argument", e.detail()));
}

void reply_error(const exchange_ptr& ex, const jobstate::error& e) {
  ex->reply(engine_error_response(surface::native, e));
}

void reply_mutation(const exchange_ptr& ex, std::string_view what,
                    boost::system::error_code ec, const job& j, status ok) {
  if (!ec) {
    auto res = job_response(ok, j);
    add_retry_after(res, j.status);
    ex->reply(std::move(res));
    return;
  }
  const std::error_code code(ec);
  if (code == errc::illegal_transition || code == errc::conflict ||
      code == errc::lease_lost) {
    // The job argument is the job as it now is: say why.
    std::string why = "cannot " + std::string(what) + " job " +
                      j.id.to_string() + ": it is " +
                      std::string(to_string(j.status)) + " at revision " +
                      std::to_string(j.revision);
    if (code == errc::lease_lost) {
      why += j.lease ? ", under the lease of epoch " +
                           std::to_string(j.lease->epoch) + " (worker " +
                           j.lease->worker_id + ")"
                     : ", never claimed";
    }
    ex->reply(error_response(surface::native, status::conflict, code_name(code),
                             why));
    return;
  }
  reply_error(ex, jobstate::error(code));
}

result<void> read_list_filters(const call& c, list_query& q) {
  if (auto s = query_param(c.target, "status")) {
    auto st = parse_job_status(*s);
    if (!st) {
      return error(errc::invalid_argument,
                   "query parameter \"status\": \"" +
                       std::string(s->substr(0, 64)) +
                       "\" is not a job status (pending, running, succeeded, "
                       "partially_succeeded, failed, cancelled)");
    }
    q.status = *st;
  }
  if (auto k = query_param(c.target, "kind")) q.kind = std::string(*k);
  auto limit = query_uint(c.target, "limit");
  if (!limit) return limit.error();
  if (*limit) q.limit = static_cast<std::size_t>(**limit);
  if (auto cursor = query_param(c.target, "cursor")) {
    q.cursor = std::string(*cursor);
  }
  return {};
}

}  // namespace jobstate::http::native
