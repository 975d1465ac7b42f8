// Schedules, time limits and retries (docs/workers.md): run_after,
// pending_ttl, run_timeout and retry_policy, with a clock the tests move,
// and with the real one where the engine's own timers must act.
#include "model/schedules.hpp"

#include <jobstate/jobstate.hpp>

#include "support/jobs.hpp"
#include "support/temp_dir.hpp"
#include "support/waits.hpp"
#include "support/workers.hpp"
#include "support/writer_process.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <thread>

namespace jobstate {
namespace {

using namespace std::chrono_literals;
using test::claim_of;
using test::claim_one;
using test::clocked_engine;
using test::create_job;
using test::failed_with;
using test::make_request;
using test::ref_of;

create_request runs_after(timestamp at, std::string kind = "parse") {
  create_request r = make_request(std::move(kind));
  r.run_after = at;
  return r;
}

retry_policy retry_up_to(std::uint32_t attempts,
                         std::vector<std::string> codes = {}) {
  retry_policy p;
  p.max_attempts = attempts;
  p.initial_backoff = 10s;
  p.max_backoff = 60s;
  p.multiplier = 2.0;
  p.jitter = 0.0;
  p.retry_on = std::move(codes);
  return p;
}

completion failure(std::string code) {
  completion c;
  c.status = job_status::failed;
  c.error = job_error{std::move(code), "it broke"};
  return c;
}

// The jobs that rerun `original` (the lineage filter).
std::vector<job> reruns_of(const engine& e, const job& original) {
  list_query q = test::make_query();
  q.original_job_id = original.id;
  return test::list_all(e, q);
}

// The real time `later` from now, in the engine's precision.
timestamp real_time_in(std::chrono::milliseconds later) {
  return std::chrono::time_point_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now()) +
         later;
}

// `n` claims of kind "parse", each on a thread of its own, waiting (up to
// hang_guard) for a job; engaged() once every one waits.
class waiting_claims {
 public:
  waiting_claims(engine& e, int n) : e_(e), n_(n) {
    for (int i = 0; i < n; ++i) {
      threads_.emplace_back([this] {
        claim_request r = claim_of();
        r.wait = test::hang_guard;
        auto got = e_.claim(r);
        if (got.has_value() && got->has_value()) ++claimed_;
      });
    }
  }
  ~waiting_claims() { join(); }
  ::testing::AssertionResult engaged() {
    if (test::eventually([&] {
          return e_.stats().value().claims_pending ==
                 static_cast<std::size_t>(n_);
        })) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "the claims never all waited";
  }
  // How many took a job, once all have answered.
  int join() {
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    return claimed_.load();
  }

 private:
  engine& e_;
  const int n_;
  std::vector<std::thread> threads_;
  std::atomic<int> claimed_{0};
};

bool nothing_claimable(engine& e, const claim_request& r = claim_of()) {
  auto claimed = e.claim(r);
  return claimed.has_value() && !claimed->has_value();
}

// ------------------------------------------------------------ run_after

TEST(Schedules, AJobIsNotClaimableBeforeItsRunAfter) {
  clocked_engine t;
  engine& e = *t.db;
  const job j = create_job(e, runs_after(t.clock->now() + 1min));
  EXPECT_EQ(j.run_after, t.clock->now() + 1min);
  EXPECT_TRUE(nothing_claimable(e));
  t.clock->advance(59s);
  EXPECT_TRUE(nothing_claimable(e));
  t.clock->advance(1s);
  EXPECT_EQ(claim_one(e).id, j.id);
}

TEST(Schedules, ClaimsTakeJobsInTheOrderTheyBecomeClaimable) {
  clocked_engine t;
  engine& e = *t.db;
  const job later = create_job(e, runs_after(t.clock->now() + 2min));
  const job sooner = create_job(e, runs_after(t.clock->now() + 1min));
  const job past = create_job(e, runs_after(t.clock->now() - 1h));
  const job now = create_job(e);
  t.clock->advance(1h);
  // A run_after before the job's creation counts as its creation (the
  // clock stood still: all four were created at one time).
  EXPECT_EQ(claim_one(e).id, past.id);
  EXPECT_EQ(claim_one(e).id, now.id);
  EXPECT_EQ(claim_one(e).id, sooner.id);
  EXPECT_EQ(claim_one(e).id, later.id);
}

TEST(Schedules, AnEarlierKindIsTakenFirstAcrossKinds) {
  clocked_engine t;
  engine& e = *t.db;
  create_job(e, runs_after(t.clock->now() + 1min, "parse"));
  const job embed = create_job(e, make_request("embed"));
  t.clock->advance(1h);
  EXPECT_EQ(claim_one(e, claim_of({"parse", "embed"})).id, embed.id);
}

TEST(Schedules, StartIsNotHeldBackByRunAfter) {
  clocked_engine t;
  engine& e = *t.db;
  const job j = create_job(e, runs_after(t.clock->now() + 1h));
  const job started = e.start(ref_of(j)).value();
  EXPECT_EQ(started.status, job_status::running);
  EXPECT_TRUE(nothing_claimable(e));
}

TEST(Schedules, AWaitingClaimWakesWhenAJobBecomesClaimable) {
  test::test_engine db;
  engine& e = *db;
  const auto began = std::chrono::steady_clock::now();
  const job j = create_job(e, runs_after(real_time_in(300ms)));
  claim_request r = claim_of();
  r.wait = test::hang_guard;
  auto claimed = e.claim(r);
  ASSERT_TRUE(claimed.has_value()) << claimed.error().message();
  ASSERT_TRUE(claimed->has_value());
  EXPECT_EQ((*claimed)->id, j.id);
  EXPECT_GE(std::chrono::steady_clock::now() - began, 250ms);
}

TEST(Schedules, ClaimsAsleepBeforeADelayedJobWasCreatedWakeForIt) {
  test::test_engine db;
  engine& e = *db;
  constexpr int workers = 3;
  waiting_claims claims(e, workers);
  ASSERT_TRUE(claims.engaged());
  // Three jobs due at one time: each sleeper takes one.
  const auto at = real_time_in(200ms);
  for (int i = 0; i < workers; ++i) create_job(e, runs_after(at));
  EXPECT_EQ(claims.join(), workers);
}

TEST(Schedules, AClaimThatGivesUpHandsItsWakeUpOn) {
  // A, the oldest claim asleep, is woken by the delayed job's creation and
  // sleeps until it is due, but gives up before: B, asleep too, must not
  // sleep through it.
  test::test_engine db;
  engine& e = *db;
  std::thread a([&] {
    claim_request r = claim_of({"parse"}, 10s, "a");
    r.wait = 600ms;
    EXPECT_FALSE(e.claim(r).value().has_value());
  });
  ASSERT_TRUE(
      test::eventually([&] { return e.stats().value().claims_pending == 1; }));
  std::optional<job> got_by_b;
  std::thread b([&] {
    claim_request r = claim_of({"parse"}, 10s, "b");
    r.wait = test::hang_guard;
    auto got = e.claim(r);
    if (got.has_value() && got->has_value()) got_by_b = **got;
  });
  ASSERT_TRUE(
      test::eventually([&] { return e.stats().value().claims_pending == 2; }));
  const job j = create_job(e, runs_after(real_time_in(1500ms)));
  a.join();
  b.join();
  ASSERT_TRUE(got_by_b.has_value());
  EXPECT_EQ(got_by_b->id, j.id);
}

TEST(Schedules, AClaimThatLeavesJobsReadyWakesTheNextClaim) {
  // Three claims asleep; three jobs appear in one commit (a batch), which
  // wakes one claim: each claim that takes a job and sees another ready
  // wakes the next.
  test::test_engine db;
  engine& e = *db;
  constexpr int workers = 3;
  waiting_claims claims(e, workers);
  ASSERT_TRUE(claims.engaged());
  batch_request b;
  b.parent = make_request("parse");
  for (int i = 0; i < workers; ++i) {
    b.children.push_back(batch_child{"parse", nullptr, {}, {}});
  }
  e.create_batch(b).value();
  EXPECT_EQ(claims.join(), workers);
}

TEST(Schedules, ARunAfterMoreThanAYearAwayIsRefused) {
  clocked_engine t;
  EXPECT_TRUE(failed_with(
      t.db->create(runs_after(t.clock->now() + max_time_limit + 1ms)),
      errc::invalid_argument));
  EXPECT_TRUE(
      t.db->create(runs_after(t.clock->now() + max_time_limit)).has_value());
}

// ---------------------------------------------------------- pending_ttl

TEST(Schedules, AJobNotClaimedWithinItsPendingTtlIsCancelledAsExpired) {
  clocked_engine t;
  engine& e = *t.db;
  create_request r = make_request();
  r.pending_ttl = 30s;
  const job j = create_job(e, r);
  t.clock->advance(29s);
  EXPECT_EQ(e.expire_leases().value(), 0u);
  t.clock->advance(1s);
  EXPECT_EQ(e.expire_leases().value(), 1u);
  const job expired = e.get(ref_of(j)).value();
  EXPECT_EQ(expired.status, job_status::cancelled);
  ASSERT_TRUE(expired.error.has_value());
  EXPECT_EQ(expired.error->code, "expired");
  EXPECT_EQ(expired.history.back().step, "expired");
  EXPECT_EQ(expired.completed_at, t.clock->now());
  EXPECT_TRUE(nothing_claimable(e));
  EXPECT_EQ(e.expire_leases().value(), 0u);  // Exactly once.
}

TEST(Schedules, AClaimNeverTakesAJobPastItsPendingTtl) {
  // The expiry has not run yet: the claim cancels the job itself and takes
  // the next one.
  clocked_engine t;
  engine& e = *t.db;
  create_request r = make_request();
  r.pending_ttl = 30s;
  const job stale = create_job(e, r);
  const job fresh = create_job(e);
  t.clock->advance(1min);
  EXPECT_EQ(claim_one(e).id, fresh.id);
  const job expired = e.get(ref_of(stale)).value();
  EXPECT_EQ(expired.status, job_status::cancelled);
  EXPECT_EQ(expired.error->code, "expired");
  EXPECT_EQ(e.expire_leases().value(), 0u);
}

TEST(Schedules, OnePassEndsEveryJobDueHoweverMany) {
  // More than one commit's worth (256): the passes page through the index.
  clocked_engine t;
  engine& e = *t.db;
  create_request r = make_request();
  r.pending_ttl = 1s;
  constexpr std::size_t jobs = 600;
  for (std::size_t i = 0; i < jobs; ++i) create_job(e, r);
  t.clock->advance(1min);
  EXPECT_EQ(e.expire_leases().value(), jobs);
  list_query q = test::make_query(1000);
  q.status = job_status::cancelled;
  EXPECT_EQ(test::list_all(e, q).size(), jobs);
  EXPECT_EQ(e.expire_leases().value(), 0u);
}

TEST(Schedules, PendingTtlCountsFromRunAfter) {
  clocked_engine t;
  engine& e = *t.db;
  create_request r = runs_after(t.clock->now() + 1h);
  r.pending_ttl = 1min;
  const job j = create_job(e, r);
  t.clock->advance(1h);
  EXPECT_EQ(e.expire_leases().value(), 0u);
  t.clock->advance(1min);
  EXPECT_EQ(e.expire_leases().value(), 1u);
  EXPECT_EQ(e.get(ref_of(j)).value().error->code, "expired");
}

TEST(Schedules, AClaimedJobNoLongerExpiresAsPending) {
  clocked_engine t;
  engine& e = *t.db;
  create_request r = make_request();
  r.pending_ttl = 30s;
  const job j = create_job(e, r);
  claim_one(e, claim_of({"parse"}, 1h));
  t.clock->advance(1min);
  EXPECT_EQ(e.expire_leases().value(), 0u);
  EXPECT_EQ(e.get(ref_of(j)).value().status, job_status::running);
}

// ---------------------------------------------------------- run_timeout

TEST(Schedules, AJobRunningPastItsRunTimeoutFailsAsDeadlineExceeded) {
  clocked_engine t;
  engine& e = *t.db;
  create_request r = make_request();
  r.run_timeout = 5min;
  const job j = create_job(e, r);
  e.start(ref_of(j)).value();  // Started by hand: no lease.
  t.clock->advance(5min - 1ms);
  EXPECT_EQ(e.expire_leases().value(), 0u);
  t.clock->advance(1ms);
  EXPECT_EQ(e.expire_leases().value(), 1u);
  const job failed = e.get(ref_of(j)).value();
  EXPECT_EQ(failed.status, job_status::failed);
  EXPECT_EQ(failed.error->code, "deadline_exceeded");
  EXPECT_EQ(failed.history.back().step, "deadline_exceeded");
}

TEST(Schedules, HeartbeatsDoNotExtendTheRunTimeout) {
  clocked_engine t;
  engine& e = *t.db;
  create_request r = make_request();
  r.run_timeout = 1min;
  const job j = create_job(e, r);
  claim_one(e, claim_of({"parse"}, 30s));
  for (int i = 0; i < 5; ++i) {
    t.clock->advance(10s);
    ASSERT_TRUE(e.heartbeat(ref_of(j), test::fenced(1)).has_value());
  }
  t.clock->advance(10s);
  // The deadline passed: the lease is lost even before the expiry runs,
  // for every fenced write.
  EXPECT_TRUE(
      failed_with(e.heartbeat(ref_of(j), test::fenced(1)), errc::lease_lost));
  EXPECT_TRUE(failed_with(
      e.complete(ref_of(j), test::completion_for(job_status::succeeded),
                 test::fenced(1)),
      errc::lease_lost));
  EXPECT_EQ(e.get(ref_of(j)).value().status, job_status::running);
  EXPECT_EQ(e.expire_leases().value(), 1u);
  const job failed = e.get(ref_of(j)).value();
  EXPECT_EQ(failed.error->code, "deadline_exceeded");
  EXPECT_EQ(failed.history.back().epoch, 1u);
}

TEST(Schedules, ADeadlineThatPassedFirstDecidesOverALapsedLease) {
  clocked_engine t;
  engine& e = *t.db;
  create_request r = make_request();
  r.run_timeout = 1min;
  const job j = create_job(e, r);
  claim_one(e, claim_of({"parse"}, 2min));
  t.clock->advance(1h);
  EXPECT_EQ(e.expire_leases().value(), 1u);
  EXPECT_EQ(e.get(ref_of(j)).value().error->code, "deadline_exceeded");
}

TEST(Schedules, AJobThatEndsInTimeLeavesNoDeadlineBehind) {
  clocked_engine t;
  engine& e = *t.db;
  create_request r = make_request();
  r.run_timeout = 1min;
  r.pending_ttl = 1min;
  const job j = create_job(e, r);
  e.start(ref_of(j)).value();
  e.complete(ref_of(j), test::completion_for(job_status::succeeded)).value();
  t.clock->advance(1h);
  EXPECT_EQ(e.expire_leases().value(), 0u);
  EXPECT_EQ(e.get(ref_of(j)).value().status, job_status::succeeded);
}

TEST(Schedules, DeadlinesThatPassedWhileClosedApplyAtOpen) {
  clocked_engine t(/*automatic_expiry=*/true);
  create_request r = make_request();
  r.pending_ttl = 1min;
  const job j = create_job(*t.db, r);
  EXPECT_EQ(test::ended_after_reopen(t, j, 1h).error->code, "expired");
}

TEST(Schedules, TheEngineAppliesADeadlineOnItsOwnTimer) {
  test::test_engine db;
  create_request r = make_request();
  r.run_timeout = 200ms;
  const job j = create_job(*db, r);
  db->start(ref_of(j)).value();
  auto done = db->wait(ref_of(j), wait_condition::terminal(), test::hang_guard);
  ASSERT_TRUE(done.has_value()) << done.error().message();
  ASSERT_FALSE(done->timed_out);
  EXPECT_EQ(done->job.error->code, "deadline_exceeded");
}

TEST(Schedules, ADeadlineSetByAnotherProcessIsAppliedHere) {
  // The other process starts the job (its run_timeout begins) and exits:
  // this process's timer learns of the deadline from the commit.
  test::test_engine db;  // The real clock.
  create_request r = make_request();
  r.run_timeout = 300ms;
  const job j = create_job(*db, r);
  const auto out =
      test::run_writer({db.options().path, "start", std::string(test::account),
                        std::string(test::project), j.id.to_string()});
  ASSERT_EQ(out.exit_code, 0);
  auto done = db->wait(ref_of(j), wait_condition::terminal(), test::hang_guard);
  ASSERT_TRUE(done.has_value()) << done.error().message();
  ASSERT_FALSE(done->timed_out) << "the deadline was never applied";
  EXPECT_EQ(done->job.error->code, "deadline_exceeded");
}

TEST(Schedules, TwoProcessesApplyADeadlineOnce) {
  test::test_engine db;
  // The other process keeps its engine (and its expiry timer) open while
  // the pending_ttl runs out; either may cancel the job, once.
  test::writer_process other({db.options().path, "linger",
                              std::string(test::account),
                              std::string(test::project), "1500"});
  std::this_thread::sleep_for(200ms);
  create_request r = make_request();
  r.pending_ttl = 300ms;
  const job j = create_job(*db, r);
  auto done = db->wait(ref_of(j), wait_condition::terminal(), test::hang_guard);
  ASSERT_TRUE(done.has_value()) << done.error().message();
  ASSERT_FALSE(done->timed_out);
  EXPECT_EQ(other.finish().exit_code, 0);
  EXPECT_EQ(db->expire_leases().value(), 0u);
  const job expired = db->get(ref_of(j)).value();
  EXPECT_EQ(expired.error->code, "expired");
  EXPECT_EQ(
      std::count_if(expired.history.begin(), expired.history.end(),
                    [](const history_event& e) { return e.step == "expired"; }),
      1);
}

// ---------------------------------------------------------------- retry

TEST(Retries, AFailureThePolicyNamesRerunsTheJobAfterItsBackoff) {
  clocked_engine t;
  engine& e = *t.db;
  create_request r = make_request();
  r.retry = retry_up_to(3, {"flaky"});
  r.run_timeout = 1h;
  const job first = create_job(e, r);
  claim_one(e);
  t.clock->advance(1s);
  const job failed =
      e.complete(ref_of(first), failure("flaky"), test::fenced(1)).value();
  EXPECT_EQ(failed.status, job_status::failed);
  const auto retries = reruns_of(e, first);
  ASSERT_EQ(retries.size(), 1u);
  const job& second = retries[0];
  EXPECT_EQ(second.status, job_status::pending);
  EXPECT_EQ(second.attempt, 2u);
  EXPECT_EQ(second.original_job_id, first.id);
  EXPECT_EQ(second.input, first.input);
  EXPECT_EQ(second.retry, first.retry);
  EXPECT_EQ(second.run_timeout, first.run_timeout);
  EXPECT_EQ(second.run_after, t.clock->now() + 10s);
  EXPECT_EQ(second.history.front().details.at("retry_of").as_string(),
            first.id.to_string());
  // Claimable only after the backoff.
  EXPECT_TRUE(nothing_claimable(e));
  t.clock->advance(10s);
  EXPECT_EQ(claim_one(e).id, second.id);
}

TEST(Retries, EachAttemptWaitsLongerUpToTheMaximum) {
  clocked_engine t;
  engine& e = *t.db;
  create_request r = make_request();
  r.retry = retry_up_to(6);
  job current = create_job(e, r);
  std::vector<std::chrono::milliseconds> waits;
  for (std::uint32_t attempt = 1; attempt <= 6; ++attempt) {
    t.clock->advance(1h);
    const job claimed = claim_one(e);
    ASSERT_EQ(claimed.id, current.id);
    ASSERT_EQ(claimed.attempt, attempt);
    e.complete(ref_of(claimed), failure("boom"), test::fenced(1)).value();
    const auto next = reruns_of(e, claimed);
    if (attempt == 6) {
      EXPECT_TRUE(next.empty()) << "a seventh attempt";
      break;
    }
    ASSERT_EQ(next.size(), 1u);
    waits.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(
        *next[0].run_after - t.clock->now()));
    current = next[0];
  }
  EXPECT_EQ(waits,
            (std::vector<std::chrono::milliseconds>{10s, 20s, 40s, 60s, 60s}));
}

TEST(Retries, AnExpiredLeaseRetriesWhenThePolicySaysSo) {
  clocked_engine t;
  engine& e = *t.db;
  create_request r = make_request();
  r.retry = retry_up_to(2, {"lease_expired"});
  const job first = create_job(e, r);
  claim_one(e, claim_of({"parse"}, 5s));
  t.clock->advance(6s);
  EXPECT_EQ(e.expire_leases().value(), 1u);
  const auto retries = reruns_of(e, first);
  ASSERT_EQ(retries.size(), 1u);
  EXPECT_EQ(retries[0].attempt, 2u);
  EXPECT_EQ(retries[0].history.front().details.at("error_code").as_string(),
            "lease_expired");
}

TEST(Retries, ADeadlineExceededRetriesWhenThePolicySaysSo) {
  clocked_engine t;
  engine& e = *t.db;
  create_request r = make_request();
  r.retry = retry_up_to(2, {"deadline_exceeded"});
  r.run_timeout = 1min;
  const job first = create_job(e, r);
  claim_one(e, claim_of({"parse"}, 1h));
  t.clock->advance(2min);
  EXPECT_EQ(e.expire_leases().value(), 1u);
  EXPECT_EQ(reruns_of(e, first).size(), 1u);
}

TEST(Retries, NothingElseRetries) {
  clocked_engine t;
  engine& e = *t.db;
  create_request r = make_request();
  r.retry = retry_up_to(5, {"flaky"});
  // A code the policy does not name.
  const job other = create_job(e, r);
  claim_one(e);
  e.complete(ref_of(other), failure("bad_input"), test::fenced(1)).value();
  EXPECT_TRUE(reruns_of(e, other).empty());
  // A cancel, pending or running.
  const job cancelled = create_job(e, r);
  e.cancel(ref_of(cancelled), "no longer needed").value();
  EXPECT_TRUE(reruns_of(e, cancelled).empty());
  const job running = create_job(e, r);
  claim_one(e);
  e.cancel(ref_of(running), "stop", test::fenced(1)).value();
  EXPECT_TRUE(reruns_of(e, running).empty());
  // A success.
  const job good = create_job(e, r);
  claim_one(e);
  e.complete(ref_of(good), test::completion_for(job_status::succeeded),
             test::fenced(1))
      .value();
  EXPECT_TRUE(reruns_of(e, good).empty());
  // No policy at all.
  const job plain = create_job(e);
  claim_one(e);
  e.complete(ref_of(plain), failure("flaky"), test::fenced(1)).value();
  EXPECT_TRUE(reruns_of(e, plain).empty());
}

TEST(Retries, TheOptionsDefaultPolicyAppliesToJobsCreatedWithoutOne) {
  clocked_engine t(false, [](options& o) { o.default_retry = retry_up_to(2); });
  engine& e = *t.db;
  const job plain = create_job(e);
  EXPECT_EQ(plain.retry, retry_up_to(2));
  create_request own = make_request();
  own.retry = retry_up_to(1);
  EXPECT_EQ(create_job(e, own).retry, retry_up_to(1));
  claim_one(e);
  e.complete(ref_of(plain), failure("x"), test::fenced(1)).value();
  EXPECT_EQ(reruns_of(e, plain).size(), 1u);
}

TEST(Retries, ARetryIsWrittenWithTheFailureOrNotAtAll) {
  clocked_engine t;
  engine& e = *t.db;
  create_request r = make_request();
  r.retry = retry_up_to(2);
  const job j = create_job(e, r);
  claim_one(e);
  // Refused (a stale revision): neither the failure nor a retry.
  mutation_options stale = test::fenced(1);
  stale.expected_revision = 1;
  EXPECT_TRUE(
      failed_with(e.complete(ref_of(j), failure("x"), stale), errc::conflict));
  EXPECT_TRUE(reruns_of(e, j).empty());
  EXPECT_EQ(e.get(ref_of(j)).value().status, job_status::running);
}

TEST(Retries, ARetriedBatchChildIsNotRetried) {
  // Children carry no policy, even with a default one: a retry outside the
  // batch would not count in it.
  clocked_engine t(false, [](options& o) { o.default_retry = retry_up_to(3); });
  engine& e = *t.db;
  batch_request b;
  b.parent = make_request("parse");
  b.children = {batch_child{"parse", nullptr, {}, {}}};
  const auto batch = e.create_batch(b).value();
  EXPECT_FALSE(batch.parent.retry.has_value());
  const job child = claim_one(e);
  EXPECT_FALSE(child.retry.has_value());
  e.complete(ref_of(child), failure("x"), test::fenced(1)).value();
  EXPECT_TRUE(reruns_of(e, child).empty());
}

// ------------------------------------------------------------ validation

TEST(Schedules, BadLimitsAndPoliciesAreRefusedAndWriteNothing) {
  clocked_engine t;
  engine& e = *t.db;
  const auto refused = [&](const std::function<void(create_request&)>& bad) {
    create_request r = make_request();
    bad(r);
    // check() answers the same, and with the reason.
    const auto checked = e.check(r);
    EXPECT_FALSE(checked.has_value());
    EXPECT_FALSE(!checked.has_value() && checked.error().detail().empty());
    return failed_with(e.create(r), errc::invalid_argument);
  };
  EXPECT_TRUE(refused([](auto& r) { r.run_timeout = 0ms; }));
  EXPECT_TRUE(refused([](auto& r) { r.pending_ttl = -1ms; }));
  EXPECT_TRUE(refused([](auto& r) { r.run_timeout = max_time_limit + 1ms; }));
  EXPECT_TRUE(refused(
      [](auto& r) { r.run_after = timestamp(std::chrono::seconds(-1)); }));
  EXPECT_TRUE(refused([](auto& r) {
    r.run_after = timestamp(std::chrono::hours(24 * 366 * 9000));
  }));
  EXPECT_TRUE(refused([](auto& r) { r.retry = retry_up_to(0); }));
  EXPECT_TRUE(
      refused([](auto& r) { r.retry = retry_up_to(max_retry_attempts + 1); }));
  EXPECT_TRUE(refused([](auto& r) {
    r.retry = retry_up_to(2);
    r.retry->multiplier = 0.5;
  }));
  EXPECT_TRUE(refused([](auto& r) {
    r.retry = retry_up_to(2);
    r.retry->jitter = 1.5;
  }));
  EXPECT_TRUE(refused([](auto& r) {
    r.retry = retry_up_to(2);
    r.retry->initial_backoff = -1s;
  }));
  EXPECT_TRUE(refused([](auto& r) {
    r.retry = retry_up_to(2);
    r.retry->max_backoff = max_retry_backoff + 1ms;
  }));
  EXPECT_TRUE(refused([](auto& r) {
    r.retry = retry_up_to(2);
    r.retry->retry_on.assign(max_retry_codes + 1, "x");
  }));
  EXPECT_TRUE(refused([](auto& r) { r.retry = retry_up_to(2, {""}); }));
  EXPECT_TRUE(refused([](auto& r) {
    r.retry = retry_up_to(2);
    r.retry->initial_backoff = 2min;  // Past max_backoff (60 s).
  }));
  batch_request b;
  b.parent = make_request("parse");
  b.parent.pending_ttl = 1min;
  b.children = {batch_child{"parse", nullptr, {}, {}}};
  EXPECT_TRUE(failed_with(e.create_batch(b), errc::invalid_argument));
  EXPECT_TRUE(test::list_all(e, test::make_query()).empty());
}

TEST(Schedules, ABadDefaultPolicyFailsTheOpen) {
  test::temp_dir dir;
  options o;
  o.path = dir.path().string();
  o.default_retry = retry_up_to(0);
  auto opened = engine::open(o);
  EXPECT_TRUE(failed_with(opened, errc::invalid_argument));
}

TEST(Schedules, EveryFieldSurvivesAReopen) {
  clocked_engine t;
  create_request r = runs_after(t.clock->now() + 1h);
  r.run_timeout = 2min;
  r.pending_ttl = 3min;
  r.retry = retry_up_to(4, {"a", "b"});
  r.retry->jitter = 0.25;
  r.retry->multiplier = 1.5;
  const job j = create_job(*t.db, r);
  t.db.reopen();
  EXPECT_EQ(t.db->get(ref_of(j)).value(), j);
}

// -------------------------------------------------------------- backoff

TEST(RetryBackoff, GrowsByTheMultiplierCappedAndJittered) {
  retry_policy p = retry_up_to(10);
  p.initial_backoff = 1s;
  p.max_backoff = 30s;
  p.multiplier = 3.0;
  EXPECT_EQ(model::retry_backoff(p, 1, 0.5), 1s);
  EXPECT_EQ(model::retry_backoff(p, 2, 0.5), 3s);
  EXPECT_EQ(model::retry_backoff(p, 3, 0.5), 9s);
  EXPECT_EQ(model::retry_backoff(p, 4, 0.5), 27s);
  EXPECT_EQ(model::retry_backoff(p, 5, 0.5), 30s);
  EXPECT_EQ(model::retry_backoff(p, 999, 0.5), 30s);  // No overflow.
  p.jitter = 0.5;
  EXPECT_EQ(model::retry_backoff(p, 2, 0.0), 1500ms);
  EXPECT_EQ(model::retry_backoff(p, 2, 1.0), 4500ms);
  EXPECT_EQ(model::retry_backoff(p, 5, 1.0), 30s);  // Never past the cap.
  p.initial_backoff = 0ms;
  EXPECT_EQ(model::retry_backoff(p, 3, 1.0), 0ms);
  // A power past the doubles: the cap, never an undefined cast.
  p.initial_backoff = 1ms;
  p.multiplier = 100.0;
  EXPECT_EQ(model::retry_backoff(p, 999, 0.5), 30s);
}

}  // namespace
}  // namespace jobstate
