// What the C API and the Python binding share to drive an engine from
// foreign code:
//
//  - engine_guard: an engine that can be closed while other threads use it.
//    Calls in progress finish first (blocked waits are woken with
//    engine_closed); calls that start after close fail with engine_closed.
//
//  - async_op<T>: one pending asynchronous wait or watch, completed exactly
//    once through a virtual on_complete(), and cancellable from any thread.
//
// Where it completes: on the engine's executor (engine::get_executor(), the
// engine's own handler thread for the C API and Python), never on the
// engine thread that committed, so on_complete() may block (take the GIL,
// call the engine's blocking functions) without delaying any commit.
//
// Cancelling safely. An op hands the engine a handler whose cancellation
// slot belongs to the op's asio::cancellation_signal. The engine clears that
// slot just before it calls the handler (pending_handler::complete() in
// lib/engine/completion.hpp), while cancel() emits the signal from the
// caller's thread. A cancellation_signal must not be emitted while its slot
// is being cleared, so the two are serialized with the op's own small mutex:
//  - the handler is bound (asio::bind_executor) to a gate_executor, which
//    posts the engine's completion (slot.clear() and the handler) to the
//    engine's executor and runs it there while holding the op's mutex; the
//    handler only stores the outcome there;
//  - cancel() emits while holding the same mutex;
//  - on_complete() runs after the mutex is released, so it may call anything,
//    including cancel() on itself, and may block (e.g. on Python's GIL)
//    without ever holding up a canceller.
// A mutex rather than a strand: a strand needs an executor that outlives
// the engine; the mutex is held only for a few instructions, and lock order is
// always op mutex → engine registry mutex (the engine never calls a handler
// while holding its own locks).
//
// Emitting reaches into the engine (the slot's handler removes the waiter
// from the engine's registry and posts its completion), so cancel() does it
// only inside engine_guard::try_call: never on a closed or closing engine,
// whose shutdown completes every pending op anyway.
//
// Header-only and built on the public API (and lib/support's header-only
// mutex) only: the Python extension compiles it too.
#ifndef JOBSTATE_CAPI_ASYNC_OP_HPP
#define JOBSTATE_CAPI_ASYNC_OP_HPP

#include <jobstate/async.hpp>
#include <jobstate/engine.hpp>

#include "support/mutex.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/execution/blocking.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

namespace jobstate::capi {

/// An engine that may be closed while other threads are using it.
/// Thread-safe.
class engine_guard {
 public:
  explicit engine_guard(std::unique_ptr<engine> e) : engine_(std::move(e)) {}
  engine_guard(const engine_guard&) = delete;
  engine_guard& operator=(const engine_guard&) = delete;
  ~engine_guard() { close(); }

  /// Runs fn(engine&) unless the engine is closing; returns fn's result<T>,
  /// or engine_closed. close() waits for fn to return.
  template <class F>
  auto call(F&& fn) -> std::invoke_result_t<F, engine&> {
    using R = std::invoke_result_t<F, engine&>;
    engine* e = enter();
    if (!e) return R(error(errc::engine_closed, "the engine is closed"));
    leave_on_exit leave{this};
    return std::forward<F>(fn)(*e);
  }

  /// Runs fn(engine&) and returns true, or returns false when the engine is
  /// closing.
  template <class F>
  bool try_call(F&& fn) {
    engine* e = enter();
    if (!e) return false;
    leave_on_exit leave{this};
    std::forward<F>(fn)(*e);
    return true;
  }

  /// Closes the engine: later calls fail with engine_closed, calls in
  /// progress finish, then the engine is destroyed, which completes pending
  /// waits (operation_aborted). Idempotent; a second caller returns once the
  /// first has finished. REQUIRES: not called from inside call().
  void close() {
    std::unique_ptr<engine> doomed;
    {
      support::mutex_lock lock(mutex_);
      if (closing_) {
        while (!closed_) idle_.wait(mutex_);
        return;
      }
      closing_ = true;
      while (active_ != 0) idle_.wait(mutex_);
      doomed = std::move(engine_);
    }
    doomed.reset();
    support::mutex_lock lock(mutex_);
    closed_ = true;
    idle_.notify_all();
  }

  bool closing() const {
    support::mutex_lock lock(mutex_);
    return closing_;
  }

 private:
  struct leave_on_exit {
    engine_guard* self;
    ~leave_on_exit() { self->leave(); }
  };

  engine* enter() {
    support::mutex_lock lock(mutex_);
    if (closing_) return nullptr;
    ++active_;
    return engine_.get();
  }
  void leave() {
    support::mutex_lock lock(mutex_);
    if (--active_ == 0 && closing_) idle_.notify_all();
  }

  mutable support::mutex mutex_;
  support::condition_variable idle_;
  // The pointer is guarded; the engine it points to is thread-safe.
  std::unique_ptr<engine> engine_ JOBSTATE_GUARDED_BY(mutex_);
  std::size_t active_ JOBSTATE_GUARDED_BY(mutex_) = 0;
  bool closing_ JOBSTATE_GUARDED_BY(mutex_) = false;
  bool closed_ JOBSTATE_GUARDED_BY(mutex_) = false;
};

template <class T>
class async_op;

/// Posts a function to the engine's executor, where it runs while holding
/// its op's mutex; then hands the stored outcome to on_complete() (see the
/// top of this file).
template <class T>
class gate_executor {
 public:
  gate_executor(std::shared_ptr<async_op<T>> op,
                boost::asio::any_io_executor target) noexcept
      : op_(std::move(op)), target_(std::move(target)) {}

  template <class F>
  void execute(F&& f) const {
    boost::asio::post(target_, [op = op_, f = std::forward<F>(f)]() mutable {
      {
        support::mutex_lock lock(op->mutex_);
        op->gated_ = true;
        f();
        op->gated_ = false;
      }
      op->flush();
    });
  }

  static constexpr boost::asio::execution::blocking_t::never_t query(
      boost::asio::execution::blocking_t) noexcept {
    return boost::asio::execution::blocking.never;
  }

  friend bool operator==(const gate_executor& a,
                         const gate_executor& b) noexcept {
    return a.op_ == b.op_ && a.target_ == b.target_;
  }
  friend bool operator!=(const gate_executor& a,
                         const gate_executor& b) noexcept {
    return !(a == b);
  }

 private:
  std::shared_ptr<async_op<T>> op_;
  boost::asio::any_io_executor target_;
};

/// One asynchronous wait (T = wait_result) or watch (T = change_batch).
/// Create it with std::make_shared, then pass handler(eng.get_executor()) to
/// async_wait or async_watch inside engine_guard::call, holding lock()
/// during initiation.
template <class T>
class async_op : public std::enable_shared_from_this<async_op<T>> {
 public:
  using signature = void(boost::system::error_code, T);

  explicit async_op(std::shared_ptr<engine_guard> guard) noexcept
      : guard_(std::move(guard)) {}
  virtual ~async_op() = default;
  async_op(const async_op&) = delete;
  async_op& operator=(const async_op&) = delete;

  /// The completion handler to pass to async_wait or async_watch: bound to
  /// this op's cancellation slot (asio::bind_cancellation_slot) and to its
  /// gate_executor (asio::bind_executor) onto `target`, the engine's
  /// executor. It keeps the op alive until it has run.
  auto handler(boost::asio::any_io_executor target) {
    auto self = this->shared_from_this();
    return boost::asio::bind_cancellation_slot(
        signal_.slot(),
        boost::asio::bind_executor(gate_executor<T>(self, std::move(target)),
                                   store_outcome{self}));
  }

  /// Hold while initiating, so that no cancel() can emit before the engine
  /// has connected the slot. (A lock handed to the caller: the analysis
  /// does not follow it, and nothing guarded is touched while it is held.)
  std::unique_lock<support::mutex> lock() { return std::unique_lock(mutex_); }

  /// Asks the engine to complete the op with operation_aborted. Thread-safe,
  /// any number of times, from anywhere (also from on_complete). No effect
  /// once the op has completed or its engine is closing (closing completes
  /// it). Returns at once: on_complete() runs later, on the engine's
  /// executor.
  void cancel() noexcept {
    cancel_requested_.store(true, std::memory_order_release);
    try {
      guard_->try_call([this](engine&) {
        support::mutex_lock lock(mutex_);
        signal_.emit(boost::asio::cancellation_type::terminal);
      });
    } catch (...) {  // Only std::bad_alloc could escape; nothing to undo.
    }
  }

  /// True once cancel() has been called.
  bool cancel_requested() const noexcept {
    return cancel_requested_.load(std::memory_order_acquire);
  }

 protected:
  /// The outcome, exactly once, on the engine's executor, with no lock held.
  virtual void on_complete(boost::system::error_code ec, T value) noexcept = 0;

 private:
  friend class gate_executor<T>;

  // The handler proper: hands the outcome to the op.
  struct store_outcome {
    std::shared_ptr<async_op> op;
    void operator()(boost::system::error_code ec, T value) {
      op->store(ec, std::move(value));
    }
  };

  // Reads gated_ without taking mutex_, which the analysis cannot follow:
  // inside the gate this thread holds mutex_ already (gate_executor runs
  // the handler under it); outside it, no gate runs for this op at all (it
  // completes once), so nothing writes gated_ meanwhile.
  void store(boost::system::error_code ec,
             T value) JOBSTATE_NO_THREAD_SAFETY_ANALYSIS {
    outcome_.emplace(ec, std::move(value));
    // Called through the gate as the engine does it (pending_handler), the
    // outcome waits for the mutex to be released; called any other way, it
    // is handed over at once.
    if (!gated_) flush();
  }

  void flush() {
    std::optional<std::pair<boost::system::error_code, T>> outcome;
    outcome.swap(outcome_);
    if (outcome) on_complete(outcome->first, std::move(outcome->second));
  }

  std::shared_ptr<engine_guard> guard_;
  support::mutex mutex_;
  boost::asio::cancellation_signal signal_;  // emitted/cleared under mutex_
  // True inside gate_executor::execute.
  bool gated_ JOBSTATE_GUARDED_BY(mutex_) = false;
  // Written by the handler inside the gate, read after it on the same thread.
  std::optional<std::pair<boost::system::error_code, T>> outcome_;
  std::atomic<bool> cancel_requested_{false};
};

}  // namespace jobstate::capi

#endif  // JOBSTATE_CAPI_ASYNC_OP_HPP
