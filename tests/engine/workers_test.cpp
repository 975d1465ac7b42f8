// Workers: claim, heartbeat, fencing by lease epoch and lease expiry
// (docs/workers.md), with a clock the tests move (options::clock), and with
// the real one where the engine's own timer must act.
#include "support/workers.hpp"

#include <jobstate/jobstate.hpp>

#include "support/jobs.hpp"
#include "support/test_engine.hpp"
#include "support/waits.hpp"
#include "support/writer_process.hpp"

#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace jobstate {
namespace {

using namespace std::chrono_literals;
using test::claim_of;
using test::claim_one;
using test::clocked_engine;
using test::create_job;
using test::failed_with;
using test::fenced;
using test::make_request;
using test::manual_clock;
using test::ref_of;
using test::test_engine;

// The changes the feed holds for job `id`.
std::vector<change> changes_of(const engine& e, const job_id& id) {
  std::vector<change> out;
  auto batch = e.changes(0, 100000);
  EXPECT_TRUE(batch.has_value()) << batch.error().message();
  for (const change& c : batch->changes) {
    if (c.id == id) out.push_back(c);
  }
  return out;
}

TEST(Workers, ClaimTakesTheOldestPendingJobOfItsKinds) {
  clocked_engine t;
  engine& e = *t.db;
  const job a = create_job(e, make_request("parse"));
  const job b = create_job(e, make_request("embed"));
  const job c = create_job(e, make_request("parse"));
  create_job(e, make_request("ocr"));
  const auto r = claim_of({"embed", "parse"});
  std::vector<job_id> order;
  for (int i = 0; i < 3; ++i) {
    const job j = claim_one(e, r);
    order.push_back(j.id);
    EXPECT_EQ(j.status, job_status::running);
    ASSERT_TRUE(j.lease.has_value());
    EXPECT_EQ(j.lease->worker_id, "worker-1");
    EXPECT_EQ(j.lease->epoch, 1u);
    EXPECT_EQ(j.lease->ttl, 10s);
    EXPECT_EQ(j.lease->expires_at, t.clock->now() + 10s);
    EXPECT_EQ(j.started_at, t.clock->now());
    EXPECT_EQ(j.history.back().step, "claimed");
    EXPECT_EQ(j.history.back().epoch, 1u);
    EXPECT_EQ(j.history.front().epoch, 0u);
    EXPECT_EQ(e.get(ref_of(j)).value(), j);
  }
  EXPECT_EQ(order, (std::vector<job_id>{a.id, b.id, c.id}));
  auto none = e.claim(r);
  ASSERT_TRUE(none.has_value()) << none.error().message();
  EXPECT_FALSE(none->has_value());
}

TEST(Workers, ClaimAnswersWithoutHistoryWhenAsked) {
  test_engine db;
  create_job(*db);
  auto r = claim_of();
  r.with_history = false;
  const job j = claim_one(*db, r);
  EXPECT_TRUE(j.history.empty());
  EXPECT_EQ(db->get(ref_of(j)).value().history.size(), 2u);
}

TEST(Workers, ClaimKeepsToItsTenancyAndSkipsWhatIsNotPending) {
  test_engine db;
  create_request elsewhere = make_request();
  elsewhere.project_id = "beta";
  create_job(*db, elsewhere);
  const job started = create_job(*db);
  ASSERT_TRUE(db->start(ref_of(started)).has_value());
  const job cancelled = create_job(*db);
  ASSERT_TRUE(db->cancel(ref_of(cancelled)).has_value());
  auto none = db->claim(claim_of());
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->has_value());
  // The job elsewhere is there for its own project's workers.
  auto beta = claim_of();
  beta.project_id = "beta";
  EXPECT_EQ(claim_one(*db, beta).project_id, "beta");
}

TEST(Workers, BatchChildrenAreClaimableAndTheirParentIsNot) {
  test_engine db;
  batch_request b;
  b.parent = make_request("parse");
  b.children = {batch_child{"parse", nullptr, {}, {}},
                batch_child{"parse", nullptr, {}, {}}};
  auto batch = db->create_batch(b);
  ASSERT_TRUE(batch.has_value()) << batch.error().message();
  const job first = claim_one(*db);
  EXPECT_EQ(first.id, batch->child_ids[0]);
  const job second = claim_one(*db);
  EXPECT_EQ(second.id, batch->child_ids[1]);
  EXPECT_FALSE(db->claim(claim_of()).value().has_value());
  const job parent = db->get(ref_of(batch->parent)).value();
  EXPECT_EQ(parent.status, job_status::running);
  EXPECT_EQ(parent.progress.counts->running, 2u);
}

TEST(Workers, ClaimRefusesBadRequestsAndChangesNothing) {
  test_engine db;
  const job j = create_job(*db);
  auto bad = [&](auto tweak) {
    claim_request r = claim_of();
    tweak(r);
    return db->claim(r);
  };
  EXPECT_TRUE(failed_with(bad([](auto& r) { r.kinds.clear(); }),
                          errc::invalid_argument));
  EXPECT_TRUE(failed_with(
      bad([](auto& r) { r.kinds.assign(max_claim_kinds + 1, "parse"); }),
      errc::invalid_argument));
  EXPECT_TRUE(failed_with(bad([](auto& r) { r.kinds.push_back(""); }),
                          errc::invalid_argument));
  EXPECT_TRUE(failed_with(bad([](auto& r) { r.worker_id.clear(); }),
                          errc::invalid_argument));
  EXPECT_TRUE(failed_with(bad([](auto& r) { r.lease_ttl = 0ms; }),
                          errc::invalid_argument));
  EXPECT_TRUE(
      failed_with(bad([](auto& r) { r.lease_ttl = max_lease_ttl + 1ms; }),
                  errc::invalid_argument));
  EXPECT_TRUE(failed_with(bad([](auto& r) { r.account_id.clear(); }),
                          errc::invalid_argument));
  EXPECT_TRUE(test::unchanged(*db, j));
}

TEST(Workers, EachJobIsClaimedOnceByConcurrentWorkers) {
  test_engine db;
  constexpr int jobs = 200;
  std::set<job_id> created;
  for (int i = 0; i < jobs; ++i) created.insert(create_job(*db).id);
  std::mutex m;
  std::vector<job_id> claimed;
  std::vector<std::thread> workers;
  for (int w = 0; w < 8; ++w) {
    workers.emplace_back([&, w] {
      const auto r = claim_of({"parse"}, 10s, "worker-" + std::to_string(w));
      for (;;) {
        auto got = db->claim(r);
        ASSERT_TRUE(got.has_value()) << got.error().message();
        if (!*got) return;
        const std::lock_guard lock(m);
        claimed.push_back((*got)->id);
      }
    });
  }
  for (auto& t : workers) t.join();
  ASSERT_EQ(claimed.size(), static_cast<std::size_t>(jobs));
  EXPECT_EQ(std::set<job_id>(claimed.begin(), claimed.end()), created);
}

TEST(Workers, HeartbeatRenewsTheLeaseWithoutAnEvent) {
  clocked_engine t;
  engine& e = *t.db;
  create_job(e);
  const job j = claim_one(e);
  t.clock->advance(6s);
  auto beat = e.heartbeat(ref_of(j), fenced(1));
  ASSERT_TRUE(beat.has_value()) << beat.error().message();
  EXPECT_FALSE(beat->cancelled);
  EXPECT_EQ(beat->job.lease->expires_at, t.clock->now() + 10s);
  EXPECT_EQ(beat->job.revision, j.revision + 1);
  EXPECT_EQ(beat->job.history, j.history);
  EXPECT_EQ(e.get(ref_of(j)).value(), beat->job);
  EXPECT_EQ(changes_of(e, j.id).back().step, "heartbeat");
  // Renewed: past the first expiry, the lease still holds.
  t.clock->advance(6s);
  EXPECT_EQ(e.expire_leases().value(), 0u);
  EXPECT_TRUE(e.heartbeat(ref_of(j), fenced(1)).has_value());
}

TEST(Workers, HeartbeatMayRecordProgressInTheSameWrite) {
  clocked_engine t;
  engine& e = *t.db;
  create_job(e);
  const job j = claim_one(e);
  t.clock->advance(3s);
  progress p;
  p.percent = 40;
  auto beat = e.heartbeat(ref_of(j), fenced(1), p);
  ASSERT_TRUE(beat.has_value()) << beat.error().message();
  EXPECT_EQ(beat->job.progress, p);
  EXPECT_EQ(beat->job.revision, j.revision + 1);
  EXPECT_EQ(beat->job.lease->expires_at, t.clock->now() + 10s);
  ASSERT_EQ(beat->job.history.size(), 3u);
  EXPECT_EQ(beat->job.history.back().step, "progress");
  EXPECT_EQ(beat->job.history.back().epoch, 1u);
  progress bad;
  bad.percent = 101;
  EXPECT_TRUE(failed_with(e.heartbeat(ref_of(j), fenced(1), bad),
                          errc::invalid_argument));
  EXPECT_TRUE(test::unchanged(e, beat->job));
}

TEST(Workers, HeartbeatNeedsTheEpoch) {
  test_engine db;
  create_job(*db);
  const job j = claim_one(*db);
  EXPECT_TRUE(
      failed_with(db->heartbeat(ref_of(j), {}), errc::invalid_argument));
  job_ref missing = ref_of(j);
  missing.project_id = "beta";
  EXPECT_TRUE(failed_with(db->heartbeat(missing, fenced(1)), errc::not_found));
  EXPECT_TRUE(test::unchanged(*db, j));
}

TEST(Workers, AWorkerLearnsOfACancelAtItsNextHeartbeat) {
  test_engine db;
  create_job(*db);
  const job j = claim_one(*db);
  ASSERT_TRUE(db->cancel(ref_of(j), "not needed").has_value());
  const job cancelled = db->get(ref_of(j)).value();
  EXPECT_EQ(cancelled.history.back().epoch, 1u);  // Ended under the lease.
  auto beat = db->heartbeat(ref_of(j), fenced(1));
  ASSERT_TRUE(beat.has_value()) << beat.error().message();
  EXPECT_TRUE(beat->cancelled);
  EXPECT_EQ(beat->job, cancelled);
  EXPECT_TRUE(test::unchanged(*db, cancelled));
  // Any other write of the worker's is fenced off.
  auto late = db->complete(
      ref_of(j), test::completion_for(job_status::succeeded), fenced(1));
  ASSERT_TRUE(failed_with(late, errc::lease_lost));
  EXPECT_EQ(late.error().current_status(), job_status::cancelled);
  EXPECT_EQ(late.error().current_epoch(), 1u);
}

TEST(Workers, AStaleEpochChangesNothing) {
  test_engine db;
  create_job(*db);
  const job j = claim_one(*db);
  for (auto attempt : {0, 2}) {
    const auto epoch = static_cast<std::uint64_t>(attempt);
    auto done = db->complete(
        ref_of(j), test::completion_for(job_status::succeeded), fenced(epoch));
    ASSERT_TRUE(failed_with(done, errc::lease_lost));
    EXPECT_EQ(done.error().current_status(), job_status::running);
    EXPECT_EQ(done.error().current_revision(), j.revision);
    EXPECT_EQ(done.error().current_epoch(), 1u);
    EXPECT_TRUE(failed_with(db->report_progress(ref_of(j), {}, fenced(epoch)),
                            errc::lease_lost));
    EXPECT_TRUE(failed_with(db->cancel(ref_of(j), "", fenced(epoch)),
                            errc::lease_lost));
    EXPECT_TRUE(
        failed_with(db->heartbeat(ref_of(j), fenced(epoch)), errc::lease_lost));
  }
  EXPECT_TRUE(test::unchanged(*db, j));
  auto done = db->complete(
      ref_of(j), test::completion_for(job_status::succeeded), fenced(1));
  ASSERT_TRUE(done.has_value()) << done.error().message();
  EXPECT_EQ(done->history.back().epoch, 1u);
  EXPECT_EQ(done->lease->epoch, 1u);  // Kept: who ran it.
  EXPECT_TRUE(
      failed_with(db->heartbeat(ref_of(j), fenced(1)), errc::lease_lost));
}

TEST(Workers, AJobNeverClaimedFencesEveryEpoch) {
  test_engine db;
  const job j = create_job(*db);
  ASSERT_TRUE(db->start(ref_of(j)).has_value());
  auto fencedout = db->report_progress(ref_of(j), {}, fenced(1));
  ASSERT_TRUE(failed_with(fencedout, errc::lease_lost));
  EXPECT_EQ(fencedout.error().current_epoch(), 0u);
  // Unfenced writes (a host's) work as before.
  EXPECT_TRUE(db->report_progress(ref_of(j), {}).has_value());
}

TEST(Workers, ALapsedLeaseIsLostBeforeItsExpiryIsWritten) {
  clocked_engine t;
  engine& e = *t.db;
  create_job(e);
  const job j = claim_one(e);
  t.clock->advance(10s);  // expires_at itself: lapsed.
  const job before = e.get(ref_of(j)).value();
  EXPECT_TRUE(failed_with(
      e.complete(ref_of(j), test::completion_for(job_status::succeeded),
                 fenced(1)),
      errc::lease_lost));
  EXPECT_TRUE(failed_with(e.heartbeat(ref_of(j), fenced(1)), errc::lease_lost));
  EXPECT_TRUE(test::unchanged(e, before));
}

TEST(Workers, ExpiryFailsTheJobOnceAndFencesTheWorker) {
  clocked_engine t;
  engine& e = *t.db;
  create_job(e);
  const job j = claim_one(e, claim_of({"parse"}, 10s));
  t.clock->advance(11s);
  auto expired = e.expire_leases();
  ASSERT_TRUE(expired.has_value()) << expired.error().message();
  EXPECT_EQ(*expired, 1u);
  EXPECT_EQ(e.expire_leases().value(), 0u);
  const job failed = e.get(ref_of(j)).value();
  EXPECT_EQ(failed.status, job_status::failed);
  ASSERT_TRUE(failed.error.has_value());
  EXPECT_EQ(failed.error->code, "lease_expired");
  EXPECT_EQ(failed.completed_at, t.clock->now());
  EXPECT_EQ(failed.history.back().step, "lease_expired");
  EXPECT_EQ(failed.history.back().epoch, 1u);
  EXPECT_EQ(changes_of(e, j.id).back().step, "lease_expired");
  auto late = e.complete(ref_of(j), test::completion_for(job_status::succeeded),
                         fenced(1));
  ASSERT_TRUE(failed_with(late, errc::lease_lost));
  EXPECT_EQ(late.error().current_status(), job_status::failed);
  // Retry is a rerun: a new pending job, claimable again.
  auto again = e.rerun(ref_of(failed));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(claim_one(e).id, again->id);
}

TEST(Workers, ExpiryLeavesRenewedAndEndedLeases) {
  clocked_engine t;
  engine& e = *t.db;
  for (int i = 0; i < 3; ++i) create_job(e);
  const job renewed = claim_one(e, claim_of({"parse"}, 10s));
  const job ended = claim_one(e, claim_of({"parse"}, 10s));
  const job lapsed = claim_one(e, claim_of({"parse"}, 10s));
  t.clock->advance(9s);
  ASSERT_TRUE(e.heartbeat(ref_of(renewed), fenced(1)).has_value());
  ASSERT_TRUE(e.complete(ref_of(ended),
                         test::completion_for(job_status::succeeded), fenced(1))
                  .has_value());
  t.clock->advance(2s);
  EXPECT_EQ(e.expire_leases().value(), 1u);
  EXPECT_EQ(e.get(ref_of(lapsed)).value().status, job_status::failed);
  EXPECT_EQ(e.get(ref_of(renewed)).value().status, job_status::running);
  EXPECT_EQ(e.get(ref_of(ended)).value().status, job_status::succeeded);
}

TEST(Workers, AnExpiredChildRollsUpIntoItsBatch) {
  clocked_engine t;
  engine& e = *t.db;
  batch_request b;
  b.parent = make_request("parse");
  b.children = {batch_child{"parse", nullptr, {}, {}}};
  auto batch = e.create_batch(b);
  ASSERT_TRUE(batch.has_value());
  claim_one(e);
  t.clock->advance(1h);
  EXPECT_EQ(e.expire_leases().value(), 1u);
  const job parent = e.get(ref_of(batch->parent)).value();
  EXPECT_EQ(parent.status, job_status::failed);
  EXPECT_EQ(parent.progress.counts->failed, 1u);
}

TEST(Workers, LeasesThatLapsedWhileClosedExpireAtOpen) {
  clocked_engine t(/*automatic_expiry=*/true);
  create_job(*t.db);
  const job j = claim_one(*t.db, claim_of({"parse"}, 5s));
  EXPECT_EQ(test::ended_after_reopen(t, j, 1h).error->code, "lease_expired");
}

TEST(Workers, WithoutAutomaticExpiryOnlyTheCallExpires) {
  clocked_engine t;
  create_job(*t.db);
  const job j = claim_one(*t.db, claim_of({"parse"}, 5s));
  t.db.close();
  t.clock->advance(1h);
  t.db.reopen();  // No expiry at open either.
  EXPECT_EQ(t.db->get(ref_of(j)).value().status, job_status::running);
  EXPECT_EQ(t.db->expire_leases().value(), 1u);
  EXPECT_EQ(t.db->get(ref_of(j)).value().error->code, "lease_expired");
}

TEST(Workers, TheEngineTimesLeasesItself) {
  test_engine db;  // The real clock: the timer must act on its own.
  create_job(*db);
  create_job(*db);
  const job soon = claim_one(*db, claim_of({"parse"}, 50ms));
  const job later = claim_one(*db, claim_of({"parse"}, 300ms));
  for (const job* j : {&soon, &later}) {
    auto done =
        db->wait(ref_of(*j), wait_condition::terminal(), test::hang_guard);
    ASSERT_TRUE(done.has_value()) << done.error().message();
    ASSERT_FALSE(done->timed_out) << "no expiry came";
    EXPECT_EQ(done->job.error->code, "lease_expired");
    EXPECT_GE(done->job.completed_at, j->lease->expires_at);
  }
}

TEST(Workers, AsyncWritesAreFencedToo) {
  test_engine db;
  create_job(*db);
  const job j = claim_one(*db);
  auto late = async_complete(*db, ref_of(j),
                             test::completion_for(job_status::succeeded),
                             fenced(7), boost::asio::use_future);
  try {
    late.get();
    ADD_FAILURE() << "a stale epoch completed the job";
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), errc::lease_lost);
  }
  EXPECT_TRUE(test::unchanged(*db, j));
}

TEST(Workers, ALeaseHeldByAProcessThatDiedIsExpiredHere) {
  test_engine db;  // The real clock.
  const job j = create_job(*db);
  const auto out =
      test::run_writer({db.options().path, "claim", std::string(test::account),
                        std::string(test::project), "200"});
  ASSERT_EQ(out.exit_code, 0);
  ASSERT_EQ(out.ids(), std::vector<job_id>{j.id});
  auto done = db->wait(ref_of(j), wait_condition::terminal(), test::hang_guard);
  ASSERT_TRUE(done.has_value()) << done.error().message();
  ASSERT_FALSE(done->timed_out) << "the other process's lease never expired";
  EXPECT_EQ(done->job.error->code, "lease_expired");
  EXPECT_EQ(done->job.lease->worker_id.rfind("writer-", 0), 0u);
}

TEST(Workers, TwoProcessesExpireALeaseOnce) {
  test_engine db;
  const job j = create_job(*db);
  // The other process keeps its engine (and its lease timer) open while the
  // lease lapses; either may fail the job, once.
  test::writer_process other({db.options().path, "linger",
                              std::string(test::account),
                              std::string(test::project), "1500"});
  std::this_thread::sleep_for(200ms);
  const job claimed = claim_one(*db, claim_of({"parse"}, 300ms));
  ASSERT_EQ(claimed.id, j.id);
  auto done = db->wait(ref_of(j), wait_condition::terminal(), test::hang_guard);
  ASSERT_TRUE(done.has_value()) << done.error().message();
  ASSERT_FALSE(done->timed_out);
  EXPECT_EQ(other.finish().exit_code, 0);
  EXPECT_EQ(db->expire_leases().value(), 0u);
  const job failed = db->get(ref_of(j)).value();
  EXPECT_EQ(std::count_if(failed.history.begin(), failed.history.end(),
                          [](const history_event& e) {
                            return e.step == "lease_expired";
                          }),
            1);
  const auto changes = changes_of(*db, j.id);
  EXPECT_EQ(
      std::count_if(changes.begin(), changes.end(),
                    [](const change& c) { return c.step == "lease_expired"; }),
      1);
}

}  // namespace
}  // namespace jobstate
