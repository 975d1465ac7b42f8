// Ends the jobs that ran out of time (a lapsed lease, a passed run_timeout
// or pending_ttl), on the engine's io thread: one timer, armed for the
// soonest lease expiry or deadline in the database (idx_lease_expiry,
// idx_deadlines), re-armed after each pass and whenever a commit (of this
// process or another) may have added a sooner one. No poll loop and no
// timer per job.
#ifndef JOBSTATE_ENGINE_EXPIRY_TIMER_HPP
#define JOBSTATE_ENGINE_EXPIRY_TIMER_HPP

#include <jobstate/job.hpp>
#include <jobstate/result.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <functional>
#include <limits>
#include <optional>

namespace jobstate::engine_detail {

class expiry_timer {
 public:
  /// How an expiry pass ended.
  enum class pass_outcome { done, more, failed };
  /// Reads the soonest lease expiry or deadline in the database, if any.
  using find_next_fn = std::function<result<std::optional<timestamp>>()>;
  /// Starts an expiry pass; it calls its argument, from any thread, when
  /// the pass is durable (or failed).
  using expire_fn = std::function<void(std::function<void(pass_outcome)>)>;

  expiry_timer(boost::asio::io_context& io, std::function<timestamp()> clock,
               find_next_fn find_next, expire_fn expire);

  /// Reads the soonest expiry again and re-arms. Any thread.
  void rescan();
  /// A lease expiring, or a deadline passing, at `at` was just set:
  /// rescans only when it comes before the one the timer waits for (a
  /// claim's lease usually expires after the leases taken before it: no
  /// read, no hop). Any thread.
  void consider(timestamp at);
  /// As rescan, on the io thread.
  void rescan_here();
  /// Cancels the timer; nothing runs after. On the io thread.
  void close();

 private:
  void arm(timestamp at);
  void set_armed(std::optional<timestamp> at);
  void start_pass();
  void pass_ended(pass_outcome outcome);

  boost::asio::io_context& io_;
  const std::function<timestamp()> clock_;
  const find_next_fn find_next_;
  const expire_fn expire_;
  // The rest is touched on the io thread only.
  boost::asio::steady_timer timer_;
  std::optional<timestamp> armed_for_;
  // armed_for_ in microseconds, for consider() on other threads; the
  // largest value when the timer waits for none.
  std::atomic<std::int64_t> armed_micros_{
      std::numeric_limits<std::int64_t>::max()};
  // When the pass that ended last began: an expiry at or before it that is
  // still indexed after the pass is an entry the pass could not act on (a
  // damaged record; jobstate-check reports it), retried slowly, not at once.
  std::optional<timestamp> last_pass_began_;
  bool expiring_ = false;
  bool closed_ = false;
};

}  // namespace jobstate::engine_detail

#endif  // JOBSTATE_ENGINE_EXPIRY_TIMER_HPP
