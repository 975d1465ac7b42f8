// Reads without the history (read_options, list_query::with_history): the
// job as a full read returns it, but for its history, which is not read.
#include <jobstate/jobstate.hpp>

#include "support/jobs.hpp"
#include "support/test_engine.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace jobstate
