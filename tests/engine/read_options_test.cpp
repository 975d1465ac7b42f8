// Reads without the history (read_options, list_query::with_history) and
// mutations that answer without it (mutation_options::with_history): the
// job as a full read returns it, but for its history, which is not read.
#include <jobstate/jobstate.hpp>

#include "support/jobs.hpp"
#include "support/test_engine.hpp"
#include "support/waits.hpp"

#include <gtest/gtest.h>

#include <future>

namespace jobstate {
namespace {

using test::create_job;
using test::ref_of;
using test::test_engine;

constexpr read_options without_history{.with_history = false};

// A running job with a few progress reports.
job busy_job(engine& e) {
  const job j = create_job(e);
  EXPECT_TRUE(e.start(ref_of(j)).has_value());
  for (int i = 1; i <= 5; ++i) {
    progress p;
    p.percent = 10.0 * i;
    EXPECT_TRUE(e.report_progress(ref_of(j), p).has_value());
  }
  return e.get(ref_of(j)).value();
}

TEST(ReadOptions, GetWithoutHistoryIsTheJobButItsTimeline) {
  test_engine db;
  const job full = busy_job(*db);
  ASSERT_EQ(full.history.size(), 7u);
  auto lean = db->get(ref_of(full), without_history);
  ASSERT_TRUE(lean.has_value()) << lean.error().message();
  EXPECT_TRUE(lean->history.empty());
  job completed = *lean;
  completed.history = full.history;
  EXPECT_EQ(completed, full);
  EXPECT_EQ(db->get(ref_of(full), read_options{}).value(), full);
}

TEST(ReadOptions, GetWithoutHistoryFailsAsGetDoes) {
  test_engine db;
  const job j = create_job(*db);
  job_ref elsewhere = ref_of(j);
  elsewhere.project_id = "another";
  EXPECT_EQ(db->get(elsewhere, without_history).code(), errc::not_found);
  job_ref bad = ref_of(j);
  bad.account_id.clear();
  EXPECT_EQ(db->get(bad, without_history).code(), errc::invalid_argument);
  ASSERT_TRUE(db->cancel(ref_of(j), "done").has_value());
  ASSERT_TRUE(db->purge(purge_request{}).has_value());
  EXPECT_EQ(db->get(ref_of(j), without_history).code(), errc::gone);
}

TEST(ReadOptions, ListWithoutHistoryPagesTheSameJobs) {
  test_engine db;
  for (int i = 0; i < 3; ++i) busy_job(*db);
  create_job(*db);
  list_query q = test::make_query(2);
  const auto full = test::list_all(*db, q);
  q.with_history = false;
  const auto lean = test::list_all(*db, q);
  ASSERT_EQ(lean.size(), full.size());
  for (std::size_t i = 0; i < lean.size(); ++i) {
    EXPECT_TRUE(lean[i].history.empty());
    job completed = lean[i];
    completed.history = full[i].history;
    EXPECT_EQ(completed, full[i]);
  }
}

// The job `ref` names as a full read returns it, but for its history.
void expect_whole_but_history(engine& e, const job& lean) {
  ASSERT_TRUE(lean.history.empty());
  const job full = e.get(ref_of(lean)).value();
  job completed = lean;
  completed.history = full.history;
  EXPECT_EQ(completed, full);
}

TEST(MutationOptions, EveryMutationAnswersWithoutHistoryWhenAsked) {
  test_engine db;
  mutation_options lean;
  lean.with_history = false;
  const job j = busy_job(*db);
  auto progressed = db->report_progress(ref_of(j), progress{}, lean);
  ASSERT_TRUE(progressed.has_value()) << progressed.error().message();
  expect_whole_but_history(*db, *progressed);
  auto done =
      db->complete(ref_of(j), test::completion_for(job_status::failed), lean);
  ASSERT_TRUE(done.has_value()) << done.error().message();
  expect_whole_but_history(*db, *done);

  const job other = create_job(*db);
  auto started = db->start(ref_of(other), lean);
  ASSERT_TRUE(started.has_value()) << started.error().message();
  expect_whole_but_history(*db, *started);
  auto cancelled = db->cancel(ref_of(other), "stop", lean);
  ASSERT_TRUE(cancelled.has_value()) << cancelled.error().message();
  expect_whole_but_history(*db, *cancelled);
  EXPECT_EQ(db->get(ref_of(other)).value().history.size(), 3u);
}

TEST(MutationOptions, ByDefaultAMutationAnswersWithTheWholeHistory) {
  test_engine db;
  const job j = busy_job(*db);
  auto done =
      db->complete(ref_of(j), test::completion_for(job_status::succeeded));
  ASSERT_TRUE(done.has_value()) << done.error().message();
  ASSERT_EQ(done->history.size(), 8u);
  EXPECT_EQ(*done, db->get(ref_of(j)).value());
}

TEST(MutationOptions, ABatchCancelAnswersWithoutHistoryWhenAsked) {
  test_engine db;
  batch_request b;
  b.parent = test::make_request("batch");
  b.children.push_back(batch_child{"child", nullptr, {}, {}});
  b.children.push_back(batch_child{"child", nullptr, {}, {}});
  auto made = db->create_batch(b);
  ASSERT_TRUE(made.has_value()) << made.error().message();
  mutation_options lean;
  lean.with_history = false;
  auto cancelled = db->cancel(ref_of(made->parent), "stop", lean);
  ASSERT_TRUE(cancelled.has_value()) << cancelled.error().message();
  EXPECT_EQ(cancelled->status, job_status::cancelled);
  expect_whole_but_history(*db, *cancelled);
}

TEST(MutationOptions, AWaiterGetsTheWholeJobWhenTheWriteAnsweredWithoutIt) {
  test_engine db;
  const job j = busy_job(*db);
  auto waited = std::async(std::launch::async, [&] {
    return db->wait(ref_of(j), wait_condition::changed_after(j.revision),
                    test::long_timeout);
  });
  ASSERT_TRUE(
      test::eventually([&] { return db->stats().value().waits_pending == 1; }));
  mutation_options lean;
  lean.with_history = false;
  progress p;
  p.percent = 99.0;
  ASSERT_TRUE(db->report_progress(ref_of(j), p, lean).has_value());
  auto result = waited.get();
  ASSERT_TRUE(result.has_value()) << result.error().message();
  EXPECT_FALSE(result->timed_out);
  EXPECT_EQ(result->job, db->get(ref_of(j)).value());
  EXPECT_EQ(result->job.history.size(), 8u);
}

}  // namespace
}  // namespace jobstate
