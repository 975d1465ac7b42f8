// engine::get_executor(): where handlers without an executor of their own
// run. Guards the promise that no handler runs on the thread that commits
// (a handler that blocks delays no commit and no timeout), that a bound
// handler runs on its own executor, and that a host-supplied executor
// (options::executor) replaces the engine's own handler thread.
//
// No assertion here is about speed: "while the sleeper sleeps" is decided
// by latches and flags, and every wait is bounded by hang_guard, so that a
// regression (a handler back on the committer) fails within seconds instead
// of hanging the suite.
#include <jobstate/async.hpp>
#include <jobstate/jobstate.hpp>

#include "support/jobs.hpp"
#include "support/test_engine.hpp"
#include "support/waits.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <thread>

namespace jobstate {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using boost::system::error_code;

using test::create_job;
using test::eventually;
using test::hang_guard;
using test::io_runner;
using test::make_request;
using test::ref_of;
using test::test_engine;

// True when the calling thread runs `e`'s own handler io_context.
bool on_engine_executor(engine& e) {
  auto ex = e.get_executor();
  const auto* io = ex.target<asio::io_context::executor_type>();
  return io != nullptr && io->running_in_this_thread();
}

// Calls eng.start(ref) inside a handler run by `ex`, with `in_call` set for
// the call's duration, after `before` (in the same handler). The future
// says whether the call succeeded.
template <class Executor>
std::future<bool> start_inside_a_handler(const Executor& ex, engine& eng,
                                         const job_ref& ref,
                                         std::atomic<bool>& in_call,
                                         std::function<void()> before = {}) {
  auto started = std::make_shared<std::promise<bool>>();
  auto answer = started->get_future();
  asio::post(ex, [&eng, ref, &in_call, before = std::move(before), started] {
    if (before) before();
    in_call = true;
    const bool ok = eng.start(ref).has_value();
    in_call = false;
    started->set_value(ok);
  });
  return answer;
}

// A handler that blocks the engine's executor: it sleeps at least
// `at_least`, then until `until` holds, for at most hang_guard in all.
// `slept_while_holding` says whether `until` held before it woke up.
struct sleeper {
  std::promise<void> started;
  std::atomic<bool> sleeping{false};
  std::atomic<bool> saw_until{false};
  std::promise<void> finished;

  template <class Until>
  void sleep(std::chrono::milliseconds at_least, Until until) {
    sleeping = true;
    started.set_value();
    std::this_thread::sleep_for(at_least);
    saw_until = eventually(until, hang_guard);
    sleeping = false;
    finished.set_value();
  }
};

TEST(EngineExecutor, HandlerThatSleepsDelaysNoCommit) {
  io_runner others;  // The 1,000 mutations' handlers run here.
  test_engine eng;
  sleeper s;
  auto started = s.started.get_future();
  auto finished = s.finished.get_future();
  std::atomic<int> committed{0};
  std::atomic<int> failed{0};
  std::atomic<int> committed_while_sleeping{0};
  std::atomic<bool> blocking_done{false};
  constexpr int n = 1000;

  // A plain callback: it runs on the engine's executor and sleeps there for
  // at least a second, and until the 1,000 others are durable and the
  // blocking create below has returned (so that no check depends on how
  // fast they commit: under ThreadSanitizer they take more than a second).
  async_create(*eng, make_request("sleeper"), [&](error_code ec, created_job) {
    EXPECT_FALSE(ec) << ec.message();
    s.sleep(1s, [&] { return committed.load() == n && blocking_done.load(); });
  });
  ASSERT_EQ(started.wait_for(hang_guard), std::future_status::ready)
      << "the sleeping handler never ran";

  for (int i = 0; i < n; ++i) {
    async_create(
        *eng, make_request("other"),
        asio::bind_executor(others.io, [&](error_code ec, created_job) {
          if (ec) ++failed;
          if (s.sleeping.load()) ++committed_while_sleeping;
          ++committed;
        }));
  }
  // A blocking mutation commits meanwhile too.
  EXPECT_TRUE(eng->create(make_request("blocking")));
  EXPECT_TRUE(s.sleeping.load()) << "the handler stopped sleeping early";
  blocking_done = true;

  ASSERT_TRUE(eventually([&] { return committed.load() == n; }))
      << committed.load() << " of " << n
      << " mutations committed while a handler slept";
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(committed_while_sleeping.load(), n);
  ASSERT_EQ(finished.wait_for(hang_guard), std::future_status::ready);
  EXPECT_TRUE(s.saw_until.load());
}

TEST(EngineExecutor, PlainHandlerRunsOnTheEnginesExecutor) {
  test_engine eng;
  EXPECT_FALSE(on_engine_executor(*eng));
  std::promise<bool> created, waited, watched, refused;
  async_create(*eng, make_request(), [&](error_code, created_job) {
    created.set_value(on_engine_executor(*eng));
  });
  const job j = create_job(*eng);
  async_wait(*eng, ref_of(j), wait_condition::terminal(), 0ms,
             [&](error_code, wait_result) {
               waited.set_value(on_engine_executor(*eng));
             });
  watch_request w;
  w.after = 0;
  async_watch(*eng, w, [&](error_code, change_batch) {
    watched.set_value(on_engine_executor(*eng));
  });
  // An answer known at once (invalid input) goes there too.
  async_create(*eng, create_request{}, [&](error_code ec, created_job) {
    EXPECT_TRUE(test::carries(ec, errc::invalid_argument)) << ec.message();
    refused.set_value(on_engine_executor(*eng));
  });
  for (auto* p : {&created, &waited, &watched, &refused}) {
    auto f = p->get_future();
    ASSERT_EQ(f.wait_for(hang_guard), std::future_status::ready);
    EXPECT_TRUE(f.get());
  }
}

TEST(EngineExecutor, BoundHandlerRunsOnItsOwnExecutor) {
  io_runner host;
  test_engine eng;
  std::promise<std::pair<bool, bool>> where;
  async_create(
      *eng, make_request(),
      asio::bind_executor(host.io, [&](error_code, created_job) {
        where.set_value({host.on_runner_thread(), on_engine_executor(*eng)});
      }));
  auto f = where.get_future();
  ASSERT_EQ(f.wait_for(hang_guard), std::future_status::ready);
  const auto [on_host, on_engine] = f.get();
  EXPECT_TRUE(on_host);
  EXPECT_FALSE(on_engine);
}

TEST(EngineExecutor, HostSuppliedExecutorIsUsed) {
  io_runner host;  // Declared first: it outlives the engine.
  test_engine eng([&](options& o) { o.executor = host.io.get_executor(); });
  EXPECT_TRUE(eng->get_executor() ==
              asio::any_io_executor(host.io.get_executor()));
  std::promise<bool> on_host;
  async_create(*eng, make_request(), [&](error_code ec, created_job) {
    EXPECT_FALSE(ec) << ec.message();
    on_host.set_value(host.on_runner_thread());
  });
  auto f = on_host.get_future();
  ASSERT_EQ(f.wait_for(hang_guard), std::future_status::ready);
  EXPECT_TRUE(f.get());
}

TEST(EngineExecutor, TimeoutsFireWhileAHandlerSleeps) {
  io_runner others;
  test_engine eng;
  const job j = create_job(*eng);
  sleeper s;
  auto started = s.started.get_future();
  auto finished = s.finished.get_future();
  std::atomic<bool> wait_timed_out{false};
  std::atomic<bool> watch_bookmarked{false};
  std::atomic<bool> blocking_timed_out{false};
  async_create(*eng, make_request("sleeper"), [&](error_code, created_job) {
    s.sleep(1s, [&] {
      return wait_timed_out && watch_bookmarked && blocking_timed_out;
    });
  });
  ASSERT_EQ(started.wait_for(hang_guard), std::future_status::ready);

  async_wait(*eng, ref_of(j), wait_condition::terminal(), 50ms,
             asio::bind_executor(others.io, [&](error_code ec, wait_result r) {
               EXPECT_FALSE(ec) << ec.message();
               wait_timed_out = r.timed_out;
             }));
  auto last = eng->last_sequence();
  ASSERT_TRUE(last);
  watch_request w;
  w.after = *last;
  w.bookmark_after = 50ms;
  async_watch(
      *eng, w,
      asio::bind_executor(others.io, [&](error_code ec, change_batch b) {
        EXPECT_FALSE(ec) << ec.message();
        watch_bookmarked = b.changes.empty();
      }));
  auto blocking = eng->wait(ref_of(j), wait_condition::terminal(), 50ms);
  ASSERT_TRUE(blocking);
  blocking_timed_out = blocking->timed_out;

  EXPECT_TRUE(eventually([&] { return wait_timed_out && watch_bookmarked; }));
  EXPECT_TRUE(blocking_timed_out.load());
  EXPECT_TRUE(s.sleeping.load()) << "the timeouts waited for the handler";
  ASSERT_EQ(finished.wait_for(hang_guard), std::future_status::ready);
  EXPECT_TRUE(s.saw_until.load());
}

// A handler may call the blocking members: a blocking wait is answered
// without the handler's own thread.
TEST(EngineExecutor, HandlerMayCallBlockingMembers) {
  test_engine eng;
  const job j = create_job(*eng);
  std::promise<bool> done;
  async_create(*eng, make_request(), [&](error_code, created_job) {
    auto created = eng->create(make_request("from-handler"));
    auto started = eng->start(ref_of(j));
    auto waited = eng->wait(ref_of(j), wait_condition::terminal(), 20ms);
    done.set_value(created && started && waited && waited->timed_out);
  });
  auto f = done.get_future();
  ASSERT_EQ(f.wait_for(hang_guard), std::future_status::ready);
  EXPECT_TRUE(f.get());
}

// A blocking caller that commits hands the waiters' handlers to their
// executors itself, by post: even when its thread runs a waiter's executor
// (a blocking call made inside a handler), the waiter's handler runs after
// the call returns, never inside it.
TEST(EngineExecutor, BlockingCallersCommitNeverRunsAWaiterInsideTheCall) {
  io_runner host;
  test_engine eng;
  const job j = create_job(*eng);
  std::atomic<bool> in_call{false};
  std::promise<std::pair<bool, bool>> woke;  // {inside the call, on host}
  async_wait(*eng, ref_of(j), wait_condition::changed_after(j.revision),
             test::long_timeout,
             asio::bind_executor(host.io, [&](error_code ec, wait_result r) {
               EXPECT_FALSE(ec) << ec.message();
               EXPECT_EQ(r.job.status, job_status::running);
               woke.set_value({in_call.load(), host.on_runner_thread()});
             }));
  ASSERT_TRUE(eventually([&] { return test::waits_pending(*eng) == 1; }));
  auto started =
      start_inside_a_handler(host.io.get_executor(), *eng, ref_of(j), in_call);
  auto f = woke.get_future();
  ASSERT_EQ(f.wait_for(hang_guard), std::future_status::ready);
  const auto [inside, on_host] = f.get();
  EXPECT_FALSE(inside) << "the waiter's handler ran inside the blocking call";
  EXPECT_TRUE(on_host);
  EXPECT_TRUE(started.get());
}

// A blocking caller whose own write satisfies a waiter hands the waiter's
// handler to its executor before the call returns (it does not leave that to
// another engine thread): the handler is queued on an io_context nobody runs
// yet, and one poll after the call runs it.
TEST(EngineExecutor, BlockingCallerQueuesTheWaitersHandlerBeforeItReturns) {
  test_engine eng;
  asio::io_context waiter_io;
  const job j = create_job(*eng);
  int ran = 0;
  async_wait(*eng, ref_of(j), wait_condition::changed_after(j.revision),
             test::long_timeout,
             asio::bind_executor(waiter_io, [&](error_code ec, wait_result r) {
               EXPECT_FALSE(ec) << ec.message();
               EXPECT_EQ(r.job.status, job_status::running);
               ++ran;
             }));
  ASSERT_TRUE(eventually([&] { return test::waits_pending(*eng) == 1; }));
  ASSERT_TRUE(eng->start(ref_of(j)).has_value());
  waiter_io.poll();
  EXPECT_EQ(ran, 1) << "the waiter's handler was not queued by the call";
}

// The same for a change-feed watch.
TEST(EngineExecutor, BlockingCallerQueuesTheWatchersHandlerBeforeItReturns) {
  test_engine eng;
  asio::io_context watcher_io;
  const job j = create_job(*eng);
  auto last = eng->last_sequence();
  ASSERT_TRUE(last.has_value());
  watch_request request;
  request.after = *last;
  std::size_t seen = 0;
  async_watch(
      *eng, request,
      asio::bind_executor(watcher_io, [&](error_code ec, change_batch batch) {
        EXPECT_FALSE(ec) << ec.message();
        seen = batch.changes.size();
      }));
  ASSERT_TRUE(eventually([&] { return !test::subscriptions_idle(*eng); }));
  ASSERT_TRUE(eng->start(ref_of(j)).has_value());
  watcher_io.poll();
  EXPECT_EQ(seen, 1u) << "the watch's handler was not queued by the call";
}

// A blocking call made inside a handler that runs on a strand: a waiter
// bound to that strand, or to another strand of the same io_context (whose
// handlers this thread could also run), never runs inside the call.
TEST(EngineExecutor, BlockingCallOnAStrandNeverRunsAWaiterInsideTheCall) {
  io_runner host;
  test_engine eng;
  auto caller_strand = asio::make_strand(host.io);
  for (const bool same_strand : {true, false}) {
    SCOPED_TRACE(same_strand ? "same strand" : "another strand");
    auto waiter_strand =
        same_strand ? caller_strand : asio::make_strand(host.io);
    const job j = create_job(*eng);
    std::atomic<bool> in_call{false};
    std::promise<bool> woke;  // Whether inside the call.
    async_wait(
        *eng, ref_of(j), wait_condition::changed_after(j.revision),
        test::long_timeout,
        asio::bind_executor(waiter_strand, [&](error_code ec, wait_result) {
          EXPECT_FALSE(ec) << ec.message();
          woke.set_value(in_call.load());
        }));
    ASSERT_TRUE(eventually([&] { return test::waits_pending(*eng) == 1; }));
    auto started =
        start_inside_a_handler(caller_strand, *eng, ref_of(j), in_call);
    auto f = woke.get_future();
    ASSERT_EQ(f.wait_for(hang_guard), std::future_status::ready);
    EXPECT_FALSE(f.get()) << "the waiter's handler ran inside the call";
    EXPECT_TRUE(started.get());
  }
}

// A blocking call that finds no commit under way commits the queue itself,
// which may hold other callers' asynchronous writes queued just before it:
// their handlers never run inside the call, even when bound to an executor
// the calling thread runs. Queued from the same handler just before the
// call, the asynchronous write is usually taken along (the committer thread
// has not woken yet); rounds make that near certain.
TEST(EngineExecutor, AsyncWritesABlockingCallCommitsNeverRunInsideIt) {
  io_runner host;
  test_engine eng;
  constexpr int rounds = 20;
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const job queued = create_job(*eng);
    const job blocking = create_job(*eng);
    std::atomic<bool> in_call{false};
    auto answered = std::make_shared<std::promise<bool>>();  // Inside?
    auto f = answered->get_future();
    auto started = start_inside_a_handler(
        host.io.get_executor(), *eng, ref_of(blocking), in_call, [&, answered] {
          async_start(*eng, ref_of(queued), {},
                      asio::bind_executor(
                          host.io, [&in_call, answered](error_code ec, job) {
                            EXPECT_FALSE(ec) << ec.message();
                            answered->set_value(in_call.load());
                          }));
        });
    ASSERT_EQ(f.wait_for(hang_guard), std::future_status::ready);
    ASSERT_FALSE(f.get()) << "an asynchronous write's handler ran inside a "
                             "blocking call";
    EXPECT_TRUE(started.get());
  }
}

// The destructor runs what is queued on the engine's own handler thread
// before it returns, even behind a handler that blocks.
TEST(EngineExecutor, DestructionRunsQueuedHandlersFirst) {
  test_engine eng;
  std::atomic<int> ran{0};
  async_create(*eng, make_request("slow"), [&](error_code, created_job) {
    std::this_thread::sleep_for(100ms);
    ++ran;
  });
  for (int i = 0; i < 20; ++i) {
    async_create(*eng, make_request(), [&](error_code ec, created_job) {
      EXPECT_FALSE(ec) << ec.message();
      ++ran;
    });
  }
  eng.close();
  EXPECT_EQ(ran.load(), 21);
}

}  // namespace
}  // namespace jobstate
