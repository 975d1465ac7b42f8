// Helpers for the tests of waits and the change feed: driving an io_context
// until something happened, guarding against hangs, capturing the outcome of
// asynchronous operations, and peeking at the engine's pending subscriptions.
#ifndef JOBSTATE_TESTS_SUPPORT_WAITS_HPP
#define JOBSTATE_TESTS_SUPPORT_WAITS_HPP

#include <jobstate/async.hpp>
#include <jobstate/engine.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace jobstate::test {

/// Longer than any healthy run needs, even under ThreadSanitizer: only a
/// guard that turns a hang into a failure. Never a timing requirement.
inline constexpr std::chrono::milliseconds hang_guard{std::chrono::seconds(20)};

/// Waits that must not complete on their own during a test use this.
inline constexpr std::chrono::milliseconds long_timeout{
    std::chrono::minutes(10)};

/// Internal state of `e`: the number of waits registered and pending.
std::size_t waits_pending(engine& e);
/// Internal state of `e`: true when no wait and no watch is pending.
bool subscriptions_idle(engine& e);

/// Polls `done` (every millisecond) until it holds or `limit` passes.
/// Returns whether it held.
bool eventually(const std::function<bool()>& done,
                std::chrono::milliseconds limit = hang_guard);

/// Runs `io` on the calling thread until `done` holds or `limit` passes,
/// keeping `io` from running out of work meanwhile (so these helpers never
/// depend on the operations under test tracking work). Restarts `io` first
/// when it was stopped. Returns whether `done` held.
bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds limit = hang_guard);

/// Runs `io.run()` on a new thread; the future is ready once run() returned.
std::future<void> run_in_background(boost::asio::io_context& io);

/// An io_context run by `threads` threads until this is destroyed. A work
/// guard keeps run() from returning meanwhile, so that tests of other
/// properties do not depend on the operations under test tracking work.
/// Declare it before the engine: the engine's shutdown completions then
/// still find it running.
class io_runner {
 public:
  explicit io_runner(int threads = 1);
  /// Releases the guard and joins the threads once run() returns (stopping
  /// the io_context, and failing the test, when that takes past hang_guard).
  ~io_runner();
  io_runner(const io_runner&) = delete;
  io_runner& operator=(const io_runner&) = delete;

  boost::asio::io_context io;

  /// True when the calling thread is one of those running `io`.
  bool on_runner_thread() const;

 private:
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
      guard_;
  std::vector<std::future<void>> done_;
  std::vector<std::thread> threads_;
};

/// True when `f` becomes ready within `limit`.
template <class T>
bool ready_within(const std::future<T>& f,
                  std::chrono::milliseconds limit = hang_guard) {
  return f.wait_for(limit) == std::future_status::ready;
}

/// True when `f` is ready now.
template <class T>
bool is_ready(const std::future<T>& f) {
  return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

/// True when `ec` carries the jobstate code `e`.
inline bool carries(const boost::system::error_code& ec, errc e) {
  return std::error_code(ec) == make_error_code(e);
}

/// What one asynchronous operation delivered, recorded by its handler. Safe
/// to share between the handler's thread and the test's.
template <class T>
class outcome {
 public:
  /// Records a completion (called by the handler).
  void record(boost::system::error_code ec, T value) {
    std::lock_guard lock(mutex_);
    ++calls_;
    if (calls_ == 1) {
      ec_ = ec;
      value_ = std::move(value);
      thread_ = std::this_thread::get_id();
    }
  }
  int calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  bool done() const { return calls() > 0; }
  /// REQUIRES: done().
  boost::system::error_code ec() const {
    std::lock_guard lock(mutex_);
    return ec_;
  }
  /// REQUIRES: done().
  T value() const {
    std::lock_guard lock(mutex_);
    return *value_;
  }
  std::thread::id thread() const {
    std::lock_guard lock(mutex_);
    return thread_;
  }

 private:
  mutable std::mutex mutex_;
  int calls_ = 0;                 // GUARDED_BY(mutex_)
  boost::system::error_code ec_;  // GUARDED_BY(mutex_)
  std::optional<T> value_;        // GUARDED_BY(mutex_)
  std::thread::id thread_;        // GUARDED_BY(mutex_)
};

using wait_outcome = outcome<wait_result>;
using watch_outcome = outcome<change_batch>;

/// A completion handler that records into `o` (its associated executor is
/// none: it runs on the engine's executor, engine::get_executor()).
template <class T>
auto recorder(std::shared_ptr<outcome<T>> o) {
  return [o = std::move(o)](boost::system::error_code ec, T value) {
    o->record(ec, std::move(value));
  };
}

/// The ids and sequences of `changes`, for readable comparisons.
std::vector<std::uint64_t> sequences_of(const std::vector<change>& changes);

/// A readable one-line description of a change.
std::string describe(const change& c);

}  // namespace jobstate::test

#endif  // JOBSTATE_TESTS_SUPPORT_WAITS_HPP
