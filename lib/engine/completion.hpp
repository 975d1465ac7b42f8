// Delivering completions to Asio handlers, the one way every asynchronous
// operation of the engine does it.
#ifndef JOBSTATE_ENGINE_COMPLETION_HPP
#define JOBSTATE_ENGINE_COMPLETION_HPP

#include <jobstate/result.hpp>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/system/error_code.hpp>

#include <utility>

namespace jobstate::engine_detail {

inline boost::system::error_code to_error_code(const error& e) {
  return boost::system::error_code(e.code());
}

/// The handler's associated executor, with outstanding work tracked: held
/// while an operation is pending, so that the caller's io_context::run()
/// does not return before the handler has run.
template <class Handler>
auto track_work(const Handler& handler) {
  return boost::asio::prefer(boost::asio::get_associated_executor(handler),
                             boost::asio::execution::outstanding_work.tracked);
}

/// Runs the handler on its associated executor, keeping that executor's work
/// tracked until it has run. The cancellation slot is cleared there, just
/// before the call, so it is touched only where the caller emits.
template <class Handler, class... Args>
void deliver(Handler handler, Args... args) {
  auto ex = track_work(handler);
  boost::asio::dispatch(ex, [handler = std::move(handler),
                             ... args = std::move(args)]() mutable {
    auto slot = handler.get_cancellation_slot();
    if (slot.is_connected()) slot.clear();
    std::move(handler)(std::move(args)...);
  });
}

/// Delivers `r` as (error_code, T): a default T accompanies an error.
template <class Handler, class T>
void deliver_result(Handler handler, result<T> r) {
  if (r) {
    deliver(std::move(handler), boost::system::error_code{}, std::move(*r));
  } else {
    deliver(std::move(handler), to_error_code(r.error()), T{});
  }
}

/// Delivers later, from `io`'s thread: for answers known inside an
/// initiating function, which must never call the handler itself.
template <class Handler, class T>
void deliver_later(boost::asio::io_context& io, Handler handler,
                   result<T> r) {
  boost::asio::post(io, [work = track_work(handler),
                         handler = std::move(handler),
                         r = std::move(r)]() mutable {
    deliver_result(std::move(handler), std::move(r));
  });
}

}  // namespace jobstate::engine_detail

#endif  // JOBSTATE_ENGINE_COMPLETION_HPP
