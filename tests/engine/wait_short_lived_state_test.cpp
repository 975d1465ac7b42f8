// A wait is satisfied by any change committed after it began that meets its
// condition, even one that a later commit already left: waits for `running`
// on jobs that are started and at once completed, with both commits in one
// batch, in consecutive batches, and in another process. Regression: the
// waiter judged the job as it was when the notification was read, so most
// such waits timed out with the job already succeeded.
#include <jobstate/async.hpp>
#include <jobstate/jobstate.hpp>

#include "support/jobs.hpp"
#include "support/test_engine.hpp"
#include "support/waits.hpp"
#include "support/writer_process.hpp"

#include <boost/asio/bind_executor.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace jobstate {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

using test::completion_for;
using test::create_job;
using test::ref_of;
using test::test_engine;

constexpr int waiter_count = 100;
// Long enough never to pass on a loaded machine; a wait that misses the
// state would only return at its end.
constexpr std::chrono::milliseconds wait_timeout = 20s;

const wait_condition running = wait_condition::status_in({job_status::running});

// What each waiter got back.
struct answers {
  std::mutex mutex;
  std::vector<std::optional<result<wait_result>>> got{waiter_count};
  std::atomic<int> answered{0};
  void set(int i, result<wait_result> r) {
    {
      std::lock_guard lock(mutex);
      got[i] = std::move(r);
    }
    ++answered;
  }
};

std::vector<job> make_jobs(engine& e) {
  std::vector<job> jobs;
  for (int i = 0; i < waiter_count; ++i) jobs.push_back(create_job(e));
  return jobs;
}

// An asynchronous wait for running on each job, answered into `a` on `io`;
// returns once all are pending.
void start_async_waiters(engine& e, const std::vector<job>& jobs,
                         asio::io_context& io, answers& a) {
  for (int i = 0; i < waiter_count; ++i) {
    async_wait(e, ref_of(jobs[i]), running, wait_timeout,
               asio::bind_executor(
                   io, [&a, i](boost::system::error_code ec, wait_result r) {
                     a.set(i, ec ? result<wait_result>(error(ec))
                                 : result<wait_result>(std::move(r)));
                   }));
  }
  ASSERT_TRUE(test::eventually([&] {
    return test::waits_pending(e) == static_cast<std::size_t>(waiter_count);
  }));
}

// Every waiter was answered, none timed out, and each was satisfied by the
// `started` revision (pending → running is the job's second revision).
void expect_all_saw_running(answers& a) {
  std::lock_guard lock(a.mutex);
  int timed_out = 0;
  for (int i = 0; i < waiter_count; ++i) {
    ASSERT_TRUE(a.got[i].has_value()) << "waiter " << i << " not answered";
    const auto& r = *a.got[i];
    ASSERT_TRUE(r.has_value()) << "waiter " << i << ": " << r.error().message();
    if (r->timed_out) {
      ++timed_out;
      continue;
    }
    EXPECT_EQ(r->satisfied_revision, 2u) << "waiter " << i;
    // The job as it was when the answer was read: still running (revision
    // 2) or already succeeded (3).
    EXPECT_GE(r->job.revision, 2u) << "waiter " << i;
    EXPECT_EQ(r->job.status, r->job.revision == 2 ? job_status::running
                                                  : job_status::succeeded)
        << "waiter " << i;
  }
  EXPECT_EQ(timed_out, 0) << "of " << waiter_count
                          << " waits for a running state that lasted one "
                             "commit";
}

// Blocking waiters, one thread each, on jobs then started and completed by
// blocking calls: two consecutive commits.
TEST(WaitShortLivedState, BlockingWaitersConsecutiveCommits) {
  test_engine db;
  const auto jobs = make_jobs(*db);
  answers a;
  std::vector<std::thread> waiters;
  for (int i = 0; i < waiter_count; ++i) {
    waiters.emplace_back(
        [&, i] { a.set(i, db->wait(ref_of(jobs[i]), running, wait_timeout)); });
  }
  ASSERT_TRUE(test::eventually([&] {
    return test::waits_pending(*db) == static_cast<std::size_t>(waiter_count);
  }));
  for (const job& j : jobs) {
    ASSERT_TRUE(db->start(ref_of(j)).has_value());
    ASSERT_TRUE(db->complete(ref_of(j), completion_for(job_status::succeeded))
                    .has_value());
  }
  for (auto& t : waiters) t.join();
  expect_all_saw_running(a);
}

// Asynchronous waiters; the start and the completion of each job are queued
// back to back, so the committer applies both in one batch.
TEST(WaitShortLivedState, AsyncWaitersOneBatch) {
  test::io_runner runner;
  test_engine db;
  const auto jobs = make_jobs(*db);
  answers a;
  start_async_waiters(*db, jobs, runner.io, a);
  std::atomic<int> mutated{0};
  std::atomic<int> mutation_errors{0};
  auto count = [&](boost::system::error_code ec, job) {
    if (ec) ++mutation_errors;
    ++mutated;
  };
  for (const job& j : jobs) {
    async_start(*db, ref_of(j), mutation_options{}, count);
    async_complete(*db, ref_of(j), completion_for(job_status::succeeded),
                   mutation_options{}, count);
  }
  ASSERT_TRUE(test::eventually([&] { return mutated == 2 * waiter_count; }));
  EXPECT_EQ(mutation_errors, 0);
  ASSERT_TRUE(test::eventually([&] { return a.answered == waiter_count; },
                               wait_timeout + 5s));
  expect_all_saw_running(a);
}

// Waiters here; another process starts and at once completes each job.
TEST(WaitShortLivedState, AcrossProcesses) {
  test::io_runner runner;
  test_engine db;
  const auto jobs = make_jobs(*db);
  answers a;
  start_async_waiters(*db, jobs, runner.io, a);
  std::vector<std::string> args = {db.options().path, "run",
                                   std::string(test::account),
                                   std::string(test::project)};
  for (const job& j : jobs) args.push_back(j.id.to_string());
  const auto out = test::run_writer(args);
  ASSERT_EQ(out.exit_code, 0);
  ASSERT_TRUE(test::eventually([&] { return a.answered == waiter_count; },
                               wait_timeout + 5s));
  expect_all_saw_running(a);
}

// Only changes after the wait began count: a job that was running and has
// finished before the wait does not satisfy a wait for running.
TEST(WaitShortLivedState, EarlierStatesDoNotCount) {
  test_engine db;
  const job done = test::create_in_status(*db, job_status::succeeded);
  auto r = db->wait(ref_of(done), running, 200ms);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->satisfied_revision, 0u);
  EXPECT_EQ(r->job.status, job_status::succeeded);
}

// A wait already satisfied answers at once with the job's own revision.
TEST(WaitShortLivedState, SatisfiedAtOnceNamesTheCurrentRevision) {
  test_engine db;
  const job started = test::create_in_status(*db, job_status::running);
  auto r = db->wait(ref_of(started), running, 1s);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->satisfied_revision, started.revision);
}

}  // namespace
}  // namespace jobstate
