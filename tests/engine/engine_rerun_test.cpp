// engine::rerun: a new attempt of a terminal job.
#include <jobstate/jobstate.hpp>

#include "support/jobs.hpp"
#include "support/test_engine.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace jobstate {
namespace {

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

create_request full_request() {
  create_request req = make_request(
      "parse", boost::json::object{{"document", "q3.pdf"}, {"pages", 40}});
  req.source_id = "doc-3";
  req.correlation_id = "trace-1";
  req.idempotency_key = "rerun-key";
  return req;
}

TEST(EngineRerun, MakesNewPendingAttemptOfEachTerminalStatus) {
  for (job_status s : {job_status::succeeded, job_status::partially_succeeded,
                       job_status::failed, job_status::cancelled}) {
    SCOPED_TRACE(std::string(to_string(s)));
    test_engine db;
    job original = create_in_status(*db, s, full_request());
    rerun_options opts;
    opts.details = boost::json::object{{"reason", "retry"}};
    auto r = db->rerun(ref_of(original), opts);
    ASSERT_TRUE(ok(r));
    const job& j = *r;
    EXPECT_NE(j.id, original.id);
    EXPECT_GT(j.id, original.id);
    EXPECT_EQ(j.status, job_status::pending);
    EXPECT_EQ(j.revision, 1u);
    EXPECT_EQ(j.attempt, original.attempt + 1);
    EXPECT_EQ(j.original_job_id, original.id);
    EXPECT_EQ(j.account_id, original.account_id);
    EXPECT_EQ(j.project_id, original.project_id);
    EXPECT_EQ(j.kind, original.kind);
    EXPECT_EQ(j.input, original.input);
    EXPECT_EQ(j.source_id, original.source_id);
    EXPECT_EQ(j.correlation_id, original.correlation_id);
    EXPECT_EQ(j.started_at, std::nullopt);
    EXPECT_EQ(j.completed_at, std::nullopt);
    EXPECT_TRUE(j.result.is_null());
    EXPECT_EQ(j.error, std::nullopt);
    EXPECT_EQ(j.progress, progress{});
    EXPECT_GE(j.created_at, original.created_at);
    ASSERT_EQ(j.history.size(), 1u);
    EXPECT_EQ(j.history[0].step, "created");
    EXPECT_EQ(j.history[0].status, job_status::pending);
    EXPECT_EQ(j.history[0].details, opts.details);

    EXPECT_TRUE(unchanged(*db, j));
    EXPECT_TRUE(unchanged(*db, original));
  }
}

TEST(EngineRerun, OriginalIsUntouched) {
  test_engine db;
  job original = create_in_status(*db, job_status::failed, full_request());
  ASSERT_TRUE(ok(db->rerun(ref_of(original))));
  ASSERT_TRUE(ok(db->rerun(ref_of(original))));
  EXPECT_TRUE(unchanged(*db, original));
}

TEST(EngineRerun, RerunIsAnIndependentJob) {
  test_engine db;
  job original = create_in_status(*db, job_status::failed, full_request());
  job again = db->rerun(ref_of(original)).value();
  auto started = db->start(ref_of(again));
  ASSERT_TRUE(ok(started));
  auto done =
      db->complete(ref_of(again), test::completion_for(job_status::succeeded));
  ASSERT_TRUE(ok(done));
  EXPECT_EQ(done->original_job_id, original.id);
  EXPECT_EQ(done->attempt, 2u);
  EXPECT_TRUE(unchanged(*db, original));
}

TEST(EngineRerun, CorrelationIdDefaultsToOriginalsAndCanBeReplaced) {
  test_engine db;
  job original = create_in_status(*db, job_status::failed, full_request());
  rerun_options opts;
  opts.correlation_id = "trace-2";
  auto r = db->rerun(ref_of(original), opts);
  ASSERT_TRUE(ok(r));
  EXPECT_EQ(r->correlation_id, "trace-2");
  EXPECT_EQ(db->rerun(ref_of(original)).value().correlation_id, "trace-1");
}

TEST(EngineRerun, RerunOfRerunCountsAttempts) {
  test_engine db;
  job first = create_in_status(*db, job_status::failed);
  job second = db->rerun(ref_of(first)).value();
  ASSERT_TRUE(ok(db->cancel(ref_of(second), "again")));
  auto third = db->rerun(ref_of(second));
  ASSERT_TRUE(ok(third));
  EXPECT_EQ(third->attempt, 3u);
  EXPECT_EQ(third->original_job_id, second.id);
}

TEST(EngineRerun, NonTerminalJobIsIllegalTransition) {
  test_engine db;
  for (job_status s : {job_status::pending, job_status::running}) {
    SCOPED_TRACE(std::string(to_string(s)));
    job j = create_in_status(*db, s);
    const auto before = ids_of(list_all(*db, make_query()));
    auto r = db->rerun(ref_of(j));
    ASSERT_TRUE(failed_with(r, errc::illegal_transition));
    EXPECT_EQ(r.error().current_status(), s);
    EXPECT_EQ(r.error().current_revision(), j.revision);
    EXPECT_TRUE(unchanged(*db, j));
    EXPECT_EQ(ids_of(list_all(*db, make_query())), before);
  }
}

TEST(EngineRerun, UnknownJobIsNotFound) {
  test_engine db;
  job j = create_in_status(*db, job_status::succeeded);
  job_ref wrong_project = ref_of(j);
  wrong_project.project_id = "beta";
  job_ref wrong_account = ref_of(j);
  wrong_account.account_id = "globex";
  job_ref unknown = ref_of(j);
  unknown.id = job_id::generate();
  EXPECT_TRUE(failed_with(db->rerun(wrong_project), errc::not_found));
  EXPECT_TRUE(failed_with(db->rerun(wrong_account), errc::not_found));
  EXPECT_TRUE(failed_with(db->rerun(unknown), errc::not_found));
  EXPECT_EQ(list_all(*db, make_query()).size(), 1u);
}

TEST(EngineRerun, ListFilteredByOriginalJobIdFindsReruns) {
  test_engine db;
  job a = create_in_status(*db, job_status::failed);
  job b = create_in_status(*db, job_status::failed);
  job a1 = db->rerun(ref_of(a)).value();
  job b1 = db->rerun(ref_of(b)).value();
  job a2 = db->rerun(ref_of(a)).value();

  list_query q = make_query();
  q.original_job_id = a.id;
  EXPECT_EQ(ids_of(list_all(*db, q)), (std::vector<job_id>{a2.id, a1.id}));
  q.original_job_id = b.id;
  EXPECT_EQ(ids_of(list_all(*db, q)), (std::vector<job_id>{b1.id}));
  q.original_job_id = a1.id;
  EXPECT_TRUE(list_all(*db, q).empty());
}

TEST(EngineRerun, IsListedNewestFirst) {
  test_engine db;
  job original = create_in_status(*db, job_status::succeeded);
  job other = create_job(*db);
  job again = db->rerun(ref_of(original)).value();
  EXPECT_EQ(ids_of(list_all(*db, make_query())),
            (std::vector<job_id>{again.id, other.id, original.id}));
}

}  // namespace
}  // namespace jobstate
