// An executor that runs what it is given at once, on the calling thread.
//
// For the completions of the engine's own blocking calls (engine::wait,
// engine::watch, the C API's jobstate_job_wait): each only hands a value to
// a thread blocked on a promise, which is safe anywhere, even on the
// committer. Delivering them through the engine's executor instead would
// deadlock a blocking call made from a handler running on that executor:
// the answer would queue behind the very handler that waits for it.
#ifndef JOBSTATE_ENGINE_INLINE_EXECUTOR_HPP
#define JOBSTATE_ENGINE_INLINE_EXECUTOR_HPP

#include <boost/asio/execution/blocking.hpp>

#include <utility>

namespace jobstate::engine_detail {

class inline_executor {
 public:
  template <class F>
  void execute(F&& f) const {
    std::forward<F>(f)();
  }

  static constexpr boost::asio::execution::blocking_t::always_t query(
      boost::asio::execution::blocking_t) noexcept {
    return boost::asio::execution::blocking.always;
  }

  friend bool operator==(const inline_executor&,
                         const inline_executor&) noexcept {
    return true;
  }
  friend bool operator!=(const inline_executor&,
                         const inline_executor&) noexcept {
    return false;
  }
};

}  // namespace jobstate::engine_detail

#endif  // JOBSTATE_ENGINE_INLINE_EXECUTOR_HPP
