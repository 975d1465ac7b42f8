// model::check_invariants (lib/model/invariants.hpp): the records the
// transitions make obey every rule, and a record that breaks one rule is
// reported for that rule alone.
#include "model/invariants.hpp"

#include "model/batch.hpp"
#include "model/transitions.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <string>
#include <vector>

namespace jobstate::model {
namespace {

using namespace std::chrono_literals;

const timestamp t0 = timestamp(std::chrono::seconds(1'800'000'000));
const limits lim{};

create_request request() {
  create_request r;
  r.account_id = "acme";
  r.project_id = "web";
  r.kind = "render";
  return r;
}

job pending_job() { return make_job(request(), job_id::generate(), t0); }

job running_job() {
  job j = pending_job();
  EXPECT_TRUE(apply_start(j, {}, t0 + 1s, lim));
  return j;
}

job succeeded_job() {
  job j = running_job();
  completion c;
  c.status = job_status::succeeded;
  EXPECT_TRUE(apply_complete(j, c, {}, t0 + 2s, lim));
  return j;
}

job pending_batch() {
  return make_batch_parent(request(), 3, job_id::generate(), t0);
}

// One child running, two pending.
job running_batch() {
  job b = pending_batch();
  apply_child_change(b, job_status::pending, job_status::running, t0 + 1s);
  return b;
}

// Every child failed.
job failed_batch() {
  job b = pending_batch();
  for (int i = 0; i < 3; ++i) {
    apply_child_change(b, job_status::pending, job_status::running, t0 + 1s);
    apply_child_change(b, job_status::running, job_status::failed, t0 + 2s);
  }
  return b;
}

std::string describe(const std::vector<invariant_violation>& found) {
  std::ostringstream out;
  for (const auto& v : found) {
    out << "\n  rule " << static_cast<int>(v.invariant) << ": " << v.detail;
  }
  return out.str();
}

// Passes when `j` breaks exactly `rule`, once.
::testing::AssertionResult breaks_only(const job& j, job_invariant rule) {
  const auto found = check_invariants(j);
  if (found.size() == 1 && found.front().invariant == rule &&
      !found.front().detail.empty()) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "expected rule " << static_cast<int>(rule) << " alone; found "
         << found.size() << ":" << describe(found);
}

TEST(JobInvariants, RecordsTheTransitionsMakeObeyEveryRule) {
  job cancelled = pending_job();
  ASSERT_TRUE(apply_cancel(cancelled, "no longer needed", {}, t0 + 1s, lim));
  job progressed = running_job();
  ASSERT_TRUE(apply_progress(progressed, progress{50.0, {}, nullptr}, {},
                             t0 + 2s, lim, 0));
  job cancelled_batch = running_batch();
  ASSERT_TRUE(apply_cancel(cancelled_batch, "", {}, t0 + 2s, lim));
  // Counters as cancel_batch leaves them: every unfinished child cancelled.
  *cancelled_batch.progress.counts = progress_counts{};
  cancelled_batch.progress.counts->total = 3;
  cancelled_batch.progress.counts->cancelled = 3;
  const job rerun =
      make_rerun(succeeded_job(), rerun_options{}, job_id::generate(), t0);
  for (const job& j : {pending_job(), running_job(), succeeded_job(), cancelled,
                       progressed, pending_batch(), running_batch(),
                       failed_batch(), cancelled_batch, rerun}) {
    const auto found = check_invariants(j);
    EXPECT_TRUE(found.empty()) << to_string(j.status) << describe(found);
  }
}

TEST(JobInvariants, RevisionZero) {
  // A batch parent: its revision may trail its one event without breaking
  // revision_covers_history too.
  job j = pending_batch();
  j.revision = 0;
  EXPECT_TRUE(breaks_only(j, job_invariant::revision_starts_at_one));
}

TEST(JobInvariants, AttemptZero) {
  job j = running_job();
  j.attempt = 0;
  EXPECT_TRUE(breaks_only(j, job_invariant::attempt_starts_at_one));
}

TEST(JobInvariants, RecordRulesHoldWithoutAnyEvent) {
  job j = running_job();
  j.history.clear();
  EXPECT_TRUE(check_record_invariants(j).empty());
  j.attempt = 0;
  j.completed_at = t0;
  const auto found = check_record_invariants(j);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].invariant, job_invariant::attempt_starts_at_one);
  EXPECT_EQ(found[1].invariant, job_invariant::completed_at_if_terminal);
  job batch = running_batch();
  batch.history.clear();
  batch.progress.counts->pending = 0;
  const auto batch_found = check_record_invariants(batch);
  ASSERT_FALSE(batch_found.empty());
  EXPECT_EQ(batch_found[0].invariant, job_invariant::batch_counts_add_up);
}

TEST(JobInvariants, EmptyHistory) {
  job j = pending_job();
  j.history.clear();
  EXPECT_TRUE(breaks_only(j, job_invariant::history_not_empty));
}

TEST(JobInvariants, HistoryThatDoesNotStartCreated) {
  job j = running_job();
  j.history.front().step = "imported";
  EXPECT_TRUE(breaks_only(j, job_invariant::history_starts_created));
}

TEST(JobInvariants, RevisionBelowTheHistory) {
  job j = running_job();
  j.revision = 1;  // Two events.
  EXPECT_TRUE(breaks_only(j, job_invariant::revision_covers_history));
}

TEST(JobInvariants, IllegalMoveInTheHistory) {
  // pending → succeeded, skipping running.
  job j = pending_job();
  j.history.push_back(
      make_event(j, "succeeded", job_status::succeeded, t0 + 1s, nullptr));
  j.status = job_status::succeeded;
  j.completed_at = t0 + 1s;
  j.revision = 2;
  EXPECT_TRUE(breaks_only(j, job_invariant::legal_transitions));
}

TEST(JobInvariants, EventThatKeepsAStatusOtherThanRunning) {
  job j = pending_job();
  j.history.push_back(
      make_event(j, "progress", job_status::pending, t0 + 1s, nullptr));
  j.revision = 2;
  EXPECT_TRUE(breaks_only(j, job_invariant::only_running_repeats));
}

TEST(JobInvariants, StatusOtherThanTheHistorysEnd) {
  job j = running_job();
  j.status = job_status::pending;
  EXPECT_TRUE(breaks_only(j, job_invariant::status_ends_history));
}

TEST(JobInvariants, TerminalWithoutCompletedAt) {
  job j = succeeded_job();
  j.completed_at.reset();
  EXPECT_TRUE(breaks_only(j, job_invariant::completed_at_if_terminal));
}

TEST(JobInvariants, CompletedAtWhileRunning) {
  job j = running_job();
  j.completed_at = t0 + 1s;
  EXPECT_TRUE(breaks_only(j, job_invariant::completed_at_if_terminal));
}

TEST(JobInvariants, RanWithoutStartedAt) {
  job j = succeeded_job();
  j.started_at.reset();
  EXPECT_TRUE(breaks_only(j, job_invariant::started_at_if_ran));
}

TEST(JobInvariants, BatchWithoutCounts) {
  job b = running_batch();
  b.progress.counts.reset();
  EXPECT_TRUE(breaks_only(b, job_invariant::batch_has_counts));
}

TEST(JobInvariants, BatchCountersThatDoNotAddUp) {
  job b = pending_batch();
  b.progress.counts->total = 4;  // Three children pending.
  EXPECT_TRUE(breaks_only(b, job_invariant::batch_counts_add_up));
}

TEST(JobInvariants, FinishedBatchWithAChildPending) {
  job b = failed_batch();
  b.progress.counts->failed = 2;
  b.progress.counts->pending = 1;
  EXPECT_TRUE(breaks_only(b, job_invariant::finished_batch_has_no_pending));
}

TEST(JobInvariants, FinishedBatchWhoseChildrenSayOtherwise) {
  job b = failed_batch();  // Its counters now say every child succeeded.
  b.progress.counts->failed = 0;
  b.progress.counts->succeeded = 3;
  EXPECT_TRUE(breaks_only(b, job_invariant::finished_batch_follows_children));
}

TEST(JobInvariants, RunningBatchWhoseChildrenAllFinished) {
  job b = running_batch();
  *b.progress.counts = progress_counts{};
  b.progress.counts->total = 3;
  b.progress.counts->succeeded = 3;
  EXPECT_TRUE(breaks_only(b, job_invariant::running_batch_has_unfinished));
}

TEST(JobInvariants, PendingBatchWhoseChildrenRan) {
  job b = pending_batch();
  b.progress.counts->pending = 2;
  b.progress.counts->failed = 1;
  EXPECT_TRUE(breaks_only(b, job_invariant::pending_batch_has_not_run));
}

}  // namespace
}  // namespace jobstate::model
