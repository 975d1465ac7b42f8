// engine::stats: jobs by status, changes by step, pending waiters, and the
// commit latency histogram that /metrics exports.
#include <jobstate/engine.hpp>

#include "support/jobs.hpp"
#include "support/test_engine.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <thread>

namespace jobstate::test {
namespace {

TEST(EngineStats, CountsJobsByStatusAndChangesByStep) {
  test_engine e;
  auto empty = e->stats();
  ASSERT_TRUE(empty) << empty.error().message();
  EXPECT_EQ(empty->jobs_by_status, (std::array<std::uint64_t, 6>{}));
  EXPECT_EQ(empty->commits.count, 0u);

  create_job(*e);
  create_in_status(*e, job_status::running);
  create_in_status(*e, job_status::succeeded);
  create_in_status(*e, job_status::cancelled);
  auto s = e->stats().value();
  EXPECT_EQ(s.jobs_by_status[static_cast<int>(job_status::pending)], 1u);
  EXPECT_EQ(s.jobs_by_status[static_cast<int>(job_status::running)], 1u);
  EXPECT_EQ(s.jobs_by_status[static_cast<int>(job_status::succeeded)], 1u);
  EXPECT_EQ(s.jobs_by_status[static_cast<int>(job_status::cancelled)], 1u);
  EXPECT_EQ(s.jobs_by_status[static_cast<int>(job_status::failed)], 0u);
  std::map<std::string, std::uint64_t> steps(s.changes_by_step.begin(),
                                             s.changes_by_step.end());
  EXPECT_EQ(steps["created"], 4u);
  EXPECT_EQ(steps["started"], 2u);
  EXPECT_EQ(steps["succeeded"], 1u);
  EXPECT_EQ(steps["cancelled"], 1u);
}

TEST(EngineStats, CommitLatencyHistogramAddsUp) {
  test_engine e;
  for (int i = 0; i < 5; ++i) create_job(*e);
  auto s = e->stats().value();
  const auto& c = s.commits;
  ASSERT_EQ(c.bucket_counts.size(), c.bucket_bounds_seconds.size() + 1);
  EXPECT_TRUE(std::is_sorted(c.bucket_bounds_seconds.begin(),
                             c.bucket_bounds_seconds.end()));
  EXPECT_EQ(std::accumulate(c.bucket_counts.begin(), c.bucket_counts.end(),
                            std::uint64_t{0}),
            c.count);
  EXPECT_EQ(c.count, 5u);  // one blocking create per commit
  EXPECT_GT(c.sum_seconds, 0.0);
}

TEST(EngineStats, ReportsPendingWaits) {
  test_engine e;
  const job j = create_job(*e);
  std::thread waiter([&] {
    (void)e->wait(ref_of(j), wait_condition::terminal(),
                  std::chrono::seconds(10));
  });
  std::uint64_t pending = 0;
  for (int i = 0; i < 500 && pending == 0; ++i) {
    pending = e->stats().value().waits_pending;
    if (pending == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(pending, 1u);
  e->cancel(ref_of(j)).value();
  waiter.join();
  EXPECT_EQ(e->stats().value().waits_pending, 0u);
}

}  // namespace
}  // namespace jobstate::test
