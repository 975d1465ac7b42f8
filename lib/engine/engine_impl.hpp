// engine::impl: what an open engine owns, shared by the files of lib/engine.
#ifndef JOBSTATE_ENGINE_ENGINE_IMPL_HPP
#define JOBSTATE_ENGINE_ENGINE_IMPL_HPP

#include <jobstate/engine.hpp>

#include "engine/claim_waiters.hpp"
#include "engine/commit_queue.hpp"
#include "engine/commit_signal.hpp"
#include "engine/expiry_timer.hpp"
#include "engine/mutations.hpp"
#include "engine/subscriptions.hpp"
#include "support/mutex.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <future>
#include <thread>

namespace jobstate {

// Hidden explicitly: a class nested in an exported class would otherwise be
// exported with it, and nothing in it is part of the binary interface.
class __attribute__((visibility("hidden"))) engine::impl {
 public:
  impl(const jobstate::options& opts, std::unique_ptr<store::job_store> s);
  /// Commits what is queued, aborts pending waits, stops the threads.
  ~impl();
  /// Starts watching for other processes' commits (when enabled).
  result<void> start_signal();
  /// Arms the lease timer (failing at once the leases that lapsed while no
  /// engine had the database open).
  void start_leases();
  /// engine::expire_leases: passes until none is left.
  result<std::size_t> expire_leases();
  /// `request` with the options' defaults where it has no value of its own.
  create_request with_defaults(create_request request) const;

  /// Held for the whole of a blocking wait or watch, which may be in
  /// progress on another thread while the engine closes: the destructor
  /// answers it, then waits for it to return before tearing down.
  class blocking_call {
   public:
    explicit blocking_call(impl& owner);
    ~blocking_call();
    blocking_call(const blocking_call&) = delete;
    blocking_call& operator=(const blocking_call&) = delete;

   private:
    impl& owner_;
  };

  using create_handler = boost::asio::any_completion_handler<create_signature>;
  using mutation_handler =
      boost::asio::any_completion_handler<mutation_signature>;

  /// Validates, queues and blocks until durable.
  result<created_job> create(const create_request& request);
  result<created_batch> create_batch(const batch_request& request);
  result<job> mutate(engine_detail::job_mutation m);
  /// Validates and queues; the handler runs after the commit.
  void async_create(create_request request, create_handler handler);
  void async_create_batch(
      batch_request request,
      boost::asio::any_completion_handler<create_batch_signature> handler);
  void async_mutate(engine_detail::job_mutation m, mutation_handler handler);
  /// Validates, then claims (waiting when the request says so).
  void async_claim(
      claim_request request,
      boost::asio::any_completion_handler<claim_signature> handler);
  /// Validates, then queues a heartbeat.
  void async_heartbeat(
      job_ref ref, mutation_options opts, std::optional<progress> p,
      boost::asio::any_completion_handler<heartbeat_signature> handler);
  /// The validation engine::heartbeat and async_heartbeat share.
  result<void> validate_heartbeat(const job_ref& ref,
                                  const mutation_options& opts,
                                  const std::optional<progress>& p) const;

  // Queues `apply` and blocks until its commit is durable (committing it on
  // this thread when no commit is under way).
  template <class T, class Apply>
  result<T> write(Apply apply, bool frees_space = false) {
    std::promise<result<T>> done;
    auto answer = done.get_future();
    auto refused = queue_->lead(engine_detail::make_write<T>(
        std::move(apply),
        [done = std::move(done)](result<T> r) mutable {
          done.set_value(std::move(r));
        },
        frees_space));
    if (refused) refused->finish(&closed_error());
    return answer.get();
  }

  // Queues `apply`; `done` runs on the committer thread after the commit (or
  // on the io thread when the engine is closing: never inside the caller).
  // `done` only hands the outcome to a pending_handler, which runs the
  // handler on its executor: no user code runs on the committer.
  template <class T, class Apply, class Done>
  void submit_async(Apply apply, Done done) {
    auto refused = queue_->submit(
        engine_detail::make_write<T>(std::move(apply), std::move(done)));
    if (refused) {
      boost::asio::post(
          io_, [w = std::move(refused)] { w->finish(&closed_error()); });
    }
  }

  static const error& closed_error() {
    static const error closed(errc::engine_closed, "the engine is closing");
    return closed;
  }

  const jobstate::options opts_;
  std::unique_ptr<store::job_store> store_;
  // Timeouts, immediate answers and other processes' commits (the io
  // thread), apart from the handlers: a handler that blocks delays neither.
  boost::asio::io_context io_;
  // The engine's own handler thread runs this, unless the host supplied
  // options::executor (then it stays idle, and no thread is started).
  boost::asio::io_context handler_io_{1};
  // engine::get_executor(): options::executor, or handler_io_'s.
  const boost::asio::any_io_executor executor_;
  // executor_ as every completion without an executor of its own uses it.
  const boost::asio::any_io_executor handler_executor_;
  std::shared_ptr<engine_detail::subscriptions> subs_;
  std::unique_ptr<engine_detail::commit_signal> signal_;
  std::unique_ptr<engine_detail::commit_queue> queue_;
  std::unique_ptr<engine_detail::expiry_timer> expiry_;
  std::shared_ptr<engine_detail::claim_waiters> claims_;

 private:
  timestamp now() const;
  void on_commit(const std::vector<store::change_record>& changes,
                 engine_detail::commit_queue::committed_by who,
                 const engine_detail::committed_jobs& jobs);
  void on_signal();  // on the io thread

  // The feed position up to which every change has been notified here: the
  // io thread moves it on after reading other processes' changes; the
  // committing thread moves it over this process's own commits when they
  // follow on directly, so that their doorbell costs no second notification.
  std::atomic<std::uint64_t> signal_seen_{0};
  void advance_signal_seen(std::uint64_t to) noexcept;
  support::mutex blocking_mutex_;
  support::condition_variable blocking_done_;
  int blocking_calls_ JOBSTATE_GUARDED_BY(blocking_mutex_) = 0;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
      keep_running_;
  std::thread io_thread_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
      keep_handlers_running_;
  std::thread handler_thread_;  // Not started with a host's executor.
};

/// Reaches an engine's internals from lib/ (async initiation, C API).
struct engine_access {
  static engine::impl& of(engine& e) { return *e.impl_; }
  static const engine::impl& of(const engine& e) { return *e.impl_; }
};

}  // namespace jobstate

#endif  // JOBSTATE_ENGINE_ENGINE_IMPL_HPP
