// Waiting for a job: each condition (terminal, changed_after, status_in),
// answers known at once, timeouts (0, finite, wait_forever), not_found, gone
// (also when the job is purged while waited on), malformed refs, and
// shutdown. Every behaviour is checked through both doors: the blocking
// engine::wait and async_wait with a plain callback.
#include <jobstate/async.hpp>
#include <jobstate/jobstate.hpp>

#include "support/jobs.hpp"
#include "support/test_engine.hpp"
#include "support/waits.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace jobstate {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

using test::completion_for;
using test::create_in_status;
using test::create_job;
using test::failed_with;
using test::hang_guard;
using test::is_ready;
using test::long_timeout;
using test::ok;
using test::ready_within;
using test::ref_of;
using test::test_engine;
using test::waits_pending;

enum class door { blocking, async };

progress percent(double p) {
  progress pr;
  pr.percent = p;
  return pr;
}

// Passes when `r` is a successful wait whose snapshot is exactly what a get
// returns now, with the expected timed_out flag.
::testing::AssertionResult latest(const result<wait_result>& r, const engine& e,
                                  const job_ref& ref, bool timed_out) {
  if (!r) {
    return ::testing::AssertionFailure()
           << "the wait failed with \"" << r.error().message() << "\" ("
           << r.code() << ")";
  }
  if (r->timed_out != timed_out) {
    return ::testing::AssertionFailure()
           << "timed_out is " << r->timed_out << ", expected " << timed_out;
  }
  auto now = e.get(ref);
  if (!now) {
    return ::testing::AssertionFailure()
           << "get failed: " << now.error().message();
  }
  if (r->job != *now) {
    return ::testing::AssertionFailure()
           << "the snapshot is not the latest job:\n  wait: "
           << ::testing::PrintToString(r->job)
           << "\n  get:  " << ::testing::PrintToString(*now);
  }
  return ::testing::AssertionSuccess();
}

class Wait : public ::testing::TestWithParam<door> {
 protected:
  // Starts a wait. When this returns the wait is registered with the engine
  // (or already answered), so that changes made afterwards concern it.
  std::future<result<wait_result>> start(const job_ref& ref,
                                         wait_condition condition,
                                         milliseconds timeout) {
    if (GetParam() == door::async) {
      auto answer = std::make_shared<std::promise<result<wait_result>>>();
      auto calls = std::make_shared<std::atomic<int>>(0);
      auto f = answer->get_future();
      async_wait(*db_, ref, condition, timeout,
                 [answer, calls](boost::system::error_code ec, wait_result r) {
                   if (calls->fetch_add(1) != 0) {
                     ADD_FAILURE() << "a wait completed twice";
                     return;
                   }
                   if (ec) {
                     answer->set_value(error(std::error_code(ec)));
                   } else {
                     answer->set_value(std::move(r));
                   }
                 });
      return f;
    }
    const std::size_t before = waits_pending(*db_);
    engine* e = &*db_;  // Read here: the test may close db_ meanwhile.
    auto f = std::async(std::launch::async, [e, ref, condition, timeout] {
      return e->wait(ref, condition, timeout);
    });
    EXPECT_TRUE(test::eventually([&] {
      return waits_pending(*db_) > before || is_ready(f);
    })) << "the blocking wait never registered";
    return f;
  }

  // The wait's answer, failing (rather than hanging) when it never comes.
  static result<wait_result> answer(std::future<result<wait_result>>& f) {
    if (!ready_within(f)) {
      ADD_FAILURE() << "the wait did not complete within " << hang_guard.count()
                    << " ms";
      return error(errc::io_error, "no answer (test hang guard)");
    }
    return f.get();
  }

  test_engine db_;
};

std::string door_name(const ::testing::TestParamInfo<door>& info) {
  return info.param == door::blocking ? "Blocking" : "Async";
}

INSTANTIATE_TEST_SUITE_P(Doors, Wait,
                         ::testing::Values(door::blocking, door::async),
                         door_name);

// ------------------------------------------------------------- terminal

TEST_P(Wait, TerminalCompletesOnEveryTerminalStatus) {
  for (job_status s : {job_status::succeeded, job_status::partially_succeeded,
                       job_status::failed}) {
    SCOPED_TRACE(std::string(to_string(s)));
    const job j = create_in_status(*db_, job_status::running);
    auto f = start(ref_of(j), wait_condition::terminal(), long_timeout);
    EXPECT_FALSE(is_ready(f));
    ASSERT_TRUE(ok(db_->complete(ref_of(j), completion_for(s))));
    const auto r = answer(f);
    ASSERT_TRUE(latest(r, *db_, ref_of(j), false));
    EXPECT_EQ(r->job.status, s);
  }
  for (job_status from : {job_status::pending, job_status::running}) {
    SCOPED_TRACE("cancelled from " + std::string(to_string(from)));
    const job j = create_in_status(*db_, from);
    auto f = start(ref_of(j), wait_condition::terminal(), long_timeout);
    ASSERT_TRUE(ok(db_->cancel(ref_of(j), "no longer needed")));
    const auto r = answer(f);
    ASSERT_TRUE(latest(r, *db_, ref_of(j), false));
    EXPECT_EQ(r->job.status, job_status::cancelled);
  }
}

TEST_P(Wait, TerminalIgnoresChangesThatAreNotTerminal) {
  const job j = create_job(*db_);
  auto terminal = start(ref_of(j), wait_condition::terminal(), long_timeout);
  // Completes with the second change: once it has, the engine has judged
  // both changes for every waiter of the job.
  auto probe = start(ref_of(j), wait_condition::changed_after(j.revision + 1),
                     long_timeout);
  ASSERT_TRUE(ok(db_->start(ref_of(j))));
  ASSERT_TRUE(ok(db_->report_progress(ref_of(j), percent(40))));
  const auto p = answer(probe);
  ASSERT_TRUE(latest(p, *db_, ref_of(j), false));
  EXPECT_FALSE(is_ready(terminal)) << "completed by start or progress";

  ASSERT_TRUE(ok(db_->complete(ref_of(j), completion_for(job_status::failed))));
  const auto r = answer(terminal);
  ASSERT_TRUE(latest(r, *db_, ref_of(j), false));
  EXPECT_EQ(r->job.status, job_status::failed);
  ASSERT_TRUE(r->job.error.has_value());
  EXPECT_EQ(r->job.error->code, "parse_error");
}

// --------------------------------------------------------- changed_after

TEST_P(Wait, ChangedAfterCompletesOnTheNextChange) {
  const job j = create_in_status(*db_, job_status::running);
  auto f =
      start(ref_of(j), wait_condition::changed_after(j.revision), long_timeout);
  EXPECT_FALSE(is_ready(f));
  ASSERT_TRUE(ok(db_->report_progress(ref_of(j), percent(25))));
  const auto r = answer(f);
  ASSERT_TRUE(latest(r, *db_, ref_of(j), false));
  EXPECT_EQ(r->job.revision, j.revision + 1);
  EXPECT_EQ(r->job.status, job_status::running);
  EXPECT_EQ(r->job.progress.percent, 25.0);
}

TEST_P(Wait, ChangedAfterTellsAWorkerOfCancellation) {
  const job j = create_in_status(*db_, job_status::running);
  auto f =
      start(ref_of(j), wait_condition::changed_after(j.revision), long_timeout);
  std::thread canceller(
      [&] { EXPECT_TRUE(ok(db_->cancel(ref_of(j), "the user gave up"))); });
  const auto r = answer(f);
  canceller.join();
  ASSERT_TRUE(latest(r, *db_, ref_of(j), false));
  EXPECT_EQ(r->job.status, job_status::cancelled);
  ASSERT_TRUE(r->job.error.has_value());
  EXPECT_EQ(r->job.error->message, "the user gave up");
}

TEST_P(Wait, ChangedAfterAnOlderRevisionHoldsAtOnce) {
  const job j = create_in_status(*db_, job_status::running);
  for (std::uint64_t rev = 0; rev < j.revision; ++rev) {
    SCOPED_TRACE("changed_after(" + std::to_string(rev) + ")");
    auto f = start(ref_of(j), wait_condition::changed_after(rev), long_timeout);
    ASSERT_TRUE(latest(answer(f), *db_, ref_of(j), false));
  }
}

// ------------------------------------------------------------- status_in

TEST_P(Wait, StatusInCompletesOnAListedStatus) {
  const job j = create_job(*db_);
  auto running =
      start(ref_of(j), wait_condition::status_in({job_status::running}),
            long_timeout);
  auto bad_end = start(
      ref_of(j),
      wait_condition::status_in({job_status::failed, job_status::cancelled}),
      long_timeout);
  EXPECT_FALSE(is_ready(running));
  ASSERT_TRUE(ok(db_->start(ref_of(j))));
  const auto r = answer(running);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->job.status, job_status::running);
  EXPECT_FALSE(r->timed_out);

  auto probe = start(ref_of(j), wait_condition::changed_after(j.revision + 1),
                     long_timeout);
  ASSERT_TRUE(ok(db_->report_progress(ref_of(j), percent(90))));
  ASSERT_TRUE(answer(probe));
  EXPECT_FALSE(is_ready(bad_end));

  ASSERT_TRUE(ok(db_->complete(ref_of(j), completion_for(job_status::failed))));
  const auto end = answer(bad_end);
  ASSERT_TRUE(latest(end, *db_, ref_of(j), false));
  EXPECT_EQ(end->job.status, job_status::failed);
}

TEST_P(Wait, StatusInNeverReachedTimesOutWithTheLatestJob) {
  const job j = create_job(*db_);
  auto f =
      start(ref_of(j), wait_condition::status_in({job_status::running}), 500ms);
  // Cancelled straight from pending: the job never runs.
  ASSERT_TRUE(ok(db_->cancel(ref_of(j), "skipped")));
  const auto r = answer(f);
  ASSERT_TRUE(latest(r, *db_, ref_of(j), true));
  EXPECT_EQ(r->job.status, job_status::cancelled);
  EXPECT_EQ(r->job.revision, j.revision + 1);
}

TEST_P(Wait, SeveralConditionsOnOneJob) {
  const job j = create_job(*db_);
  auto terminal = start(ref_of(j), wait_condition::terminal(), long_timeout);
  auto running =
      start(ref_of(j), wait_condition::status_in({job_status::running}),
            long_timeout);
  auto changed =
      start(ref_of(j), wait_condition::changed_after(j.revision), long_timeout);
  auto pending =
      start(ref_of(j), wait_condition::status_in({job_status::pending}),
            long_timeout);
  ASSERT_TRUE(latest(answer(pending), *db_, ref_of(j), false));

  ASSERT_TRUE(ok(db_->start(ref_of(j))));
  const auto r1 = answer(running);
  const auto r2 = answer(changed);
  ASSERT_TRUE(latest(r1, *db_, ref_of(j), false));
  ASSERT_TRUE(latest(r2, *db_, ref_of(j), false));
  EXPECT_EQ(r1->job.status, job_status::running);
  EXPECT_FALSE(is_ready(terminal));

  ASSERT_TRUE(
      ok(db_->complete(ref_of(j), completion_for(job_status::succeeded))));
  const auto r3 = answer(terminal);
  ASSERT_TRUE(latest(r3, *db_, ref_of(j), false));
  EXPECT_EQ(r3->job.status, job_status::succeeded);
}

TEST_P(Wait, ManyWaitersOnOneJobEachCompleteOnce) {
  const job j = create_in_status(*db_, job_status::running);
  std::vector<std::future<result<wait_result>>> waits;
  for (int i = 0; i < 40; ++i) {
    waits.push_back(start(ref_of(j), wait_condition::terminal(), long_timeout));
  }
  ASSERT_TRUE(
      ok(db_->complete(ref_of(j), completion_for(job_status::succeeded))));
  for (auto& f : waits) {
    const auto r = answer(f);
    ASSERT_TRUE(latest(r, *db_, ref_of(j), false));
  }
  EXPECT_EQ(waits_pending(*db_), 0u);
}

// ------------------------------------------------ answers known at once

TEST_P(Wait, AlreadySatisfiedCompletesAtOnce) {
  const job done = create_in_status(*db_, job_status::succeeded);
  const job pending = create_job(*db_);
  struct item {
    const char* what;
    job_ref ref;
    wait_condition condition;
  };
  const std::vector<item> items = {
      {"terminal on a succeeded job", ref_of(done), wait_condition::terminal()},
      {"status_in(succeeded)", ref_of(done),
       wait_condition::status_in({job_status::succeeded})},
      {"status_in(pending) on a pending job", ref_of(pending),
       wait_condition::status_in({job_status::pending, job_status::running})},
      {"changed_after(0)", ref_of(pending), wait_condition::changed_after(0)},
  };
  for (const auto& it : items) {
    SCOPED_TRACE(it.what);
    // The timeout is far beyond the hang guard: only an answer given at once
    // (not a timeout) can arrive in time.
    auto f = start(it.ref, it.condition, long_timeout);
    ASSERT_TRUE(latest(answer(f), *db_, it.ref, false));
  }
  EXPECT_EQ(waits_pending(*db_), 0u);
}

// --------------------------------------------------------------- timeouts

TEST_P(Wait, TimeoutIsNotAnErrorAndCarriesTheLatestJob) {
  job j = create_in_status(*db_, job_status::running);
  j = db_->report_progress(ref_of(j), percent(60)).value();
  const auto began = std::chrono::steady_clock::now();
  auto f = start(ref_of(j), wait_condition::terminal(), 150ms);
  const auto r = answer(f);
  const auto waited = std::chrono::steady_clock::now() - began;
  ASSERT_TRUE(r) << "a timeout must not be an error: " << r.error().message();
  EXPECT_TRUE(r->timed_out);
  // The full latest job, never an empty or partial one.
  EXPECT_EQ(r->job.id, j.id);
  EXPECT_EQ(r->job.account_id, j.account_id);
  EXPECT_EQ(r->job.status, job_status::running);
  EXPECT_EQ(r->job.revision, j.revision);
  EXPECT_EQ(r->job.progress.percent, 60.0);
  EXPECT_EQ(r->job, j);
  EXPECT_TRUE(latest(r, *db_, ref_of(j), true));
  // A lower bound only: no timer fires early.
  EXPECT_GE(waited, 150ms);
}

TEST_P(Wait, TimeoutCarriesChangesMadeWhileWaiting) {
  const job j = create_in_status(*db_, job_status::running);
  auto f = start(ref_of(j), wait_condition::terminal(), 600ms);
  ASSERT_TRUE(ok(db_->report_progress(ref_of(j), percent(10))));
  ASSERT_TRUE(ok(db_->report_progress(ref_of(j), percent(20))));
  const auto r = answer(f);
  ASSERT_TRUE(latest(r, *db_, ref_of(j), true));
  EXPECT_EQ(r->job.revision, j.revision + 2);
  EXPECT_EQ(r->job.progress.percent, 20.0);
}

TEST_P(Wait, ZeroTimeoutChecksOnce) {
  const job running = create_in_status(*db_, job_status::running);
  const job done = create_in_status(*db_, job_status::succeeded);
  {
    SCOPED_TRACE("holds");
    auto f = start(ref_of(done), wait_condition::terminal(), 0ms);
    ASSERT_TRUE(latest(answer(f), *db_, ref_of(done), false));
  }
  {
    SCOPED_TRACE("does not hold: a timeout with the job");
    auto f = start(ref_of(running), wait_condition::terminal(), 0ms);
    const auto r = answer(f);
    ASSERT_TRUE(latest(r, *db_, ref_of(running), true));
    EXPECT_EQ(r->job, running);
  }
  {
    SCOPED_TRACE("missing");
    const job_ref missing{running.account_id, running.project_id,
                          job_id::generate()};
    auto f = start(missing, wait_condition::terminal(), 0ms);
    EXPECT_TRUE(failed_with(answer(f), errc::not_found));
  }
  {
    SCOPED_TRACE("purged");
    ASSERT_TRUE(ok(db_->purge(purge_request{0s})));
    auto f = start(ref_of(done), wait_condition::terminal(), 0ms);
    EXPECT_TRUE(failed_with(answer(f), errc::gone));
  }
  EXPECT_EQ(waits_pending(*db_), 0u);
}

TEST_P(Wait, WaitForeverWaitsUntilTheConditionHolds) {
  const job j = create_in_status(*db_, job_status::running);
  auto f = start(ref_of(j), wait_condition::terminal(), wait_forever);
  auto probe =
      start(ref_of(j), wait_condition::changed_after(j.revision), long_timeout);
  ASSERT_TRUE(ok(db_->report_progress(ref_of(j), percent(50))));
  ASSERT_TRUE(answer(probe));
  // wait_forever is no deadline at all (not, say, an overflowed one).
  EXPECT_EQ(f.wait_for(100ms), std::future_status::timeout);
  ASSERT_TRUE(
      ok(db_->complete(ref_of(j), completion_for(job_status::succeeded))));
  const auto r = answer(f);
  ASSERT_TRUE(latest(r, *db_, ref_of(j), false));
  EXPECT_EQ(r->job.status, job_status::succeeded);
}

TEST_P(Wait, EngineShutdownEndsPendingWaits) {
  const job j = create_in_status(*db_, job_status::running);
  auto forever = start(ref_of(j), wait_condition::terminal(), wait_forever);
  auto timed = start(ref_of(j), wait_condition::terminal(), long_timeout);
  db_.close();
  for (auto* f : {&forever, &timed}) {
    const auto r = answer(*f);
    if (GetParam() == door::blocking) {
      EXPECT_TRUE(failed_with(r, errc::engine_closed));
    } else {
      ASSERT_FALSE(r);
      EXPECT_EQ(r.code(), std::error_code(boost::system::error_code(
                              asio::error::operation_aborted)))
          << r.error().message();
    }
  }
}

// ------------------------------------------------------ not_found and gone

TEST_P(Wait, MissingJobIsNotFound) {
  const job j = create_in_status(*db_, job_status::running);
  const std::vector<job_ref> refs = {
      {j.account_id, j.project_id, job_id::generate()},
      {"another-account", j.project_id, j.id},  // Another tenancy: as missing.
      {j.account_id, "another-project", j.id},
  };
  for (const auto& ref : refs) {
    SCOPED_TRACE(ref.account_id + "/" + ref.project_id + "/" +
                 ref.id.to_string());
    auto f = start(ref, wait_condition::terminal(), long_timeout);
    EXPECT_TRUE(failed_with(answer(f), errc::not_found));
  }
  EXPECT_EQ(waits_pending(*db_), 0u);
}

TEST_P(Wait, PurgedJobIsGone) {
  const job j = create_in_status(*db_, job_status::succeeded);
  ASSERT_TRUE(ok(db_->purge(purge_request{0s})));
  auto f = start(ref_of(j), wait_condition::terminal(), long_timeout);
  EXPECT_TRUE(failed_with(answer(f), errc::gone));
}

TEST_P(Wait, PurgeWhileWaitingCompletesWithGone) {
  const job j = create_in_status(*db_, job_status::succeeded);
  // Conditions a terminal job can never meet again: only the purge ends them.
  auto changed =
      start(ref_of(j), wait_condition::changed_after(j.revision), long_timeout);
  auto pending =
      start(ref_of(j), wait_condition::status_in({job_status::pending}),
            long_timeout);
  EXPECT_FALSE(is_ready(changed));
  EXPECT_FALSE(is_ready(pending));
  const auto purged = db_->purge(purge_request{0s});
  ASSERT_TRUE(ok(purged));
  ASSERT_EQ(purged->purged, 1u);
  EXPECT_TRUE(failed_with(answer(changed), errc::gone));
  EXPECT_TRUE(failed_with(answer(pending), errc::gone));
  EXPECT_EQ(waits_pending(*db_), 0u);
}

TEST_P(Wait, MalformedRefIsInvalidArgument) {
  const job j = create_in_status(*db_, job_status::running);
  const std::vector<std::pair<const char*, job_ref>> refs = {
      {"empty account", {"", j.project_id, j.id}},
      {"empty project", {j.account_id, "", j.id}},
      {"nil id", {j.account_id, j.project_id, job_id{}}},
  };
  for (const auto& [what, ref] : refs) {
    SCOPED_TRACE(what);
    auto f = start(ref, wait_condition::terminal(), long_timeout);
    EXPECT_TRUE(failed_with(answer(f), errc::invalid_argument));
  }
  EXPECT_EQ(waits_pending(*db_), 0u);
}

// An id past limits::max_id_size is refused exactly as get refuses it.
TEST_P(Wait, OversizedRefIsRefusedAsGetRefusesIt) {
  const job j = create_in_status(*db_, job_status::running);
  const std::string too_long(db_->options().limits.max_id_size + 1, 'a');
  for (const job_ref& ref : {job_ref{too_long, j.project_id, j.id},
                             job_ref{j.account_id, too_long, j.id}}) {
    const auto got = db_->get(ref);
    ASSERT_FALSE(got);
    auto f = start(ref, wait_condition::terminal(), long_timeout);
    const auto r = answer(f);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.code(), got.code()) << r.error().message();
  }
  EXPECT_EQ(waits_pending(*db_), 0u);
}

// --------------------------------------------- async-only properties

// The answer is known when async_wait is called, yet the handler must run
// later, never inside the initiating call.
TEST(AsyncWaitAnswerKnownAtOnce, NeverCompletesInsideTheInitiatingCall) {
  asio::io_context io;  // Outlives the engine.
  test_engine db;
  const job running = create_in_status(*db, job_status::running);
  const job purged = create_in_status(*db, job_status::failed);
  ASSERT_TRUE(ok(db->purge(purge_request{0s})));
  const job done = create_in_status(*db, job_status::succeeded);
  struct item {
    const char* what;
    job_ref ref;
    wait_condition condition;
    milliseconds timeout;
  };
  const std::vector<item> items = {
      {"already satisfied", ref_of(done), wait_condition::terminal(),
       long_timeout},
      {"timeout 0, satisfied", ref_of(done), wait_condition::terminal(), 0ms},
      {"timeout 0, not satisfied", ref_of(running), wait_condition::terminal(),
       0ms},
      {"not found",
       {running.account_id, running.project_id, job_id::generate()},
       wait_condition::terminal(),
       long_timeout},
      {"gone", ref_of(purged), wait_condition::terminal(), long_timeout},
      {"invalid",
       {"", "", running.id},
       wait_condition::terminal(),
       long_timeout},
  };
  for (const auto& it : items) {
    SCOPED_TRACE(it.what);
    {
      // A handler with the default (system) executor: it may run on any
      // thread, but not on this one while async_wait is still running.
      std::atomic<bool> in_call{true};
      const auto caller = std::this_thread::get_id();
      auto ran_inside = std::make_shared<std::atomic<int>>(-1);
      auto finished = std::make_shared<std::promise<void>>();
      auto f = finished->get_future();
      async_wait(*db, it.ref, it.condition, it.timeout,
                 [&in_call, finished, caller, ran_inside](
                     boost::system::error_code, wait_result) {
                   ran_inside->store(in_call.load() &&
                                     std::this_thread::get_id() == caller);
                   finished->set_value();
                 });
      in_call = false;
      ASSERT_TRUE(ready_within(f));
      EXPECT_EQ(ran_inside->load(), 0) << "the handler ran inside async_wait";
    }
    {
      // A handler bound to an io_context: a flag set just after async_wait
      // returns is already set when the handler runs.
      bool returned = false;
      int seen_returned = -1;
      async_wait(
          *db, it.ref, it.condition, it.timeout,
          asio::bind_executor(io, [&](boost::system::error_code, wait_result) {
            seen_returned = returned ? 1 : 0;
          }));
      returned = true;
      ASSERT_TRUE(test::run_until(io, [&] { return seen_returned != -1; }));
      EXPECT_EQ(seen_returned, 1) << "the handler ran inside async_wait";
    }
  }
}

// A wait in another tenancy must answer not_found, even when the job is
// changing while the wait registers: it must never be handed the job.
TEST(AsyncWaitTenancy, AWaitInAnotherTenancyNeverSeesTheJob) {
  test_engine db;
  const job j = create_in_status(*db, job_status::running);
  std::atomic<bool> stop{false};
  std::thread changer([&] {
    for (int i = 0; !stop.load(); ++i) {
      if (!db->report_progress(ref_of(j), percent(i % 100))) break;
    }
  });
  const job_ref foreign{"intruder", j.project_id, j.id};
  std::vector<std::shared_ptr<test::wait_outcome>> outcomes;
  for (int i = 0; i < 400; ++i) {
    auto o = std::make_shared<test::wait_outcome>();
    async_wait(*db, foreign, wait_condition::changed_after(0), long_timeout,
               test::recorder(o));
    outcomes.push_back(o);
  }
  const bool all = test::eventually([&] {
    for (const auto& o : outcomes) {
      if (!o->done()) return false;
    }
    return true;
  });
  stop = true;
  changer.join();
  ASSERT_TRUE(all) << "some waits never completed";
  int leaked = 0;
  for (const auto& o : outcomes) {
    EXPECT_EQ(o->calls(), 1);
    if (!test::carries(o->ec(), errc::not_found)) {
      ++leaked;
      if (leaked <= 3) {
        ADD_FAILURE() << "a wait in account \"intruder\" completed with \""
                      << o->ec().message() << "\" and job "
                      << ::testing::PrintToString(o->value().job);
      }
    }
  }
  EXPECT_EQ(leaked, 0) << "of " << outcomes.size() << " waits";
}

}  // namespace
}  // namespace jobstate
