// async_wait and async_watch as Asio operations: completion tokens
// (callbacks, use_future, use_awaitable, deferred), the handler's associated
// executor, per-operation cancellation, work tracking, many waiters on one
// job and on many jobs across threads, and engine shutdown.
#include <jobstate/async.hpp>
#include <jobstate/jobstate.hpp>

#include "support/jobs.hpp"
#include "support/test_engine.hpp"
#include "support/waits.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace jobstate {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using boost::system::error_code;

using test::completion_for;
using test::create_in_status;
using test::create_job;
using test::hang_guard;
using test::io_runner;
using test::long_timeout;
using test::ok;
using test::ready_within;
using test::ref_of;
using test::run_until;
using test::test_engine;
using test::wait_outcome;
using test::waits_pending;
using test::watch_outcome;

const error_code aborted = asio::error::operation_aborted;

completion succeeded() { return completion_for(job_status::succeeded); }

// A watch that only ends when a change commits (or by cancellation or
// shutdown) and never answers with a bookmark during a test.
watch_request watch_from(std::uint64_t after) {
  watch_request r;
  r.after = after;
  r.bookmark_after = long_timeout;
  return r;
}

// ------------------------------------------------------ the handler's executor

// Where and how a handler ran.
struct where_ran {
  std::atomic<int> calls{0};
  std::atomic<bool> on_executor{false};
  std::atomic<bool> on_runner{false};
  error_code ec;  // Written before `calls`, read after it.
  bool done() const { return calls.load() > 0; }
};

TEST(AsyncExecutor, EveryCompletionRunsOnTheHandlersExecutor) {
  io_runner runner;
  test_engine db;
  auto& io = runner.io;
  const job done = create_in_status(*db, job_status::succeeded);
  const job to_complete = create_in_status(*db, job_status::running);
  const job to_cancel = create_in_status(*db, job_status::running);
  const job idle = create_in_status(*db, job_status::running);
  const std::uint64_t last = db->last_sequence().value();

  auto on_io = [&](where_ran& w) {
    return asio::bind_executor(io, [&w, &io, &runner](error_code ec, auto) {
      w.ec = ec;
      w.on_executor = io.get_executor().running_in_this_thread();
      w.on_runner = runner.on_runner_thread();
      w.calls.fetch_add(1);
    });
  };
  where_ran later, at_once, timed_out, missing, cancelled, watched, bookmark;
  asio::cancellation_signal signal;

  async_wait(*db, ref_of(to_complete), wait_condition::terminal(), long_timeout,
             on_io(later));
  async_wait(*db, ref_of(done), wait_condition::terminal(), long_timeout,
             on_io(at_once));
  async_wait(*db, ref_of(idle), wait_condition::terminal(), 50ms,
             on_io(timed_out));
  async_wait(*db, job_ref{done.account_id, done.project_id, job_id::generate()},
             wait_condition::terminal(), long_timeout, on_io(missing));
  async_wait(*db, ref_of(to_cancel), wait_condition::terminal(), long_timeout,
             asio::bind_cancellation_slot(signal.slot(), on_io(cancelled)));
  async_watch(*db, watch_from(last), on_io(watched));
  watch_request quiet = watch_from(last);
  quiet.account_id = "nobody";
  quiet.bookmark_after = 50ms;
  async_watch(*db, quiet, on_io(bookmark));

  // From this thread: the commit notifies on the engine's committer thread.
  ASSERT_TRUE(ok(db->complete(ref_of(to_complete), succeeded())));
  asio::post(io, [&] { signal.emit(asio::cancellation_type::terminal); });

  struct named {
    const char* what;
    where_ran* w;
    bool fails;
  };
  for (const auto& [what, w, fails] :
       {named{"completed by a commit", &later, false},
        named{"answered at once", &at_once, false},
        named{"timed out", &timed_out, false},
        named{"not found", &missing, true},
        named{"cancelled", &cancelled, true},
        named{"watch completed by a commit", &watched, false},
        named{"watch bookmark", &bookmark, false}}) {
    SCOPED_TRACE(what);
    ASSERT_TRUE(test::eventually([w = w] { return w->done(); }));
    EXPECT_EQ(w->calls.load(), 1);
    EXPECT_TRUE(w->on_executor) << "not on the io_context's thread";
    EXPECT_TRUE(w->on_runner);
    EXPECT_EQ(static_cast<bool>(w->ec), fails) << w->ec.message();
  }
}

TEST(AsyncExecutor, CompletesOnABoundStrand) {
  io_runner runner(3);
  test_engine db;
  auto strand = asio::make_strand(runner.io);
  std::vector<job> jobs;
  for (int i = 0; i < 5; ++i) {
    jobs.push_back(create_in_status(*db, job_status::running));
  }
  std::atomic<int> on_strand{0};
  std::atomic<int> calls{0};
  for (const job& j : jobs) {
    async_wait(*db, ref_of(j), wait_condition::terminal(), long_timeout,
               asio::bind_executor(strand, [&](error_code ec, wait_result) {
                 EXPECT_FALSE(ec) << ec.message();
                 if (strand.running_in_this_thread()) ++on_strand;
                 ++calls;
               }));
  }
  for (const job& j : jobs) {
    ASSERT_TRUE(ok(db->complete(ref_of(j), succeeded())));
  }
  ASSERT_TRUE(test::eventually([&] { return calls.load() == 5; }));
  EXPECT_EQ(on_strand.load(), 5);
}

// Once its handler has run, an operation is over: the engine must no longer
// touch the handler's executor (not even to release the work it tracked), so
// the io_context may go at once while the engine lives on. Many waiters
// completed by one commit widen the window in which an engine thread could
// still be handing the others over.
TEST(AsyncExecutor, LetsGoOfTheExecutorBeforeTheHandlerReturns) {
  test_engine db;
  constexpr int rounds = 10;
  constexpr int waiters = 200;
  for (int round = 0; round < rounds; ++round) {
    auto io = std::make_unique<asio::io_context>();
    const job j = create_in_status(*db, job_status::running);
    int ran = 0;
    for (int i = 0; i < waiters; ++i) {
      async_wait(
          *db, ref_of(j), wait_condition::terminal(), long_timeout,
          asio::bind_executor(*io, [&ran](error_code, wait_result) { ++ran; }));
    }
    ASSERT_TRUE(ok(db->complete(ref_of(j), succeeded())));
    bool stopped_by_itself = false;
    {
      auto guard = asio::make_work_guard(*io);
      const auto deadline = std::chrono::steady_clock::now() + hang_guard;
      while (ran < waiters && std::chrono::steady_clock::now() < deadline) {
        // Only a stray release of work (by an engine thread, on an earlier
        // io_context freed at the same address) can stop it while guarded.
        if (io->stopped()) {
          stopped_by_itself = true;
          break;
        }
        io->run_one_for(20ms);
      }
    }
    if (stopped_by_itself || ran != waiters) {
      db.close();  // First: no engine thread may reach the io_context after.
      FAIL() << "round " << round << ": "
             << (stopped_by_itself ? "the io_context stopped by itself"
                                   : "the handlers did not all run")
             << " after " << ran << " of " << waiters << " handlers";
    }
    io.reset();  // Every operation on it has completed.
  }
}

// ------------------------------------------------------ completion tokens

TEST(AsyncTokens, UseFuture) {
  test_engine db;
  const job j = create_in_status(*db, job_status::running);
  auto f = async_wait(*db, ref_of(j), wait_condition::terminal(), long_timeout,
                      asio::use_future);
  ASSERT_TRUE(ok(db->complete(ref_of(j), succeeded())));
  ASSERT_TRUE(ready_within(f));
  const wait_result r = f.get();
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.job, db->get(ref_of(j)).value());

  auto timeout =
      async_wait(*db, ref_of(create_in_status(*db, job_status::running)),
                 wait_condition::terminal(), 20ms, asio::use_future);
  ASSERT_TRUE(ready_within(timeout));
  EXPECT_TRUE(timeout.get().timed_out);

  const job_ref missing{j.account_id, j.project_id, job_id::generate()};
  auto failed = async_wait(*db, missing, wait_condition::terminal(),
                           long_timeout, asio::use_future);
  ASSERT_TRUE(ready_within(failed));
  std::exception_ptr thrown;
  try {
    failed.get();
    ADD_FAILURE() << "a wait on a missing job succeeded";
  } catch (const boost::system::system_error& e) {
    EXPECT_TRUE(test::carries(e.code(), errc::not_found)) << e.what();
    thrown = std::current_exception();
  }
  // Keeps the exception until the engine's thread has surely dropped its own
  // reference (an answer it posts later has arrived): ThreadSanitizer cannot
  // see libstdc++'s uninstrumented exception reference count, and would
  // report the engine's thread freeing what this one read.
  async_wait(*db, ref_of(j), wait_condition::terminal(), 0ms, asio::use_future)
      .get();
  thrown = nullptr;

  const std::uint64_t last = db->last_sequence().value();
  auto watched = async_watch(*db, watch_from(last), asio::use_future);
  const job created = create_job(*db);
  ASSERT_TRUE(ready_within(watched));
  const change_batch b = watched.get();
  ASSERT_EQ(b.changes.size(), 1u);
  EXPECT_EQ(b.changes[0].id, created.id);
  EXPECT_EQ(b.changes[0].sequence, last + 1);
}

// Coroutines. Per GCC 12 (which destroys temporaries with non-trivial
// destructors twice inside a co_await expression), every operation is made
// into a named awaitable first and then awaited.
asio::awaitable<void> await_terminal(engine& e, job_ref ref,
                                     std::shared_ptr<wait_outcome> out) {
  try {
    auto op = async_wait(e, ref, wait_condition::terminal(), long_timeout,
                         asio::use_awaitable);
    wait_result r = co_await std::move(op);
    out->record({}, std::move(r));
  } catch (const boost::system::system_error& x) {
    out->record(x.code(), wait_result{});
  }
}

// A worker's loop: follows a job change by change until it ends.
asio::awaitable<void> follow(engine& e, job_ref ref,
                             std::shared_ptr<std::vector<job>> seen) {
  std::uint64_t revision = 0;
  for (;;) {
    auto op = async_wait(e, ref, wait_condition::changed_after(revision),
                         long_timeout, asio::use_awaitable);
    wait_result r = co_await std::move(op);
    revision = r.job.revision;
    const bool end = is_terminal(r.job.status);
    seen->push_back(std::move(r.job));
    if (end) co_return;
  }
}

TEST(AsyncTokens, UseAwaitable) {
  asio::io_context io;  // Outlives the engine.
  test_engine db;
  const job j = create_in_status(*db, job_status::running);
  auto out = std::make_shared<wait_outcome>();
  std::exception_ptr failure;
  bool finished = false;
  asio::co_spawn(io, await_terminal(*db, ref_of(j), out),
                 [&](std::exception_ptr ep) {
                   failure = ep;
                   finished = true;
                 });
  // Runs after the coroutine has suspended in its wait.
  asio::post(io, [&] {
    EXPECT_EQ(waits_pending(*db), 1u);
    EXPECT_TRUE(ok(db->complete(ref_of(j), succeeded())));
  });
  ASSERT_TRUE(run_until(io, [&] { return finished; }));
  EXPECT_FALSE(failure);
  ASSERT_TRUE(out->done());
  EXPECT_FALSE(out->ec()) << out->ec().message();
  EXPECT_FALSE(out->value().timed_out);
  EXPECT_EQ(out->value().job, db->get(ref_of(j)).value());

  // An error arrives as an exception.
  auto err = std::make_shared<wait_outcome>();
  finished = false;
  const job_ref missing{j.account_id, j.project_id, job_id::generate()};
  asio::co_spawn(io, await_terminal(*db, missing, err),
                 [&](std::exception_ptr) { finished = true; });
  ASSERT_TRUE(run_until(io, [&] { return finished; }));
  ASSERT_TRUE(err->done());
  EXPECT_TRUE(test::carries(err->ec(), errc::not_found)) << err->ec().message();
}

TEST(AsyncTokens, UseAwaitableWorkerLoop) {
  asio::io_context io;  // Outlives the engine.
  test_engine db;
  const job j = create_job(*db);
  auto seen = std::make_shared<std::vector<job>>();
  bool finished = false;
  std::exception_ptr failure;
  asio::co_spawn(io, follow(*db, ref_of(j), seen), [&](std::exception_ptr ep) {
    failure = ep;
    finished = true;
  });
  std::thread worker([&] {
    EXPECT_TRUE(ok(db->start(ref_of(j))));
    for (int p = 10; p <= 90; p += 20) {
      progress pr;
      pr.percent = p;
      EXPECT_TRUE(ok(db->report_progress(ref_of(j), pr)));
    }
    EXPECT_TRUE(ok(db->complete(ref_of(j), succeeded())));
  });
  const bool ended = run_until(io, [&] { return finished; });
  worker.join();
  ASSERT_TRUE(ended);
  EXPECT_FALSE(failure);
  ASSERT_FALSE(seen->empty());
  // Answers may skip revisions that came in quick succession, but never go
  // back, and the last is the job as it ended.
  for (std::size_t i = 1; i < seen->size(); ++i) {
    EXPECT_GT((*seen)[i].revision, (*seen)[i - 1].revision);
  }
  EXPECT_EQ(seen->back(), db->get(ref_of(j)).value());
}

TEST(AsyncTokens, Deferred) {
  asio::io_context io;  // Outlives the engine.
  test_engine db;
  const job j = create_in_status(*db, job_status::running);
  auto op = async_wait(*db, ref_of(j), wait_condition::terminal(), long_timeout,
                       asio::deferred);
  EXPECT_EQ(waits_pending(*db), 0u) << "deferred: started before being invoked";

  auto out = std::make_shared<wait_outcome>();
  std::move(op)(asio::bind_executor(io, test::recorder(out)));
  EXPECT_EQ(waits_pending(*db), 1u);
  ASSERT_TRUE(ok(db->complete(ref_of(j), succeeded())));
  ASSERT_TRUE(run_until(io, [&] { return out->done(); }));
  EXPECT_FALSE(out->ec());
  EXPECT_EQ(out->value().job.status, job_status::succeeded);

  // A deferred watch, likewise.
  const std::uint64_t last = db->last_sequence().value();
  auto watch = async_watch(*db, watch_from(last), asio::deferred);
  EXPECT_TRUE(test::subscriptions_idle(*db));
  auto batch = std::make_shared<watch_outcome>();
  std::move(watch)(asio::bind_executor(io, test::recorder(batch)));
  EXPECT_FALSE(test::subscriptions_idle(*db));
  const job created = create_job(*db);
  ASSERT_TRUE(run_until(io, [&] { return batch->done(); }));
  ASSERT_EQ(batch->value().changes.size(), 1u);
  EXPECT_EQ(batch->value().changes[0].id, created.id);
}

// ---------------------------------------------------------- cancellation

class AsyncCancellation
    : public ::testing::TestWithParam<asio::cancellation_type> {};

std::string cancellation_name(
    const ::testing::TestParamInfo<asio::cancellation_type>& info) {
  switch (info.param) {
    case asio::cancellation_type::terminal:
      return "Terminal";
    case asio::cancellation_type::partial:
      return "Partial";
    case asio::cancellation_type::total:
      return "Total";
    default:
      return "Other";
  }
}

INSTANTIATE_TEST_SUITE_P(Types, AsyncCancellation,
                         ::testing::Values(asio::cancellation_type::terminal,
                                           asio::cancellation_type::partial,
                                           asio::cancellation_type::total),
                         cancellation_name);

TEST_P(AsyncCancellation, AbortsAPendingWait) {
  asio::io_context io;  // Outlives the engine.
  test_engine db;
  const job j = create_in_status(*db, job_status::running);
  asio::cancellation_signal signal;
  auto out = std::make_shared<wait_outcome>();
  async_wait(*db, ref_of(j), wait_condition::terminal(), long_timeout,
             asio::bind_cancellation_slot(
                 signal.slot(), asio::bind_executor(io, test::recorder(out))));
  ASSERT_EQ(waits_pending(*db), 1u);
  // Emitted on the thread that runs the handler's executor, as Asio wants.
  asio::post(io, [&] { signal.emit(GetParam()); });
  ASSERT_TRUE(run_until(io, [&] { return out->done(); }));
  EXPECT_EQ(out->ec(), aborted) << out->ec().message();
  EXPECT_EQ(waits_pending(*db), 0u) << "the wait is still registered";
  EXPECT_TRUE(test::subscriptions_idle(*db));
  // Cancelling has no side effect on the job.
  EXPECT_TRUE(test::unchanged(*db, j));

  // A later change does not complete it again.
  ASSERT_TRUE(ok(db->complete(ref_of(j), succeeded())));
  auto probe = std::make_shared<wait_outcome>();
  async_wait(*db, ref_of(j), wait_condition::terminal(), long_timeout,
             asio::bind_executor(io, test::recorder(probe)));
  ASSERT_TRUE(run_until(io, [&] { return probe->done(); }));
  io.poll();
  EXPECT_EQ(out->calls(), 1);
}

TEST_P(AsyncCancellation, AbortsAPendingWatch) {
  asio::io_context io;  // Outlives the engine.
  test_engine db;
  create_job(*db);
  asio::cancellation_signal signal;
  auto out = std::make_shared<watch_outcome>();
  async_watch(*db, watch_from(db->last_sequence().value()),
              asio::bind_cancellation_slot(
                  signal.slot(), asio::bind_executor(io, test::recorder(out))));
  ASSERT_FALSE(test::subscriptions_idle(*db));
  asio::post(io, [&] { signal.emit(GetParam()); });
  ASSERT_TRUE(run_until(io, [&] { return out->done(); }));
  EXPECT_EQ(out->ec(), aborted) << out->ec().message();
  EXPECT_TRUE(out->value().changes.empty());
  EXPECT_TRUE(test::subscriptions_idle(*db)) << "the watch is still registered";

  create_job(*db);
  io.poll();
  EXPECT_EQ(out->calls(), 1);
}

// co_spawn passes only terminal cancellation to the awaited operation by
// default (its cancellation state filters the others out).
TEST(AsyncCancellationInACoroutine, AbortsTheAwaitedWait) {
  asio::io_context io;  // Outlives the engine.
  test_engine db;
  const job j = create_in_status(*db, job_status::running);
  asio::cancellation_signal signal;
  auto out = std::make_shared<wait_outcome>();
  bool finished = false;
  asio::co_spawn(
      io, await_terminal(*db, ref_of(j), out),
      asio::bind_cancellation_slot(
          signal.slot(), [&](std::exception_ptr) { finished = true; }));
  asio::post(io, [&] {
    EXPECT_EQ(waits_pending(*db), 1u);
    signal.emit(asio::cancellation_type::terminal);
  });
  ASSERT_TRUE(run_until(io, [&] { return finished; }));
  ASSERT_TRUE(out->done());
  EXPECT_EQ(out->ec(), aborted) << out->ec().message();
  EXPECT_EQ(waits_pending(*db), 0u);
}

TEST(AsyncCancellationAfterCompletion, IsHarmless) {
  asio::io_context io;  // Outlives the engine.
  test_engine db;
  const job j = create_in_status(*db, job_status::running);
  const job done = create_in_status(*db, job_status::succeeded);
  asio::cancellation_signal signal;
  for (const job* target : {&j, &done}) {
    SCOPED_TRACE(target == &j ? "completed by a change" : "answered at once");
    auto out = std::make_shared<wait_outcome>();
    async_wait(
        *db, ref_of(*target), wait_condition::terminal(), long_timeout,
        asio::bind_cancellation_slot(
            signal.slot(), asio::bind_executor(io, test::recorder(out))));
    if (target == &j) {
      ASSERT_TRUE(ok(db->complete(ref_of(j), succeeded())));
    }
    ASSERT_TRUE(run_until(io, [&] { return out->done(); }));
    EXPECT_FALSE(out->ec()) << out->ec().message();
    for (auto type :
         {asio::cancellation_type::terminal, asio::cancellation_type::partial,
          asio::cancellation_type::total}) {
      signal.emit(type);
    }
    io.poll();
    EXPECT_EQ(out->calls(), 1);
  }
  // The engine is unharmed, and the signal serves a new wait.
  const job next = create_in_status(*db, job_status::running);
  auto out = std::make_shared<wait_outcome>();
  async_wait(*db, ref_of(next), wait_condition::terminal(), long_timeout,
             asio::bind_cancellation_slot(
                 signal.slot(), asio::bind_executor(io, test::recorder(out))));
  asio::post(io, [&] { signal.emit(asio::cancellation_type::terminal); });
  ASSERT_TRUE(run_until(io, [&] { return out->done(); }));
  EXPECT_EQ(out->ec(), aborted);
  EXPECT_TRUE(test::unchanged(*db, next));
}

// ------------------------------------------------------------ tracked work
//
// No work guard here, on purpose: the pending operation alone must keep
// io_context::run() from returning.

TEST(AsyncTrackedWork, RunDoesNotReturnWhileAWaitIsPending) {
  asio::io_context io;
  test_engine db;
  const job j = create_in_status(*db, job_status::running);
  std::atomic<bool> ran{false};
  async_wait(*db, ref_of(j), wait_condition::terminal(), long_timeout,
             asio::bind_executor(io, [&](error_code ec, wait_result r) {
               EXPECT_FALSE(ec) << ec.message();
               EXPECT_EQ(r.job.status, job_status::succeeded);
               ran = true;
             }));
  auto running = test::run_in_background(io);
  std::thread completer([&] {
    std::this_thread::sleep_for(100ms);
    EXPECT_TRUE(ok(db->complete(ref_of(j), succeeded())));
  });
  const bool returned = ready_within(running);
  completer.join();
  if (!returned) io.stop();
  running.get();
  EXPECT_TRUE(returned) << "run() did not return after the wait completed";
  EXPECT_TRUE(ran) << "run() returned before the pending wait completed";
}

TEST(AsyncTrackedWork, RunDoesNotReturnBeforeATimeout) {
  asio::io_context io;
  test_engine db;
  const job j = create_in_status(*db, job_status::running);
  std::atomic<bool> timed_out{false};
  async_wait(*db, ref_of(j), wait_condition::terminal(), 100ms,
             asio::bind_executor(io, [&](error_code ec, wait_result r) {
               EXPECT_FALSE(ec) << ec.message();
               timed_out = r.timed_out;
             }));
  auto running = test::run_in_background(io);
  const bool returned = ready_within(running);
  if (!returned) io.stop();
  running.get();
  EXPECT_TRUE(timed_out) << "run() returned before the wait timed out";
}

TEST(AsyncTrackedWork, RunDoesNotReturnBeforeAnAnswerKnownAtOnce) {
  asio::io_context io;
  test_engine db;
  const job j = create_in_status(*db, job_status::succeeded);
  std::atomic<bool> ran{false};
  async_wait(
      *db, ref_of(j), wait_condition::terminal(), long_timeout,
      asio::bind_executor(io, [&](error_code, wait_result) { ran = true; }));
  auto running = test::run_in_background(io);
  const bool returned = ready_within(running);
  if (!returned) io.stop();
  running.get();
  EXPECT_TRUE(ran) << "run() returned before the (immediate) answer ran";
}

TEST(AsyncTrackedWork, RunDoesNotReturnWhileAWatchIsPending) {
  asio::io_context io;
  test_engine db;
  const std::uint64_t last = db->last_sequence().value();
  std::atomic<bool> ran{false};
  async_watch(*db, watch_from(last),
              asio::bind_executor(io, [&](error_code ec, change_batch b) {
                EXPECT_FALSE(ec) << ec.message();
                EXPECT_EQ(b.changes.size(), 1u);
                ran = true;
              }));
  auto running = test::run_in_background(io);
  std::thread creator([&] {
    std::this_thread::sleep_for(100ms);
    create_job(*db);
  });
  const bool returned = ready_within(running);
  creator.join();
  if (!returned) io.stop();
  running.get();
  EXPECT_TRUE(ran) << "run() returned before the pending watch completed";
}

// ------------------------------------------------------------------- scale

TEST(AsyncScale, AThousandWaitersOnOneJobCompleteOnce) {
  asio::io_context io;  // Outlives the engine.
  test_engine db;
  const job j = create_in_status(*db, job_status::running);
  constexpr int n = 1000;
  std::vector<int> calls(n, 0);
  int bad = 0;
  int total = 0;
  for (int i = 0; i < n; ++i) {
    async_wait(*db, ref_of(j), wait_condition::terminal(), long_timeout,
               asio::bind_executor(io, [&, i](error_code ec, wait_result r) {
                 ++calls[i];
                 ++total;
                 if (ec || r.timed_out || r.job.id != j.id ||
                     r.job.status != job_status::succeeded) {
                   ++bad;
                 }
               }));
  }
  EXPECT_EQ(waits_pending(*db), static_cast<std::size_t>(n));
  ASSERT_TRUE(ok(db->complete(ref_of(j), succeeded())));
  ASSERT_TRUE(run_until(io, [&] { return total >= n; }));
  io.poll();
  EXPECT_EQ(total, n);
  EXPECT_EQ(bad, 0);
  for (int i = 0; i < n; ++i) ASSERT_EQ(calls[i], 1) << "waiter " << i;
  EXPECT_EQ(waits_pending(*db), 0u);
}

TEST(AsyncScale, ManyJobsManyWaitersManyThreads) {
  constexpr int jobs = 200;
  constexpr int waiters = 5;
  constexpr int io_threads = 4;
  constexpr int completers = 4;
  std::vector<std::atomic<int>> calls(jobs * waiters);
  std::atomic<int> total{0};
  std::atomic<int> bad{0};
  std::atomic<int> off_runner{0};
  std::mutex m;
  std::condition_variable cv;
  {
    io_runner runner(io_threads);
    test_engine db;
    std::vector<job> js;
    js.reserve(jobs);
    for (int i = 0; i < jobs; ++i) {
      js.push_back(create_in_status(*db, job_status::running));
    }
    for (int i = 0; i < jobs; ++i) {
      for (int w = 0; w < waiters; ++w) {
        const int slot = i * waiters + w;
        async_wait(
            *db, ref_of(js[i]), wait_condition::terminal(), long_timeout,
            asio::bind_executor(runner.io, [&, slot, id = js[i].id](
                                               error_code ec, wait_result r) {
              calls[slot].fetch_add(1);
              if (ec || r.timed_out || r.job.id != id ||
                  !is_terminal(r.job.status)) {
                ++bad;
              }
              if (!runner.on_runner_thread()) ++off_runner;
              if (total.fetch_add(1) + 1 == jobs * waiters) {
                std::lock_guard lock(m);
                cv.notify_all();
              }
            }));
      }
    }
    std::vector<std::thread> threads;
    for (int t = 0; t < completers; ++t) {
      threads.emplace_back([&, t] {
        for (int i = t; i < jobs; i += completers) {
          auto r = i % 2 == 0 ? db->complete(ref_of(js[i]), succeeded())
                              : db->cancel(ref_of(js[i]), "enough");
          if (!r) ++bad;
        }
      });
    }
    for (auto& t : threads) t.join();
    {
      std::unique_lock lock(m);
      ASSERT_TRUE(cv.wait_for(lock, hang_guard,
                              [&] { return total.load() >= jobs * waiters; }))
          << total.load() << " of " << jobs * waiters << " completed";
    }
    EXPECT_EQ(bad.load(), 0);
    EXPECT_EQ(off_runner.load(), 0);
    EXPECT_EQ(waits_pending(*db), 0u);
    db.close();
  }  // The runner joins its threads: every handler queued has run.
  EXPECT_EQ(total.load(), jobs * waiters);
  int twice = 0;
  for (auto& c : calls) {
    if (c.load() != 1) ++twice;
  }
  EXPECT_EQ(twice, 0);
}

// ---------------------------------------------------------------- shutdown

TEST(AsyncShutdown, DestroyingTheEngineAbortsEveryPendingOperation) {
  asio::io_context io;
  test_engine db;
  std::vector<job> js;
  for (int i = 0; i < 10; ++i) {
    js.push_back(create_in_status(*db, job_status::running));
  }
  std::vector<std::shared_ptr<wait_outcome>> waits;
  for (int i = 0; i < 100; ++i) {
    auto o = std::make_shared<wait_outcome>();
    async_wait(*db, ref_of(js[i % js.size()]),
               i % 3 == 0
                   ? wait_condition::changed_after(js[i % js.size()].revision)
                   : wait_condition::terminal(),
               i % 2 == 0 ? wait_forever : long_timeout,
               asio::bind_executor(io, test::recorder(o)));
    waits.push_back(o);
  }
  const std::uint64_t last = db->last_sequence().value();
  std::vector<std::shared_ptr<watch_outcome>> watches;
  for (int i = 0; i < 10; ++i) {
    auto o = std::make_shared<watch_outcome>();
    watch_request r = watch_from(last);
    if (i % 2 == 1) r.account_id = "acme";
    if (i % 5 == 0) r.bookmark_after = wait_forever;
    async_watch(*db, r, asio::bind_executor(io, test::recorder(o)));
    watches.push_back(o);
  }
  EXPECT_EQ(waits_pending(*db), 100u);

  db.close();
  // The completions wait for the handlers' executor.
  for (const auto& o : waits) EXPECT_EQ(o->calls(), 0);

  auto running = test::run_in_background(io);
  const bool returned = ready_within(running);
  if (!returned) io.stop();
  running.get();
  EXPECT_TRUE(returned) << "io_context::run() did not return after shutdown";
  int wrong = 0;
  for (const auto& o : waits) {
    if (o->calls() != 1 || o->ec() != aborted) ++wrong;
  }
  EXPECT_EQ(wrong, 0) << "of 100 waits";
  wrong = 0;
  for (const auto& o : watches) {
    if (o->calls() != 1 || o->ec() != aborted) ++wrong;
  }
  EXPECT_EQ(wrong, 0) << "of 10 watches";
}

TEST(AsyncShutdown, WhileTheHandlersExecutorRunsOnSeveralThreads) {
  io_runner runner(2);
  test_engine db;
  std::vector<job> js;
  for (int i = 0; i < 10; ++i) {
    js.push_back(create_in_status(*db, job_status::running));
  }
  std::vector<std::shared_ptr<wait_outcome>> waits;
  for (int i = 0; i < 100; ++i) {
    auto o = std::make_shared<wait_outcome>();
    async_wait(*db, ref_of(js[i % js.size()]), wait_condition::terminal(),
               i % 2 == 0 ? wait_forever : long_timeout,
               asio::bind_executor(runner.io, test::recorder(o)));
    waits.push_back(o);
  }
  std::vector<std::shared_ptr<watch_outcome>> watches;
  for (int i = 0; i < 10; ++i) {
    auto o = std::make_shared<watch_outcome>();
    async_watch(*db, watch_from(db->last_sequence().value()),
                asio::bind_executor(runner.io, test::recorder(o)));
    watches.push_back(o);
  }
  // Some complete normally while the engine shuts down.
  ASSERT_TRUE(ok(db->complete(ref_of(js[0]), succeeded())));
  db.close();
  ASSERT_TRUE(test::eventually([&] {
    for (const auto& o : waits) {
      if (!o->done()) return false;
    }
    for (const auto& o : watches) {
      if (!o->done()) return false;
    }
    return true;
  }));
  int wrong = 0;
  for (std::size_t i = 0; i < waits.size(); ++i) {
    const auto& o = waits[i];
    const bool completed_by_commit = i % js.size() == 0;
    if (o->calls() != 1) ++wrong;
    if (completed_by_commit) {
      if (o->ec()) ++wrong;
    } else if (o->ec() != aborted) {
      ++wrong;
    }
  }
  EXPECT_EQ(wrong, 0);
  for (const auto& o : watches) {
    EXPECT_EQ(o->calls(), 1);
    // Each saw the completion commit, or was aborted.
    if (o->ec()) {
      EXPECT_EQ(o->ec(), aborted);
    } else {
      EXPECT_EQ(o->value().changes.size(), 1u);
    }
  }
}

}  // namespace
}  // namespace jobstate
