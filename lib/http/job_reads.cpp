#include "http/job_reads.hpp"

#include <jobstate/async.hpp>
#include <jobstate/long_poll.hpp>

#include "http/request_parts.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/error.hpp>

namespace jobstate::http {

std::optional<job_id> path_job_id(std::string_view segment) {
  return job_id::parse(segment);
}

response job_not_found(surface api, std::string_view id_text) {
  return error_response(api, status::not_found, "not_found",
                        "no job \"" + std::string(id_text.substr(0, 64)) +
                            "\" in this account and project");
}

namespace {

// Sends the job as rendered, with the long-poll headers.
void send_job(const exchange_ptr& ex, const job_read& read,
              const long_poll_wait& wait, const job& j) {
  response res = read.render(j);
  if (wait.from_prefer) {
    res.set("Preference-Applied", preference_applied(wait));
  }
  add_retry_after(res, j.status);
  ex->reply(std::move(res));
}

}  // namespace

void answer_job_read(server_context& ctx, const exchange_ptr& ex, const call& c,
                     job_read read) {
  const auto prefer = header_values(ex->req(), "prefer");
  auto wait = parse_long_poll(query_param(c.target, "wait"), prefer,
                              ctx.opts.long_poll);
  if (!wait) {
    ex->reply(error_response(read.api, status::bad_request, "invalid_wait",
                             wait.error().detail()));
    return;
  }
  auto current = ctx.engine.get(read.ref, read.reading);
  if (!current) {
    if (current.code() == errc::not_found) {
      ex->reply(job_not_found(read.api, read.ref.id.to_string()));
    } else {
      ex->reply(engine_error_response(read.api, current.error()));
    }
    return;
  }
  if (wait->wait.count() == 0 || read.until.satisfied_by(*current) ||
      ex->draining()) {
    send_job(ex, read, *wait, *current);
    return;
  }
  ctx.counters.long_polls_pending.fetch_add(1, std::memory_order_relaxed);
  const job_ref ref = read.ref;
  const wait_condition until = read.until;
  const auto timeout = wait->wait;
  auto on_done = [&ctx, ex, read = std::move(read), w = *wait](
                     boost::system::error_code ec, wait_result r) {
    ctx.counters.long_polls_pending.fetch_sub(1, std::memory_order_relaxed);
    if (ec == boost::asio::error::operation_aborted) {
      // The server is draining: answer with the job as it is now.
      auto now = ctx.engine.get(read.ref, read.reading);
      if (now) {
        send_job(ex, read, w, *now);
      } else {
        ex->reply(engine_error_response(read.api, now.error()));
      }
      return;
    }
    if (ec) {
      if (std::error_code(ec) == errc::not_found) {
        ex->reply(job_not_found(read.api, read.ref.id.to_string()));
      } else {
        ex->reply(engine_error_response(read.api, jobstate::error(ec)));
      }
      return;
    }
    send_job(ex, read, w, r.job);
  };
  async_wait(ctx.engine, ref, until, timeout,
             boost::asio::bind_cancellation_slot(
                 ex->drain_slot(), boost::asio::bind_executor(
                                       ex->executor(), std::move(on_done))));
}

}  // namespace jobstate::http
