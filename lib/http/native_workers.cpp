// The native API's worker operations (docs/workers.md): claim the next job
// (long-polling for one with `?wait=N` or `Prefer: wait=N`) and renew a
// lease with a heartbeat. The worker's other writes (progress, complete,
// fail, cancel) are native_jobs.cpp's, fenced by their "lease_epoch".
#include <jobstate/async.hpp>
#include <jobstate/json.hpp>
#include <jobstate/json_reader.hpp>
#include <jobstate/long_poll.hpp>

#include "http/handlers.hpp"
#include "http/native_common.hpp"
#include "http/request_parts.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>

namespace jobstate::http::native {

void claim(server_context& ctx, const exchange_ptr& ex, call& c) {
  claim_request r;
  r.account_id = c.account_id;
  r.project_id = c.params[0];
  const auto prefer = header_values(ex->req(), "prefer");
  auto wait = parse_long_poll(query_param(c.target, "wait"), prefer,
                              ctx.opts.long_poll);
  if (!wait) {
    ex->reply(error_response(surface::native, status::bad_request,
                             "invalid_wait", wait.error().detail()));
    return;
  }
  if (!read_body(ex, [&](wire::object_reader& o) {
        wire::read_claim_members(o, r);
      })) {
    return;
  }
  // The wait is the query's or Prefer's (clamped to the server's longest),
  // never the body's: one way to ask for it, as a job read does.
  if (r.wait.count() != 0) {
    return reply_bad_request(
        ex, error(errc::invalid_argument,
                  "body.wait_ms: ask for a wait with ?wait=N or Prefer: "
                  "wait=N"));
  }
  r.wait = ex->draining() ? std::chrono::milliseconds::zero() : wait->wait;
  auto on_done = [ex, w = *wait](boost::system::error_code ec,
                                 std::optional<job> claimed) {
    if (ec == boost::asio::error::operation_aborted) {
      ec = {};  // The server is draining: nothing was claimed.
    }
    if (ec) return reply_error(ex, jobstate::error(ec));
    response res = claimed ? job_response(status::ok, *claimed)
                           : response(status::no_content, 11);
    if (claimed) add_retry_after(res, claimed->status);
    if (w.from_prefer) res.set("Preference-Applied", preference_applied(w));
    res.prepare_payload();
    ex->reply(std::move(res));
  };
  if (auto v = ctx.engine.check(r); !v) return reply_error(ex, v.error());
  async_claim(ctx.engine, std::move(r),
              boost::asio::bind_cancellation_slot(
                  ex->drain_slot(), boost::asio::bind_executor(
                                        ex->executor(), std::move(on_done))));
}

void heartbeat(server_context& ctx, const exchange_ptr& ex, call& c) {
  auto ref = job_in_path(ex, c);
  if (!ref) return;
  mutation_options opts;
  std::optional<jobstate::progress> p;
  if (!read_body(ex, [&](wire::object_reader& o) {
        o.optional("progress", p);
        wire::read_mutation_members(o, "details", opts);
        o.optional("with_history", opts.with_history);
        if (!opts.lease_epoch && !o.failures().failed()) {
          o.failures().fail(o.member_path("lease_epoch"),
                            "required: the epoch of the job's lease, as the "
                            "claim answered it");
        }
      })) {
    return;
  }
  if (p) {
    if (auto v = ctx.engine.check(*p); !v) return reply_error(ex, v.error());
  }
  async_heartbeat(ctx.engine, std::move(*ref), std::move(opts), std::move(p),
                  boost::asio::bind_executor(
                      ex->executor(),
                      [ex](boost::system::error_code ec, heartbeat_result r) {
                        // A lost lease names the job's state, as the other
                        // writes do.
                        if (ec)
                          return reply_mutation(ex, "heartbeat", ec, r.job);
                        auto res = json_response(status::ok, to_json(r));
                        add_retry_after(res, r.job.status);
                        ex->reply(std::move(res));
                      }));
}

}  // namespace jobstate::http::native
