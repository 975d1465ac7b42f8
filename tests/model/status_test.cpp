// The status enum, its names and the transition table.
#include <jobstate/status.hpp>

#include "support/jobs.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace jobstate {
namespace {

using enum job_status;

// The table from the issue, written out independently of the library.
const std::set<std::pair<job_status, job_status>> legal_transitions = {
    {pending, running},   {pending, cancelled},
    {running, succeeded}, {running, partially_succeeded},
    {running, failed},    {running, cancelled},
};

TEST(JobStatus, AllStatusesInNumericOrder) {
  ASSERT_EQ(all_job_statuses.size(), 6u);
  for (std::size_t i = 0; i < all_job_statuses.size(); ++i) {
    EXPECT_EQ(static_cast<std::size_t>(all_job_statuses[i]), i);
  }
}

TEST(JobStatus, NumericValuesAreStable) {
  // Stored on disk: renumbering would misread every existing database.
  EXPECT_EQ(static_cast<int>(pending), 0);
  EXPECT_EQ(static_cast<int>(running), 1);
  EXPECT_EQ(static_cast<int>(succeeded), 2);
  EXPECT_EQ(static_cast<int>(partially_succeeded), 3);
  EXPECT_EQ(static_cast<int>(failed), 4);
  EXPECT_EQ(static_cast<int>(cancelled), 5);
}

TEST(JobStatus, WireNames) {
  EXPECT_EQ(to_string(pending), "pending");
  EXPECT_EQ(to_string(running), "running");
  EXPECT_EQ(to_string(succeeded), "succeeded");
  EXPECT_EQ(to_string(partially_succeeded), "partially_succeeded");
  EXPECT_EQ(to_string(failed), "failed");
  EXPECT_EQ(to_string(cancelled), "cancelled");
}

TEST(JobStatus, ParseRoundTripsEveryName) {
  for (job_status s : all_job_statuses) {
    SCOPED_TRACE(std::string(to_string(s)));
    EXPECT_EQ(parse_job_status(to_string(s)), s);
  }
}

TEST(JobStatus, ParseRejectsUnknownNames) {
  for (std::string_view name :
       {"", "PENDING", "Running", " pending", "pending ", "succeed",
        "partially-succeeded", "partially succeeded", "canceled", "done", "0",
        "1", "unknown"}) {
    SCOPED_TRACE(std::string(name));
    EXPECT_EQ(parse_job_status(name), std::nullopt);
  }
  // An embedded NUL must not be ignored.
  EXPECT_EQ(parse_job_status(std::string_view("pending\0x", 9)), std::nullopt);
}

TEST(JobStatus, TerminalStatuses) {
  EXPECT_FALSE(is_terminal(pending));
  EXPECT_FALSE(is_terminal(running));
  EXPECT_TRUE(is_terminal(succeeded));
  EXPECT_TRUE(is_terminal(partially_succeeded));
  EXPECT_TRUE(is_terminal(failed));
  EXPECT_TRUE(is_terminal(cancelled));
}

TEST(JobStatus, TransitionTableCoversAllPairs) {
  int checked = 0;
  for (job_status from : all_job_statuses) {
    for (job_status to : all_job_statuses) {
      SCOPED_TRACE(std::string(to_string(from)) + " -> " +
                   std::string(to_string(to)));
      EXPECT_EQ(is_legal_transition(from, to),
                legal_transitions.contains({from, to}));
      ++checked;
    }
  }
  EXPECT_EQ(checked, 36);
}

TEST(JobStatus, TerminalStatusNeverChanges) {
  for (job_status from : all_job_statuses) {
    if (!is_terminal(from)) continue;
    for (job_status to : all_job_statuses) {
      EXPECT_FALSE(is_legal_transition(from, to))
          << to_string(from) << " -> " << to_string(to);
    }
  }
}

TEST(JobStatus, NoStatusTransitionsToItself) {
  for (job_status s : all_job_statuses) {
    EXPECT_FALSE(is_legal_transition(s, s)) << to_string(s);
  }
}

TEST(JobStatus, NothingReturnsToPending) {
  for (job_status s : all_job_statuses) {
    EXPECT_FALSE(is_legal_transition(s, pending)) << to_string(s);
  }
}

}  // namespace
}  // namespace jobstate
