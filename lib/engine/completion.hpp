// Delivering completions to Asio handlers, the one way every asynchronous
// operation of the engine does it.
#ifndef JOBSTATE_ENGINE_COMPLETION_HPP
#define JOBSTATE_ENGINE_COMPLETION_HPP

#include <jobstate/result.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/blocking.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/strand.hpp>
#include <boost/system/error_code.hpp>

#include <atomic>
#include <memory>
#include <thread>
#include <type_traits>
#include <utility>

namespace jobstate::engine_detail {

inline boost::system::error_code to_error_code(const error& e) {
  return boost::system::error_code(e.code());
}

/// Where a handler without an associated executor of its own runs: the
/// engine's executor (engine::get_executor()), never the engine thread that
/// completes the operation, so that no user code runs on the committer.
/// Preferring blocking.never makes every delivery a post, even from a thread
/// that runs that executor (a blocking call made inside a handler, which
/// may commit other operations): a handler never runs inside another call.
inline boost::asio::any_io_executor handler_fallback(
    const boost::asio::any_io_executor& engine_executor) {
  return boost::asio::prefer(engine_executor,
                             boost::asio::execution::blocking.never);
}

/// Whether a handler whose associated executor is `ex` may be handed to it
/// from the calling thread without running inside the caller's own frame:
/// true when `ex` always queues (blocking.never, as handler_fallback
/// makes the engine's executor), or when it is an io_context's executor, or
/// a strand of one, that this thread is not running. Boost 1.81's
/// any_completion_executor drops blocking.never, so a posted handler could
/// otherwise run inline where the caller runs that io_context; executors of
/// other kinds answer false, and their handlers go through the engine's
/// notifier thread.
inline bool queues_from_this_thread(
    const boost::asio::io_context::executor_type& ex) {
  return boost::asio::query(ex, boost::asio::execution::blocking) ==
             boost::asio::execution::blocking.never ||
         !ex.running_in_this_thread();
}
inline bool queues_from_this_thread(
    const boost::asio::strand<boost::asio::io_context::executor_type>& ex) {
  return !ex.running_in_this_thread() &&
         queues_from_this_thread(ex.get_inner_executor());
}
/// For the polymorphic wrappers (any_io_executor, any_completion_executor):
/// judged by the executor they hold. Others (strands of other executors,
/// thread pools, executors of a host's own) answer false.
template <class Polymorphic>
bool queues_from_this_thread(const Polymorphic& ex) requires requires {
  ex.template target<boost::asio::any_io_executor>();
}
{
  using io_executor = boost::asio::io_context::executor_type;
  if (const auto* io = ex.template target<io_executor>()) {
    return queues_from_this_thread(*io);
  }
  if (const auto* strand =
          ex.template target<boost::asio::strand<io_executor>>()) {
    return queues_from_this_thread(*strand);
  }
  // Converting one polymorphic executor into another adopts the executor
  // inside, so no wrapper wraps a wrapper here.
  return false;
}

/// A handler waiting for its answer, with its associated executor's work
/// tracked, so that the caller's io_context::run() does not return while the
/// operation is pending. Its associated executor defaults to `fallback`
/// (see handler_fallback).
///
/// The work travels with the handler to the handler's executor and is
/// released there, just before the call, and the call waits until the
/// engine thread that handed it over is done with the executor (an
/// io_context's post signals its threads after queuing the handler): once
/// the handler has run, no engine thread touches that executor again, so the
/// caller may destroy its io_context at once while the engine lives on.
template <class Handler>
class pending_handler {
 public:
  pending_handler(Handler handler, const boost::asio::any_io_executor& fallback)
      : fallback_(fallback),
        work_(track(handler, fallback_)),
        handler_(std::move(handler)) {}

  pending_handler(pending_handler&&) noexcept = default;
  // Boost 1.81's any_completion_handler move assignment recurses without
  // end: a pending handler is only ever move-constructed.
  pending_handler& operator=(pending_handler&&) = delete;

  auto get_cancellation_slot() const {
    return handler_.get_cancellation_slot();
  }

  /// Whether complete() may run on this thread without the handler running
  /// inside the caller's frame (see queues_from_this_thread).
  bool completes_elsewhere_from_this_thread() const {
    return queues_from_this_thread(
        boost::asio::get_associated_executor(handler_, fallback_));
  }

  /// Runs the handler with `args` on its associated executor. The
  /// cancellation slot is cleared there, just before the call, so it is
  /// touched only where the caller emits. The delivery is allocated with
  /// the handler's associated allocator, as Asio's own operations do.
  template <class... Args>
  void complete(Args... args) && {
    auto handed_over = std::make_shared<handoff>();
    {
      // Scoped: the executor copy goes before the hand-off is marked done.
      auto ex = boost::asio::get_associated_executor(handler_, fallback_);
      auto alloc = boost::asio::get_associated_allocator(handler_);
      boost::asio::dispatch(ex,
                            boost::asio::bind_allocator(
                                alloc, [handed_over, work = std::move(work_),
                                        handler = std::move(handler_),
                                        ... args = std::move(args)]() mutable {
                                  handed_over->await();
                                  { auto released = std::move(work); }
                                  auto slot = handler.get_cancellation_slot();
                                  if (slot.is_connected()) slot.clear();
                                  std::move(handler)(std::move(args)...);
                                }));
    }
    handed_over->done();
  }

  auto get_allocator() const noexcept {
    return boost::asio::get_associated_allocator(handler_);
  }

  /// Completes with `r` as (error_code, T): a default T accompanies an
  /// error.
  template <class T>
  void complete_result(result<T> r) && {
    if (r) {
      std::move(*this).complete(boost::system::error_code{}, std::move(*r));
    } else {
      std::move(*this).complete(to_error_code(r.error()), T{});
    }
  }

 private:
  // Marks the end of the engine thread's dispatch, for the handler to wait
  // on when it runs elsewhere (at once, inline on the same thread).
  class handoff {
   public:
    void done() noexcept {
      finished_.store(true, std::memory_order_release);
      finished_.notify_one();
    }
    void await() const noexcept {
      if (std::this_thread::get_id() == by_) return;
      // The engine thread is a few instructions from done(): spin briefly
      // and yield before sleeping, since a sleep and its wake-up would cost
      // more than the whole delivery (a futex round trip is tens of µs on a
      // busy virtual machine).
      for (int spin = 0; spin < 64; ++spin) {
        if (finished_.load(std::memory_order_acquire)) return;
        if (spin >= 48) std::this_thread::yield();
      }
      finished_.wait(false, std::memory_order_acquire);
    }

   private:
    std::atomic<bool> finished_{false};
    const std::thread::id by_ = std::this_thread::get_id();
  };

  static auto track(const Handler& handler,
                    const boost::asio::any_io_executor& fallback) {
    return boost::asio::prefer(
        boost::asio::get_associated_executor(handler, fallback),
        boost::asio::execution::outstanding_work.tracked);
  }

  boost::asio::any_io_executor fallback_;
  decltype(track(std::declval<const Handler&>(),
                 std::declval<const boost::asio::any_io_executor&>())) work_;
  Handler handler_;
};

/// Completes later, from `io`'s thread, with the completion's arguments as
/// they are.
template <class Handler, class... Args>
void complete_later_with(boost::asio::io_context& io,
                         pending_handler<Handler> pending, Args... args) {
  auto alloc = pending.get_allocator();
  boost::asio::post(io, boost::asio::bind_allocator(
                            alloc, [pending = std::move(pending),
                                    ... args = std::move(args)]() mutable {
                              std::move(pending).complete(std::move(args)...);
                            }));
}

/// Completes later, from `io`'s thread: for answers known inside an
/// initiating function, which must never call the handler itself, and for
/// answers decided on a thread that must not wait for the hand-off. `r` as
/// (error_code, T), as complete_result does.
template <class Handler, class T>
void complete_later(boost::asio::io_context& io,
                    pending_handler<Handler> pending, result<T> r) {
  if (r) {
    return complete_later_with(io, std::move(pending),
                               boost::system::error_code{}, std::move(*r));
  }
  complete_later_with(io, std::move(pending), to_error_code(r.error()), T{});
}

/// True on a thread inside a blocking call that commits the queue itself
/// (commit_queue::lead): its commit may complete other operations, whose
/// handlers must never run inside that call. See blocking_call_scope.
inline thread_local bool inside_blocking_call = false;

/// Marks the calling thread as inside_blocking_call for its lifetime.
class blocking_call_scope {
 public:
  blocking_call_scope() noexcept { inside_blocking_call = true; }
  ~blocking_call_scope() { inside_blocking_call = false; }
  blocking_call_scope(const blocking_call_scope&) = delete;
  blocking_call_scope& operator=(const blocking_call_scope&) = delete;
};

/// Completes `pending` from the thread that decided its answer, the one way
/// every committing thread does it: at once, unless this thread is inside a
/// blocking call where the handler could run inline; that one goes through
/// `io`'s thread (the engine's notifier). Reaching a handler from the
/// committing thread saves waking a second thread first.
template <class Handler, class... Args>
void hand_over(boost::asio::io_context& io, pending_handler<Handler> pending,
               Args... args) {
  if (inside_blocking_call && !pending.completes_elsewhere_from_this_thread()) {
    return complete_later_with(io, std::move(pending), std::move(args)...);
  }
  std::move(pending).complete(std::move(args)...);
}

/// hand_over with `r` as (error_code, T).
template <class Handler, class T>
void hand_over_result(boost::asio::io_context& io,
                      pending_handler<Handler> pending, result<T> r) {
  if (r) {
    return hand_over(io, std::move(pending), boost::system::error_code{},
                     std::move(*r));
  }
  hand_over(io, std::move(pending), to_error_code(r.error()), T{});
}

/// complete_later for a handler that was never pending.
template <class Handler, class T>
void deliver_later(boost::asio::io_context& io,
                   const boost::asio::any_io_executor& fallback,
                   Handler handler, result<T> r) {
  complete_later(io, pending_handler<Handler>(std::move(handler), fallback),
                 std::move(r));
}

}  // namespace jobstate::engine_detail

#endif  // JOBSTATE_ENGINE_COMPLETION_HPP
