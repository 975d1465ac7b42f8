// engine::purge: removal of old terminal jobs, tombstones and their expiry.
#include <jobstate/jobstate.hpp>

#include "support/jobs.hpp"
#include "support/test_engine.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace jobstate {
namespace {

using test::completion_for;
using test::create_in_status;
using test::create_job;
using test::failed_with;
using test::ids_of;
using test::list_all;
using test::make_query;
using test::make_request;
using test::ok;
using test::ref_of;
using test::test_engine;
using test::unchanged;

constexpr job_status terminal_statuses[] = {
    job_status::succeeded, job_status::partially_succeeded, job_status::failed,
    job_status::cancelled};

purge_request purge_all() { return purge_request{std::chrono::seconds(0)}; }

TEST(EnginePurge, RemovesTerminalJobsAndKeepsOthers) {
  test_engine db;
  std::map<job_status, job> jobs;
  for (job_status s : all_job_statuses) jobs[s] = create_in_status(*db, s);

  auto r = db->purge(purge_all());
  ASSERT_TRUE(ok(r));
  EXPECT_EQ(r->purged, 4u);
  EXPECT_FALSE(r->more);
  EXPECT_EQ(r->tombstones_expired, 0u);

  EXPECT_TRUE(unchanged(*db, jobs[job_status::pending]));
  EXPECT_TRUE(unchanged(*db, jobs[job_status::running]));
  for (job_status s : terminal_statuses) {
    SCOPED_TRACE(std::string(to_string(s)));
    EXPECT_TRUE(failed_with(db->get(ref_of(jobs[s])), errc::gone));
  }
}

TEST(EnginePurge, NothingToPurge) {
  test_engine db;
  auto empty = db->purge(purge_all());
  ASSERT_TRUE(ok(empty));
  EXPECT_EQ(empty->purged, 0u);
  EXPECT_FALSE(empty->more);

  job p = create_in_status(*db, job_status::pending);
  job r = create_in_status(*db, job_status::running);
  auto none = db->purge(purge_all());
  ASSERT_TRUE(ok(none));
  EXPECT_EQ(none->purged, 0u);
  EXPECT_FALSE(none->more);
  EXPECT_TRUE(unchanged(*db, p));
  EXPECT_TRUE(unchanged(*db, r));
}

TEST(EnginePurge, PurgeTwicePurgesOnce) {
  test_engine db;
  job j = create_in_status(*db, job_status::succeeded);
  EXPECT_EQ(db->purge(purge_all()).value().purged, 1u);
  auto again = db->purge(purge_all());
  ASSERT_TRUE(ok(again));
  EXPECT_EQ(again->purged, 0u);
  EXPECT_TRUE(failed_with(db->get(ref_of(j)), errc::gone));
}

TEST(EnginePurge, KeepsJobsCompletedMoreRecentlyThanOlderThan) {
  test_engine db;
  job j = create_in_status(*db, job_status::succeeded);
  auto r = db->purge(purge_request{std::chrono::hours(1)});
  ASSERT_TRUE(ok(r));
  EXPECT_EQ(r->purged, 0u);
  EXPECT_FALSE(r->more);
  EXPECT_TRUE(unchanged(*db, j));
}

TEST(EnginePurge, PurgedJobIsGoneNotNotFound) {
  test_engine db;
  job j = create_in_status(*db, job_status::failed);
  ASSERT_EQ(db->purge(purge_all()).value().purged, 1u);
  EXPECT_TRUE(failed_with(db->get(ref_of(j)), errc::gone));

  // Tenancy still applies to tombstones: elsewhere it never existed.
  job_ref other_project = ref_of(j);
  other_project.project_id = "beta";
  EXPECT_TRUE(failed_with(db->get(other_project), errc::not_found));
  job_ref other_account = ref_of(j);
  other_account.account_id = "globex";
  EXPECT_TRUE(failed_with(db->get(other_account), errc::not_found));
}

TEST(EnginePurge, MutationsOfPurgedJobAreGone) {
  test_engine db;
  job j = create_in_status(*db, job_status::cancelled);
  ASSERT_EQ(db->purge(purge_all()).value().purged, 1u);
  const job_ref ref = ref_of(j);
  EXPECT_TRUE(failed_with(db->start(ref), errc::gone));
  EXPECT_TRUE(
      failed_with(db->report_progress(ref, progress{1.0, {}, {}}), errc::gone));
  EXPECT_TRUE(failed_with(
      db->complete(ref, completion_for(job_status::succeeded)), errc::gone));
  EXPECT_TRUE(failed_with(db->cancel(ref, "x"), errc::gone));
  EXPECT_TRUE(failed_with(db->rerun(ref), errc::gone));
  EXPECT_TRUE(list_all(*db, make_query()).empty());
}

TEST(EnginePurge, IdempotentCreateWithPurgedKeyIsGone) {
  test_engine db;
  create_request req = make_request();
  req.idempotency_key = "nightly-2024-01-01";
  job j = create_in_status(*db, job_status::succeeded, req);
  ASSERT_EQ(db->purge(purge_all()).value().purged, 1u);

  EXPECT_TRUE(failed_with(db->create(req), errc::gone));
  EXPECT_TRUE(list_all(*db, make_query()).empty());

  // The tombstone keeps the key of its own project only.
  create_request elsewhere = req;
  elsewhere.project_id = "beta";
  auto other = db->create(elsewhere);
  ASSERT_TRUE(ok(other));
  EXPECT_TRUE(other->created);
  EXPECT_NE(other->job.id, j.id);
}

TEST(EnginePurge, PurgedJobsVanishFromList) {
  test_engine db;
  std::vector<job> kept;
  for (int i = 0; i < 4; ++i) {
    kept.push_back(create_in_status(*db, job_status::running));
    create_in_status(*db, job_status::succeeded);
    create_in_status(*db, job_status::cancelled);
  }
  ASSERT_EQ(db->purge(purge_all()).value().purged, 8u);
  auto listed = list_all(*db, make_query(3));
  EXPECT_EQ(ids_of(listed), (std::vector<job_id>{kept[3].id, kept[2].id,
                                                 kept[1].id, kept[0].id}));
  for (job_status s : terminal_statuses) {
    list_query q = make_query();
    q.status = s;
    EXPECT_TRUE(list_all(*db, q).empty()) << to_string(s);
  }
}

TEST(EnginePurge, StopsAtMaxJobsAndReportsMore) {
  test_engine db;
  std::vector<job> done;
  for (int i = 0; i < 5; ++i) {
    done.push_back(create_in_status(*db, job_status::succeeded));
  }
  purge_request req = purge_all();
  req.max_jobs = 2;

  auto first = db->purge(req);
  ASSERT_TRUE(ok(first));
  EXPECT_EQ(first->purged, 2u);
  EXPECT_TRUE(first->more);
  EXPECT_EQ(list_all(*db, make_query()).size(), 3u);

  auto second = db->purge(req);
  ASSERT_TRUE(ok(second));
  EXPECT_EQ(second->purged, 2u);
  EXPECT_TRUE(second->more);

  auto third = db->purge(req);
  ASSERT_TRUE(ok(third));
  EXPECT_EQ(third->purged, 1u);
  EXPECT_FALSE(third->more);

  for (const auto& j : done) {
    EXPECT_TRUE(failed_with(db->get(ref_of(j)), errc::gone));
  }
}

TEST(EnginePurge, CoversEveryTenancy) {
  test_engine db;
  job mine = create_in_status(*db, job_status::succeeded);
  create_request other = make_request();
  other.account_id = "globex";
  other.project_id = "beta";
  job theirs = create_in_status(*db, job_status::failed, other);
  EXPECT_EQ(db->purge(purge_all()).value().purged, 2u);
  EXPECT_TRUE(failed_with(db->get(ref_of(mine)), errc::gone));
  EXPECT_TRUE(failed_with(db->get(ref_of(theirs)), errc::gone));
}

TEST(EnginePurge, TombstonesLastForTheRetention) {
  test_engine db;  // default retention: a week
  create_request req = make_request();
  req.idempotency_key = "k";
  job j = create_in_status(*db, job_status::succeeded, req);
  ASSERT_EQ(db->purge(purge_all()).value().purged, 1u);
  auto again = db->purge(purge_all());
  ASSERT_TRUE(ok(again));
  EXPECT_EQ(again->tombstones_expired, 0u);
  EXPECT_TRUE(failed_with(db->get(ref_of(j)), errc::gone));
  EXPECT_TRUE(failed_with(db->create(req), errc::gone));
}

TEST(EnginePurge, TombstonesExpireAfterTheRetention) {
  test_engine db(
      [](options& o) { o.tombstone_retention = std::chrono::seconds(0); });
  create_request req = make_request();
  req.idempotency_key = "k";
  job j = create_in_status(*db, job_status::succeeded, req);
  job kept = create_in_status(*db, job_status::running);

  auto first = db->purge(purge_all());
  ASSERT_TRUE(ok(first));
  EXPECT_EQ(first->purged, 1u);
  // Not a timing assertion: the tombstone must merely be older than the
  // retention (zero) at the next purge, whatever the clock's resolution.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto second = db->purge(purge_all());
  ASSERT_TRUE(ok(second));
  EXPECT_EQ(second->purged, 0u);
  EXPECT_EQ(first->tombstones_expired + second->tombstones_expired, 1u);

  // Forgotten: the job never existed, and its key is free again.
  EXPECT_TRUE(failed_with(db->get(ref_of(j)), errc::not_found));
  auto fresh = db->create(req);
  ASSERT_TRUE(ok(fresh));
  EXPECT_TRUE(fresh->created);
  EXPECT_NE(fresh->job.id, j.id);
  EXPECT_TRUE(unchanged(*db, kept));
}

TEST(EnginePurge, PurgeSurvivesReopen) {
  test_engine db;
  create_request req = make_request();
  req.idempotency_key = "k";
  job purged = create_in_status(*db, job_status::succeeded, req);
  job kept = create_in_status(*db, job_status::pending);
  ASSERT_EQ(db->purge(purge_all()).value().purged, 1u);
  db.reopen();
  EXPECT_TRUE(failed_with(db->get(ref_of(purged)), errc::gone));
  EXPECT_TRUE(failed_with(db->create(req), errc::gone));
  EXPECT_TRUE(unchanged(*db, kept));
  EXPECT_EQ(ids_of(list_all(*db, make_query())), std::vector<job_id>{kept.id});
}

}  // namespace
}  // namespace jobstate
