#include "engine/expiry_timer.hpp"

#include <boost/asio/post.hpp>

#include <utility>

namespace jobstate::engine_detail {
namespace {

// Past the expiry by this much before a pass runs: the steady clock that
// times the wait and the clock that stamps the commit need not agree to
// the microsecond, and a pass that comes too early finds nothing to do.
constexpr auto slack = std::chrono::milliseconds(1);
// After a failed pass (a full disk, say), the next one waits this long
// rather than retrying at once.
constexpr auto retry_after_failure = std::chrono::seconds(1);
// The longest the timer waits before reading the index again: a steady
// timer's nanoseconds cannot hold a wait of centuries, and a clock moved
// meanwhile is caught up with.
constexpr auto longest_wait = std::chrono::hours(1);

}  // namespace

expiry_timer::expiry_timer(boost::asio::io_context& io,
                           std::function<timestamp()> clock,
                           find_next_fn find_next, expire_fn expire)
    : io_(io),
      clock_(std::move(clock)),
      find_next_(std::move(find_next)),
      expire_(std::move(expire)),
      timer_(io) {}

void expiry_timer::rescan() {
  boost::asio::post(io_, [this] { rescan_here(); });
}

void expiry_timer::consider(timestamp at) {
  if (at.time_since_epoch().count() <
      armed_micros_.load(std::memory_order_acquire)) {
    rescan();
  }
}

void expiry_timer::set_armed(std::optional<timestamp> at) {
  armed_for_ = at;
  armed_micros_.store(at ? at->time_since_epoch().count()
                         : std::numeric_limits<std::int64_t>::max(),
                      std::memory_order_release);
}

void expiry_timer::rescan_here() {
  if (closed_) return;
  if (expiring_) return;  // The pass rescans when it ends.
  // While the index is read, a limit set meanwhile may be missing from
  // what the read sees: as when the timer waits for none, consider() then
  // asks for another rescan.
  armed_micros_.store(std::numeric_limits<std::int64_t>::max(),
                      std::memory_order_release);
  auto next = find_next_();
  if (!next) {
    // Unreadable now (e.g. the map is being resized): try again later.
    set_armed(std::nullopt);
    timer_.expires_after(retry_after_failure);
    timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec && !closed_) rescan_here();
    });
    return;
  }
  if (!*next) {
    set_armed(std::nullopt);
    timer_.cancel();
    return;
  }
  if (last_pass_began_ && **next <= *last_pass_began_) {
    last_pass_began_.reset();
    set_armed(std::nullopt);
    timer_.expires_after(retry_after_failure);
    timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec && !closed_) rescan_here();
    });
    return;
  }
  last_pass_began_.reset();
  arm(**next);
}

void expiry_timer::arm(timestamp at) {
  const bool waiting_already = armed_for_ == at;
  set_armed(at);  // Also after a rescan's marker.
  if (waiting_already) return;
  const auto now = clock_();
  const auto wait = at > now ? at - now : timestamp::duration::zero();
  const bool far = wait > longest_wait;
  timer_.expires_after(far ? longest_wait : wait + slack);
  timer_.async_wait([this, far](boost::system::error_code ec) {
    if (ec || closed_) return;
    if (!far) return start_pass();
    set_armed(std::nullopt);  // So that the rescan arms again.
    rescan_here();
  });
}

void expiry_timer::start_pass() {
  expiring_ = true;
  set_armed(std::nullopt);
  last_pass_began_ = clock_();
  expire_([this](pass_outcome outcome) {
    boost::asio::post(io_, [this, outcome] { pass_ended(outcome); });
  });
}

void expiry_timer::pass_ended(pass_outcome outcome) {
  expiring_ = false;
  if (closed_) return;
  switch (outcome) {
    case pass_outcome::more:
      start_pass();
      return;
    case pass_outcome::failed:
      last_pass_began_.reset();
      timer_.expires_after(retry_after_failure);
      timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec && !closed_) rescan_here();
      });
      return;
    case pass_outcome::done:
      rescan_here();  // Sees last_pass_began_.
      return;
  }
}

void expiry_timer::close() {
  closed_ = true;
  timer_.cancel();
}

}  // namespace jobstate::engine_detail
