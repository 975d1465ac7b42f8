// engine::start, report_progress, complete and cancel: the state machine as
// the engine enforces it, compare-and-set, and the cancel/complete race.
#include <jobstate/jobstate.hpp>

#include "support/jobs.hpp"
#include "support/test_engine.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace jobstate {
namespace {

using test::completion_for;
using test::create_in_status;
using test::create_job;
using test::failed_with;
using test::make_request;
using test::ok;
using test::ref_of;
using test::test_engine;
using test::text_of_size;
using test::unchanged;
using enum job_status;

// The transition table, independent of the library's.
bool expected_legal(job_status from, job_status to) {
  return (from == pending && (to == running || to == cancelled)) ||
         (from == running && (to == succeeded || to == partially_succeeded ||
                              to == failed || to == cancelled));
}

// Passes when `r` is illegal_transition reporting `before`'s status and
// revision, names both statuses in its message, and the job is unchanged.
::testing::AssertionResult rejected_as_illegal(const engine& e,
                                               const result<job>& r,
                                               const job& before,
                                               job_status attempted) {
  auto code = failed_with(r, errc::illegal_transition);
  if (!code) return code;
  const error err = r.error();
  if (err.current_status() != before.status) {
    return ::testing::AssertionFailure()
           << "current_status() is "
           << ::testing::PrintToString(err.current_status()) << ", expected "
           << to_string(before.status);
  }
  if (err.current_revision() != before.revision) {
    return ::testing::AssertionFailure()
           << "current_revision() is "
           << ::testing::PrintToString(err.current_revision()) << ", expected "
           << before.revision;
  }
  const std::string m = err.message();
  if (m.find(to_string(before.status)) == std::string::npos ||
      m.find(to_string(attempted)) == std::string::npos) {
    return ::testing::AssertionFailure()
           << "message \"" << m << "\" does not name "
           << to_string(before.status) << " and " << to_string(attempted);
  }
  return unchanged(e, before);
}

// Moves `j` to `to` with the operation that does so.
result<job> transition(engine& e, const job& j, job_status to,
                       const mutation_options& opts = {}) {
  switch (to) {
    case running:
      return e.start(ref_of(j), opts);
    case cancelled:
      return e.cancel(ref_of(j), "stop", opts);
    case succeeded:
    case partially_succeeded:
    case failed:
      return e.complete(ref_of(j), completion_for(to), opts);
    case pending:
      break;
  }
  return errc::invalid_argument;
}

TEST(EngineTransitions, EngineEnforcesTheTransitionTable) {
  test_engine db;
  int legal = 0;
  for (job_status from : all_job_statuses) {
    for (job_status to : all_job_statuses) {
      if (to == pending) continue;  // no operation returns a job to pending
      SCOPED_TRACE(std::string(to_string(from)) + " -> " +
                   std::string(to_string(to)));
      job before = create_in_status(*db, from);
      ASSERT_EQ(before.status, from);
      auto r = transition(*db, before, to);
      if (expected_legal(from, to)) {
        ++legal;
        ASSERT_TRUE(ok(r));
        EXPECT_EQ(r->status, to);
        EXPECT_EQ(r->revision, before.revision + 1);
        ASSERT_EQ(r->history.size(), before.history.size() + 1);
        EXPECT_EQ(r->history.back().status, to);
        EXPECT_EQ(r->history.back().step,
                  to == running ? "started" : std::string(to_string(to)));
        EXPECT_TRUE(unchanged(*db, *r));
      } else {
        EXPECT_TRUE(rejected_as_illegal(*db, r, before, to));
      }
    }
  }
  EXPECT_EQ(legal, 6);
}

TEST(EngineTransitions, EveryMutationOfAnUnknownJobIsNotFound) {
  test_engine db;
  job existing = create_in_status(*db, running);
  std::vector<job_ref> refs = {
      {std::string(test::account), std::string(test::project),
       job_id::generate()},
      {"globex", std::string(test::project), existing.id},
      {std::string(test::account), "beta", existing.id},
  };
  for (const auto& ref : refs) {
    SCOPED_TRACE(ref.account_id + "/" + ref.project_id + "/" +
                 ref.id.to_string());
    EXPECT_TRUE(failed_with(db->start(ref), errc::not_found));
    EXPECT_TRUE(failed_with(db->report_progress(ref, progress{50.0, {}, {}}),
                            errc::not_found));
    EXPECT_TRUE(failed_with(db->complete(ref, completion_for(succeeded)),
                            errc::not_found));
    EXPECT_TRUE(failed_with(db->cancel(ref, "x"), errc::not_found));
    EXPECT_TRUE(failed_with(db->rerun(ref), errc::not_found));
  }
  EXPECT_TRUE(unchanged(*db, existing));
}

TEST(EngineStart, MovesPendingToRunning) {
  test_engine db;
  job created = create_job(*db);
  mutation_options opts;
  opts.details = boost::json::object{{"worker", "w-1"}};
  auto r = db->start(ref_of(created), opts);
  ASSERT_TRUE(ok(r));
  const job& j = *r;
  EXPECT_EQ(j.id, created.id);
  EXPECT_EQ(j.status, running);
  EXPECT_EQ(j.revision, 2u);
  EXPECT_EQ(j.attempt, 1u);
  ASSERT_TRUE(j.started_at.has_value());
  EXPECT_GE(*j.started_at, j.created_at);
  EXPECT_EQ(j.completed_at, std::nullopt);
  EXPECT_EQ(j.created_at, created.created_at);
  EXPECT_EQ(j.input, created.input);
  ASSERT_EQ(j.history.size(), 2u);
  EXPECT_EQ(j.history[0], created.history[0]);
  EXPECT_EQ(j.history[1].step, "started");
  EXPECT_EQ(j.history[1].status, running);
  EXPECT_EQ(j.history[1].details, opts.details);
  EXPECT_GE(j.history[1].duration_ms, 0);
  EXPECT_GE(j.history[1].at, j.history[0].at);
  EXPECT_EQ(j.history[1].at, *j.started_at);  // both the commit time
  EXPECT_TRUE(unchanged(*db, j));
}

TEST(EngineStart, RunningJobCannotStartAgain) {
  test_engine db;
  job j = create_in_status(*db, running);
  EXPECT_TRUE(rejected_as_illegal(*db, db->start(ref_of(j)), j, running));
}

TEST(EngineProgress, RecordsProgressOfRunningJob) {
  test_engine db;
  job j = create_in_status(*db, running);
  progress p;
  p.percent = 42.5;
  p.counts = progress_counts{10, 4, 1, 0, 5};
  p.details = boost::json::object{{"page", 5}, {"of", 12}};
  mutation_options opts;
  opts.details = boost::json::object{{"note", "halfway"}};
  auto r = db->report_progress(ref_of(j), p, opts);
  ASSERT_TRUE(ok(r));
  EXPECT_EQ(r->status, running);
  EXPECT_EQ(r->progress, p);
  EXPECT_EQ(r->revision, j.revision + 1);
  ASSERT_EQ(r->history.size(), j.history.size() + 1);
  EXPECT_EQ(r->history.back().step, "progress");
  EXPECT_EQ(r->history.back().status, running);
  EXPECT_EQ(r->history.back().details, opts.details);
  EXPECT_EQ(r->started_at, j.started_at);
  EXPECT_EQ(r->completed_at, std::nullopt);
  EXPECT_TRUE(unchanged(*db, *r));
}

TEST(EngineProgress, ReplacesPreviousProgress) {
  test_engine db;
  job j = create_in_status(*db, running);
  progress first;
  first.percent = 10;
  first.counts = progress_counts{3, 1, 0, 0, 2};
  first.details = boost::json::object{{"stage", "ocr"}};
  ASSERT_TRUE(ok(db->report_progress(ref_of(j), first)));
  progress second;
  second.percent = 20;
  auto r = db->report_progress(ref_of(j), second);
  ASSERT_TRUE(ok(r));
  EXPECT_EQ(r->progress, second);
  EXPECT_EQ(r->progress.counts, std::nullopt);
  EXPECT_TRUE(r->progress.details.is_null());
  EXPECT_EQ(r->revision, j.revision + 2);
}

TEST(EngineProgress, PercentBoundsAreInclusive) {
  test_engine db;
  job j = create_in_status(*db, running);
  for (double pct : {0.0, 100.0, 99.999}) {
    auto r = db->report_progress(ref_of(j), progress{pct, {}, {}});
    ASSERT_TRUE(ok(r)) << pct;
    EXPECT_EQ(r->progress.percent, pct);
  }
}

TEST(EngineProgress, PercentOutsideRangeIsInvalidArgument) {
  test_engine db;
  job j = create_in_status(*db, running);
  for (double pct :
       {-0.001, -1.0, 100.001, 1000.0, std::numeric_limits<double>::quiet_NaN(),
        std::numeric_limits<double>::infinity(),
        -std::numeric_limits<double>::infinity()}) {
    SCOPED_TRACE(pct);
    EXPECT_TRUE(
        failed_with(db->report_progress(ref_of(j), progress{pct, {}, {}}),
                    errc::invalid_argument));
    EXPECT_TRUE(unchanged(*db, j));
  }
}

TEST(EngineProgress, OversizedDetailsAreTooLarge) {
  test_engine db;
  job j = create_in_status(*db, running);
  progress p;
  p.details =
      test::json_of_serialized_size(db->options().limits.max_json_size + 1);
  EXPECT_TRUE(failed_with(db->report_progress(ref_of(j), p), errc::too_large));
  EXPECT_TRUE(unchanged(*db, j));
}

TEST(EngineProgress, CountsAddingUpToMoreThanTotalAreInvalidArgument) {
  // docs/data-model.md: the parts must not add up to more than total.
  test_engine db;
  job j = create_in_status(*db, running);
  progress p;
  p.counts = progress_counts{10, 5, 3, 2, 1};
  EXPECT_TRUE(
      failed_with(db->report_progress(ref_of(j), p), errc::invalid_argument));
  EXPECT_TRUE(unchanged(*db, j));
  p.counts = progress_counts{10, 5, 3, 1, 1};
  auto r = db->report_progress(ref_of(j), p);
  ASSERT_TRUE(ok(r));
  EXPECT_EQ(r->progress.counts, p.counts);
}

TEST(EngineProgress, CountsThatDoNotAddUpToTotalAreInvalidArgument) {
  // docs/data-model.md: each part is counted once, so succeeded + failed +
  // cancelled + pending is total; running is part of pending, and
  // partially_succeeded of succeeded. A report of {total 5} alone (pending
  // 0) would claim that every part had finished.
  constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  test_engine db;
  job j = create_in_status(*db, running);
  const std::vector<progress_counts> wrong = {
      {5, 0, 0, 0, 0},        // nothing counted
      {10, 4, 1, 0, 2},       // 7 of 10
      {5, max, 6, 0, 0},      // wraps around to 5
      {1, 1, max, 1, 0},      // wraps around to 1
      {4, 1, 0, 0, 3, 4, 0},  // running 4 > pending 3
      {4, 1, 0, 0, 3, 0, 2},  // partially_succeeded 2 > succeeded 1
  };
  for (std::size_t i = 0; i < wrong.size(); ++i) {
    SCOPED_TRACE(i);
    progress p;
    p.counts = wrong[i];
    EXPECT_TRUE(
        failed_with(db->report_progress(ref_of(j), p), errc::invalid_argument));
    EXPECT_TRUE(unchanged(*db, j));
  }
  progress p;
  p.counts = progress_counts{10, 4, 1, 2, 3, 3, 4};
  auto r = db->report_progress(ref_of(j), p);
  ASSERT_TRUE(ok(r));
  EXPECT_EQ(r->progress.counts, p.counts);
  p.counts = progress_counts{0, 0, 0, 0, 0};
  EXPECT_TRUE(ok(db->report_progress(ref_of(j), p)));
}

TEST(EngineProgress, HistoryIsBoundedByCoalescingProgress) {
  // docs/data-model.md: when the history is full a progress event replaces
  // the previous one; status events are never lost.
  test_engine db([](options& o) { o.limits.max_history = 8; });
  job j = create_in_status(*db, running);
  for (int i = 0; i < 20; ++i) {
    auto r = db->report_progress(ref_of(j), progress{double(i), {}, {}});
    ASSERT_TRUE(ok(r)) << i;
    EXPECT_LE(r->history.size(), 8u);
    EXPECT_EQ(r->revision, j.revision + i + 1);
  }
  auto done = db->complete(ref_of(j), completion_for(succeeded));
  ASSERT_TRUE(ok(done));
  EXPECT_EQ(done->revision, j.revision + 21);
  ASSERT_LE(done->history.size(), 8u);
  EXPECT_EQ(done->history[0].step, "created");
  EXPECT_EQ(done->history[1].step, "started");
  EXPECT_EQ(done->history.back().step, "succeeded");
  EXPECT_EQ(done->progress.percent, 19.0);
  for (std::size_t i = 2; i + 1 < done->history.size(); ++i) {
    EXPECT_EQ(done->history[i].step, "progress") << i;
  }
}

TEST(EngineProgress, PendingJobIsIllegalTransition) {
  test_engine db;
  job j = create_job(*db);
  auto r = db->report_progress(ref_of(j), progress{5.0, {}, {}});
  ASSERT_TRUE(failed_with(r, errc::illegal_transition));
  EXPECT_EQ(r.error().current_status(), pending);
  EXPECT_EQ(r.error().current_revision(), j.revision);
  EXPECT_TRUE(unchanged(*db, j));
}

TEST(EngineProgress, TerminalJobIsIllegalTransition) {
  test_engine db;
  for (job_status s : {succeeded, partially_succeeded, failed, cancelled}) {
    SCOPED_TRACE(std::string(to_string(s)));
    job j = create_in_status(*db, s);
    auto r = db->report_progress(ref_of(j), progress{5.0, {}, {}});
    ASSERT_TRUE(failed_with(r, errc::illegal_transition));
    EXPECT_EQ(r.error().current_status(), s);
    EXPECT_EQ(r.error().current_revision(), j.revision);
    EXPECT_TRUE(unchanged(*db, j));
  }
}

TEST(EngineComplete, EndsRunningJobWithEachOutcome) {
  test_engine db;
  for (job_status s : {succeeded, partially_succeeded, failed}) {
    SCOPED_TRACE(std::string(to_string(s)));
    job j = create_in_status(*db, running);
    completion c = completion_for(s);
    mutation_options opts;
    opts.details = boost::json::object{{"outcome", to_string(s)}};
    auto r = db->complete(ref_of(j), c, opts);
    ASSERT_TRUE(ok(r));
    EXPECT_EQ(r->status, s);
    EXPECT_EQ(r->result, c.result);
    EXPECT_EQ(r->error, c.error);
    EXPECT_EQ(r->revision, j.revision + 1);
    EXPECT_EQ(r->started_at, j.started_at);
    ASSERT_TRUE(r->completed_at.has_value());
    EXPECT_GE(*r->completed_at, *r->started_at);
    ASSERT_EQ(r->history.size(), j.history.size() + 1);
    EXPECT_EQ(r->history.back().step, to_string(s));
    EXPECT_EQ(r->history.back().status, s);
    EXPECT_EQ(r->history.back().details, opts.details);
    EXPECT_EQ(r->history.back().at, *r->completed_at);
    EXPECT_TRUE(unchanged(*db, *r));
  }
}

TEST(EngineComplete, FailedWithoutErrorIsInvalidArgument) {
  test_engine db;
  job j = create_in_status(*db, running);
  completion c;
  c.status = failed;
  EXPECT_TRUE(failed_with(db->complete(ref_of(j), c), errc::invalid_argument));
  EXPECT_TRUE(unchanged(*db, j));
}

TEST(EngineComplete, NonCompletionStatusIsInvalidArgument) {
  test_engine db;
  job j = create_in_status(*db, running);
  for (job_status s : {pending, running, cancelled}) {
    SCOPED_TRACE(std::string(to_string(s)));
    completion c;
    c.status = s;
    c.error = job_error{"x", "y"};
    EXPECT_TRUE(
        failed_with(db->complete(ref_of(j), c), errc::invalid_argument));
    EXPECT_TRUE(unchanged(*db, j));
  }
}

TEST(EngineComplete, OversizedResultOrErrorIsTooLarge) {
  test_engine db;
  job j = create_in_status(*db, running);
  const auto& lim = db->options().limits;

  completion big_result = completion_for(succeeded);
  big_result.result = test::json_of_serialized_size(lim.max_json_size + 1);
  EXPECT_TRUE(
      failed_with(db->complete(ref_of(j), big_result), errc::too_large));

  completion big_message = completion_for(failed);
  big_message.error->message = text_of_size(lim.max_text_size + 1);
  EXPECT_TRUE(
      failed_with(db->complete(ref_of(j), big_message), errc::too_large));

  completion big_code = completion_for(failed);
  big_code.error->code = text_of_size(lim.max_text_size + 1);
  EXPECT_TRUE(failed_with(db->complete(ref_of(j), big_code), errc::too_large));

  EXPECT_TRUE(unchanged(*db, j));

  completion at_limit = completion_for(failed);
  at_limit.error->message = text_of_size(lim.max_text_size);
  auto r = db->complete(ref_of(j), at_limit);
  ASSERT_TRUE(ok(r));
  EXPECT_EQ(r->error, at_limit.error);
}

TEST(EngineComplete, PendingJobIsIllegalTransition) {
  test_engine db;
  job j = create_job(*db);
  EXPECT_TRUE(rejected_as_illegal(
      *db, db->complete(ref_of(j), completion_for(succeeded)), j, succeeded));
}

TEST(EngineComplete, CompletingACancelledJobReportsItWasCancelled) {
  // The worker that loses the cancel/complete race learns why.
  test_engine db;
  job j = create_in_status(*db, running);
  job cancelled_job = db->cancel(ref_of(j), "user gave up").value();
  auto r = db->complete(ref_of(j), completion_for(succeeded));
  ASSERT_TRUE(failed_with(r, errc::illegal_transition));
  EXPECT_EQ(r.error().current_status(), cancelled);
  EXPECT_EQ(r.error().current_revision(), cancelled_job.revision);
  EXPECT_TRUE(rejected_as_illegal(*db, r, cancelled_job, succeeded));
}

TEST(EngineComplete, CompletedJobNeverChangesAgain) {
  test_engine db;
  job j = create_in_status(*db, succeeded);
  EXPECT_TRUE(rejected_as_illegal(
      *db, db->complete(ref_of(j), completion_for(failed)), j, failed));
  EXPECT_TRUE(rejected_as_illegal(
      *db, db->complete(ref_of(j), completion_for(succeeded)), j, succeeded));
  EXPECT_TRUE(
      rejected_as_illegal(*db, db->cancel(ref_of(j), "late"), j, cancelled));
  EXPECT_TRUE(rejected_as_illegal(*db, db->start(ref_of(j)), j, running));
}

TEST(EngineCancel, CancelsPendingJob) {
  test_engine db;
  job j = create_job(*db);
  auto r = db->cancel(ref_of(j), "no longer needed");
  ASSERT_TRUE(ok(r));
  EXPECT_EQ(r->status, cancelled);
  EXPECT_EQ(r->error, (job_error{"cancelled", "no longer needed"}));
  EXPECT_EQ(r->revision, 2u);
  EXPECT_EQ(r->started_at, std::nullopt);
  ASSERT_TRUE(r->completed_at.has_value());
  EXPECT_GE(*r->completed_at, r->created_at);
  ASSERT_EQ(r->history.size(), 2u);
  EXPECT_EQ(r->history.back().step, "cancelled");
  EXPECT_EQ(r->history.back().status, cancelled);
  EXPECT_TRUE(unchanged(*db, *r));
}

TEST(EngineCancel, CancelsRunningJob) {
  test_engine db;
  job j = create_in_status(*db, running);
  mutation_options opts;
  opts.details = boost::json::object{{"by", "admin"}};
  auto r = db->cancel(ref_of(j), "shutting down", opts);
  ASSERT_TRUE(ok(r));
  EXPECT_EQ(r->status, cancelled);
  EXPECT_EQ(r->error, (job_error{"cancelled", "shutting down"}));
  EXPECT_EQ(r->revision, j.revision + 1);
  EXPECT_EQ(r->started_at, j.started_at);
  ASSERT_TRUE(r->completed_at.has_value());
  EXPECT_GE(*r->completed_at, *r->started_at);
  EXPECT_EQ(r->history.back().step, "cancelled");
  EXPECT_EQ(r->history.back().details, opts.details);
  EXPECT_TRUE(unchanged(*db, *r));
}

TEST(EngineCancel, ReasonIsTheEventDetailsWhenNoneAreGiven) {
  // docs/data-model.md: a cancel without details records {"reason": ...}.
  test_engine db;
  job j = create_job(*db);
  auto r = db->cancel(ref_of(j), "duplicate upload");
  ASSERT_TRUE(ok(r));
  EXPECT_EQ(r->history.back().details, (boost::json::value(boost::json::object{
                                           {"reason", "duplicate upload"}})));
}

TEST(EngineCancel, EmptyReasonRecordsEmptyMessage) {
  test_engine db;
  job j = create_job(*db);
  auto r = db->cancel(ref_of(j));
  ASSERT_TRUE(ok(r));
  EXPECT_EQ(r->error, (job_error{"cancelled", ""}));
}

TEST(EngineCancel, TerminalJobIsIllegalTransition) {
  test_engine db;
  for (job_status s : {succeeded, partially_succeeded, failed, cancelled}) {
    SCOPED_TRACE(std::string(to_string(s)));
    job j = create_in_status(*db, s);
    EXPECT_TRUE(
        rejected_as_illegal(*db, db->cancel(ref_of(j), "late"), j, cancelled));
  }
}

TEST(EngineCancel, OversizedReasonIsTooLarge) {
  test_engine db;
  job j = create_in_status(*db, running);
  const std::size_t max_text = db->options().limits.max_text_size;
  EXPECT_TRUE(failed_with(db->cancel(ref_of(j), text_of_size(max_text + 1)),
                          errc::too_large));
  EXPECT_TRUE(unchanged(*db, j));
  auto r = db->cancel(ref_of(j), text_of_size(max_text));
  ASSERT_TRUE(ok(r));
  EXPECT_EQ(r->error->message.size(), max_text);
}

TEST(EngineCas, MatchingRevisionSucceeds) {
  test_engine db;
  job j = create_job(*db);
  mutation_options opts;
  opts.expected_revision = j.revision;
  auto started = db->start(ref_of(j), opts);
  ASSERT_TRUE(ok(started));
  opts.expected_revision = started->revision;
  auto progressed =
      db->report_progress(ref_of(j), progress{50.0, {}, {}}, opts);
  ASSERT_TRUE(ok(progressed));
  opts.expected_revision = progressed->revision;
  auto done = db->complete(ref_of(j), completion_for(succeeded), opts);
  ASSERT_TRUE(ok(done));
  EXPECT_EQ(done->revision, 4u);

  job other = create_job(*db);
  mutation_options cancel_opts;
  cancel_opts.expected_revision = 1;
  EXPECT_TRUE(ok(db->cancel(ref_of(other), "x", cancel_opts)));
}

TEST(EngineCas, StaleRevisionIsConflictAndChangesNothing) {
  test_engine db;
  job pending_job = create_job(*db);
  job running_job = create_in_status(*db, running);

  for (std::uint64_t wrong : {std::uint64_t{0}, std::uint64_t{5}}) {
    SCOPED_TRACE(wrong);
    mutation_options stale;
    stale.expected_revision = wrong;
    std::vector<std::pair<job, result<job>>> attempts;
    attempts.emplace_back(pending_job, db->start(ref_of(pending_job), stale));
    attempts.emplace_back(pending_job,
                          db->cancel(ref_of(pending_job), "x", stale));
    attempts.emplace_back(
        running_job,
        db->report_progress(ref_of(running_job), progress{1.0, {}, {}}, stale));
    attempts.emplace_back(
        running_job,
        db->complete(ref_of(running_job), completion_for(succeeded), stale));
    attempts.emplace_back(running_job,
                          db->cancel(ref_of(running_job), "x", stale));
    for (const auto& [before, r] : attempts) {
      ASSERT_TRUE(failed_with(r, errc::conflict));
      EXPECT_EQ(r.error().current_revision(), before.revision);
      EXPECT_EQ(r.error().current_status(), before.status);
      EXPECT_TRUE(unchanged(*db, before));
    }
  }
}

TEST(EngineCas, RacingCompletionsWithOneRevisionHaveOneWinner) {
  test_engine db;
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE(round);
    job j = create_in_status(*db, running);
    mutation_options opts;
    opts.expected_revision = j.revision;
    std::optional<result<job>> a, b;
    std::atomic<int> ready{0};
    auto racer = [&](std::optional<result<job>>& out, job_status s) {
      ready.fetch_add(1);
      while (ready.load() < 2) std::this_thread::yield();
      out.emplace(db->complete(ref_of(j), completion_for(s), opts));
    };
    std::thread ta(racer, std::ref(a), succeeded);
    std::thread tb(racer, std::ref(b), failed);
    ta.join();
    tb.join();

    ASSERT_NE(a->has_value(), b->has_value())
        << "a: " << (a->has_value() ? "ok" : a->error().message())
        << ", b: " << (b->has_value() ? "ok" : b->error().message());
    const result<job>& winner = a->has_value() ? *a : *b;
    const result<job>& loser = a->has_value() ? *b : *a;
    // Both conditions hold for the loser (stale revision, terminal job); the
    // header does not rank them, so either code is acceptable.
    EXPECT_TRUE(loser.code() == errc::conflict ||
                loser.code() == errc::illegal_transition)
        << loser.error().message();
    EXPECT_EQ(loser.error().current_status(), winner->status);
    EXPECT_EQ(loser.error().current_revision(), winner->revision);
    EXPECT_EQ(winner->revision, j.revision + 1);
    EXPECT_TRUE(unchanged(*db, *winner));
  }
}

TEST(EngineCas, RacingCancelAndCompleteHaveOneWinner) {
  test_engine db;
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE(round);
    job j = create_in_status(*db, running);
    std::optional<result<job>> done, cancel;
    std::atomic<int> ready{0};
    std::thread worker([&] {
      ready.fetch_add(1);
      while (ready.load() < 2) std::this_thread::yield();
      done.emplace(db->complete(ref_of(j), completion_for(succeeded)));
    });
    std::thread user([&] {
      ready.fetch_add(1);
      while (ready.load() < 2) std::this_thread::yield();
      cancel.emplace(db->cancel(ref_of(j), "user"));
    });
    worker.join();
    user.join();

    ASSERT_NE(done->has_value(), cancel->has_value());
    if (cancel->has_value()) {
      ASSERT_TRUE(failed_with(*done, errc::illegal_transition));
      EXPECT_EQ(done->error().current_status(), cancelled);
      EXPECT_TRUE(unchanged(*db, **cancel));
    } else {
      ASSERT_TRUE(failed_with(*cancel, errc::illegal_transition));
      EXPECT_EQ(cancel->error().current_status(), succeeded);
      EXPECT_TRUE(unchanged(*db, **done));
    }
  }
}

}  // namespace
}  // namespace jobstate
