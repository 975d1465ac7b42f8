// The native API's change feed: a long-poll (`after` + `wait`) and a
// Server-Sent Events stream that resumes from `Last-Event-ID`. Both show
// only the caller's account.
#include <jobstate/async.hpp>
#include <jobstate/json.hpp>
#include <jobstate/long_poll.hpp>

#include "http/handlers.hpp"
#include "http/native_common.hpp"
#include "http/request_parts.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/error.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>
#include <memory>

namespace jobstate::http::native {

namespace json = boost::json;

namespace {

// The shared shape of a change, less the account: the caller's own.
json::value change_json(const change& ch) {
  json::value v = to_json(ch);
  v.as_object().erase("account_id");
  return v;
}

void bad_request(const exchange_ptr& ex, std::string_view code,
                 const jobstate::error& e) {
  ex->reply(
      error_response(surface::native, status::bad_request, code, e.detail()));
}

// One Server-Sent Events stream: watch, write what came, watch again.
class change_stream_writer
    : public std::enable_shared_from_this<change_stream_writer> {
 public:
  change_stream_writer(server_context& ctx, exchange_ptr ex,
                       std::string account, std::uint64_t after)
      : ctx_(ctx),
        ex_(std::move(ex)),
        account_(std::move(account)),
        after_(after) {
    ctx_.counters.sse_streams_open.fetch_add(1, std::memory_order_relaxed);
  }
  ~change_stream_writer() {
    ctx_.counters.sse_streams_open.fetch_sub(1, std::memory_order_relaxed);
  }

  void start() {
    std::string head =
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: text/event-stream\r\n"
        "Cache-Control: no-cache\r\n"
        "Connection: close\r\n"
        "\r\n"
        "retry: 1000\n\n";
    write(std::move(head));
  }

 private:
  void watch() {
    if (ex_->draining()) return ex_->end_stream();
    watch_request w;
    w.after = after_;
    w.limit = 1000;
    w.account_id = account_;
    w.bookmark_after = ctx_.opts.sse_heartbeat;
    async_watch(ctx_.engine, w,
                boost::asio::bind_cancellation_slot(
                    ex_->drain_slot(),
                    boost::asio::bind_executor(
                        ex_->executor(),
                        [self = shared_from_this()](
                            boost::system::error_code ec, change_batch b) {
                          self->on_changes(ec, std::move(b));
                        })));
  }

  void on_changes(boost::system::error_code ec, change_batch batch) {
    if (ec) {
      if (std::error_code(ec) == errc::expired) {
        // The position fell out of the feed's retention: say so, and end.
        json::object err{
            {"code", "expired"},
            {"message", jobstate::error(std::error_code(ec)).message()}};
        write("event: error\ndata: " +
                  json::serialize(json::object{{"error", std::move(err)}}) +
                  "\n\n",
              /*then_close=*/true);
        return;
      }
      return ex_->end_stream();  // drained, or the engine is closing
    }
    std::string text;
    for (const auto& ch : batch.changes) {
      text += "id: " + std::to_string(ch.sequence) +
              "\nevent: change\ndata: " + json::serialize(change_json(ch)) +
              "\n\n";
    }
    if (batch.changes.empty() ||
        batch.last_sequence != batch.changes.back().sequence) {
      // A keep-alive comment, and the position past changes the account
      // does not see, so that a resumed stream skips them.
      text +=
          ": keep-alive\nid: " + std::to_string(batch.last_sequence) + "\n\n";
    }
    after_ = batch.last_sequence;
    write(std::move(text));
  }

  void write(std::string bytes, bool then_close = false) {
    ex_->write_raw(std::move(bytes), [self = shared_from_this(), then_close](
                                         boost::system::error_code ec) {
      if (ec || then_close) return self->ex_->end_stream();
      self->watch();
    });
  }

  server_context& ctx_;
  exchange_ptr ex_;
  std::string account_;
  std::uint64_t after_;
};

// `after`, from the Last-Event-ID header when given (a reconnecting
// EventSource sends it), else from the query.
result<std::uint64_t> stream_position(const exchange_ptr& ex, const call& c) {
  if (auto it = ex->req().find("last-event-id"); it != ex->req().end()) {
    const std::string_view text(it->value().data(), it->value().size());
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) {
      return error(errc::invalid_argument,
                   "Last-Event-ID must be a sequence number this stream sent");
    }
    return v;
  }
  auto after = query_uint(c.target, "after");
  if (!after) return after.error();
  return after->value_or(0);
}

}  // namespace

void changes(server_context& ctx, const exchange_ptr& ex, call& c) {
  auto after = query_uint(c.target, "after");
  if (!after) return bad_request(ex, "invalid_argument", after.error());
  auto limit = query_uint(c.target, "limit");
  if (!limit) return bad_request(ex, "invalid_argument", limit.error());
  if (*limit && (**limit == 0 || **limit > 10'000)) {
    return bad_request(ex, "invalid_argument",
                       error(errc::invalid_argument,
                             "query parameter \"limit\" must be 1 to 10000"));
  }
  const auto prefer = header_values(ex->req(), "prefer");
  auto wait = parse_long_poll(query_param(c.target, "wait"), prefer,
                              ctx.opts.long_poll);
  if (!wait) return bad_request(ex, "invalid_wait", wait.error());
  watch_request w;
  w.after = after->value_or(0);
  w.limit = static_cast<std::size_t>(limit->value_or(1000));
  w.account_id = c.account_id;
  w.bookmark_after = ex->draining() ? std::chrono::milliseconds(0) : wait->wait;
  ctx.counters.long_polls_pending.fetch_add(1, std::memory_order_relaxed);
  async_watch(
      ctx.engine, w,
      boost::asio::bind_cancellation_slot(
          ex->drain_slot(),
          boost::asio::bind_executor(
              ex->executor(),
              [&ctx, ex, w = *wait, after = w.after](
                  boost::system::error_code ec, change_batch batch) {
                ctx.counters.long_polls_pending.fetch_sub(
                    1, std::memory_order_relaxed);
                if (ec == boost::asio::error::operation_aborted) {
                  // Drained while waiting: nothing new, same position.
                  batch.last_sequence = after;
                } else if (ec) {
                  return reply_error(ex, jobstate::error(std::error_code(ec)));
                }
                json::array list;
                for (const auto& ch : batch.changes)
                  list.push_back(change_json(ch));
                auto res = json_response(
                    status::ok,
                    json::object{{"changes", std::move(list)},
                                 {"last_sequence", batch.last_sequence}});
                if (w.from_prefer) {
                  res.set("Preference-Applied", preference_applied(w));
                }
                ex->reply(std::move(res));
              })));
}

void change_stream(server_context& ctx, const exchange_ptr& ex, call& c) {
  auto after = stream_position(ex, c);
  if (!after) return bad_request(ex, "invalid_argument", after.error());
  auto last = ctx.engine.last_sequence();
  if (!last) return reply_error(ex, last.error());
  if (*after > *last) {
    return bad_request(
        ex, "invalid_argument",
        error(errc::invalid_argument, "position " + std::to_string(*after) +
                                          " is past the latest change (" +
                                          std::to_string(*last) + ")"));
  }
  std::make_shared<change_stream_writer>(ctx, ex, c.account_id, *after)
      ->start();
}

}  // namespace jobstate::http::native
