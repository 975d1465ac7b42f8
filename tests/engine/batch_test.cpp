// Batch jobs: a parent whose counters and status follow its children.
#include <jobstate/jobstate.hpp>

#include "support/jobs.hpp"
#include "support/test_engine.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace jobstate::test {
namespace {

batch_request make_batch(std::size_t children,
                         std::optional<std::string> key = std::nullopt) {
  batch_request r;
  r.parent = make_request("batch_parse", boost::json::object{{"files", 3}});
  r.parent.idempotency_key = std::move(key);
  for (std::size_t i = 0; i < children; ++i) {
    r.children.push_back(batch_child{
        "parse", boost::json::object{{"page", i}},
        "doc-" + std::to_string(i), std::nullopt});
  }
  return r;
}

job_ref child_ref(const job& parent, const job_id& id) {
  return job_ref{parent.account_id, parent.project_id, id};
}

job parent_now(engine& e, const job& parent) {
  return e.get(ref_of(parent)).value();
}

// Drives child `id` of `parent` to `status` from pending.
void finish_child(engine& e, const job& parent, const job_id& id,
                  job_status status) {
  const job_ref ref = child_ref(parent, id);
  if (status == job_status::cancelled) {
    e.cancel(ref, "not needed").value();
    return;
  }
  e.start(ref).value();
  if (status != job_status::running) {
    e.complete(ref, completion_for(status)).value();
  }
}

TEST(Batch, CreateMakesParentAndChildrenInOneCommit) {
  test_engine e;
  const auto before = e->last_sequence().value();
  const auto b = e->create_batch(make_batch(5)).value();
  EXPECT_TRUE(b.created);
  EXPECT_TRUE(b.parent.is_batch);
  EXPECT_EQ(b.parent.status, job_status::pending);
  ASSERT_TRUE(b.parent.progress.counts);
  EXPECT_EQ(b.parent.progress.counts->total, 5u);
  EXPECT_EQ(b.parent.progress.counts->pending, 5u);
  ASSERT_EQ(b.child_ids.size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) {
    const job child = e->get(child_ref(b.parent, b.child_ids[i])).value();
    EXPECT_EQ(child.parent_id, b.parent.id);
    EXPECT_EQ(child.source_id, "doc-" + std::to_string(i));
    EXPECT_EQ(child.status, job_status::pending);
  }
  // Parent and children: 6 changes, consecutive.
  EXPECT_EQ(e->last_sequence().value(), before + 6);
}

TEST(Batch, RejectsEmptyOversizedAndInvalidChildren) {
  test_engine e([](options& o) { o.limits.max_batch_children = 3; });
  EXPECT_TRUE(failed_with(e->create_batch(make_batch(0)), errc::invalid_argument));
  EXPECT_TRUE(failed_with(e->create_batch(make_batch(4)), errc::too_large));
  auto bad = make_batch(2);
  bad.children[1].kind.clear();
  const auto r = e->create_batch(bad);
  ASSERT_TRUE(failed_with(r, errc::invalid_argument));
  EXPECT_NE(r.error().detail().find("children[1]"), std::string::npos)
      << r.error().detail();
  EXPECT_TRUE(list_all(*e, make_query()).empty());  // Nothing was written.
}

TEST(Batch, IdempotencyKeyReturnsTheSameBatch) {
  test_engine e;
  const auto first = e->create_batch(make_batch(3, "batch-key")).value();
  const auto again = e->create_batch(make_batch(3, "batch-key")).value();
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.parent.id, first.parent.id);
  EXPECT_EQ(again.child_ids, first.child_ids);
}

TEST(Batch, ParentRunsWhenTheFirstChildStarts) {
  test_engine e;
  const auto b = e->create_batch(make_batch(3)).value();
  e->cancel(child_ref(b.parent, b.child_ids[0]), "skip").value();
  EXPECT_EQ(parent_now(*e, b.parent).status, job_status::pending);
  e->start(child_ref(b.parent, b.child_ids[1])).value();
  const job p = parent_now(*e, b.parent);
  EXPECT_EQ(p.status, job_status::running);
  EXPECT_TRUE(p.started_at);
  EXPECT_EQ(p.progress.counts->running, 1u);
  EXPECT_EQ(p.progress.counts->pending, 2u);
  EXPECT_EQ(p.progress.counts->cancelled, 1u);
}

struct status_row {
  std::vector<job_status> children;
  job_status parent;
};

class BatchStatusTable : public ::testing::TestWithParam<status_row> {};

// docs/batches.md, one row each.
TEST_P(BatchStatusTable, ParentStatusFollowsChildren) {
  const status_row& row = GetParam();
  test_engine e;
  const auto b = e->create_batch(make_batch(row.children.size())).value();
  for (std::size_t i = 0; i < row.children.size(); ++i) {
    EXPECT_FALSE(is_terminal(parent_now(*e, b.parent).status));
    finish_child(*e, b.parent, b.child_ids[i], row.children[i]);
  }
  const job p = parent_now(*e, b.parent);
  EXPECT_EQ(p.status, row.parent);
  EXPECT_TRUE(p.completed_at);
  EXPECT_EQ(p.progress.counts->pending, 0u);
  EXPECT_EQ(p.progress.percent, 100.0);
  EXPECT_EQ(p.history.back().step, to_string(row.parent));
}

using S = job_status;
INSTANTIATE_TEST_SUITE_P(
    Rows, BatchStatusTable,
    ::testing::Values(
        status_row{{S::succeeded, S::succeeded}, S::succeeded},
        status_row{{S::succeeded, S::partially_succeeded},
                   S::partially_succeeded},
        status_row{{S::succeeded, S::failed}, S::partially_succeeded},
        status_row{{S::succeeded, S::cancelled}, S::partially_succeeded},
        status_row{{S::failed, S::failed}, S::failed},
        status_row{{S::failed, S::cancelled}, S::failed},
        status_row{{S::cancelled, S::cancelled}, S::cancelled},
        status_row{{S::partially_succeeded}, S::partially_succeeded}));

TEST(Batch, ParentCannotBeDrivenByHand) {
  test_engine e;
  const auto b = e->create_batch(make_batch(2)).value();
  const job_ref parent = ref_of(b.parent);
  EXPECT_TRUE(failed_with(e->start(parent), errc::illegal_transition));
  e->start(child_ref(b.parent, b.child_ids[0])).value();
  EXPECT_TRUE(failed_with(e->complete(parent, completion_for(S::succeeded)),
                          errc::illegal_transition));
  EXPECT_TRUE(failed_with(e->report_progress(parent, progress{50.0, {}, {}}),
                          errc::illegal_transition));
}

TEST(Batch, CancellingTheParentCancelsUnfinishedChildren) {
  test_engine e;
  const auto b = e->create_batch(make_batch(4)).value();
  finish_child(*e, b.parent, b.child_ids[0], S::succeeded);
  finish_child(*e, b.parent, b.child_ids[1], S::running);
  const job p = e->cancel(ref_of(b.parent), "user asked").value();
  EXPECT_EQ(p.status, S::cancelled);
  EXPECT_EQ(p.progress.counts->succeeded, 1u);
  EXPECT_EQ(p.progress.counts->cancelled, 3u);
  EXPECT_EQ(p.progress.counts->pending, 0u);
  EXPECT_EQ(p.progress.counts->running, 0u);
  EXPECT_EQ(e->get(child_ref(b.parent, b.child_ids[0]))->status, S::succeeded);
  for (std::size_t i = 1; i < 4; ++i) {
    const job c = e->get(child_ref(b.parent, b.child_ids[i])).value();
    EXPECT_EQ(c.status, S::cancelled);
    ASSERT_TRUE(c.error);
    EXPECT_NE(c.error->message.find("user asked"), std::string::npos);
  }
  EXPECT_EQ(parent_now(*e, b.parent), p);
}

TEST(Batch, CancellingAFinishedParentChangesNothing) {
  test_engine e;
  const auto b = e->create_batch(make_batch(1)).value();
  finish_child(*e, b.parent, b.child_ids[0], S::failed);
  const job before = parent_now(*e, b.parent);
  EXPECT_TRUE(failed_with(e->cancel(ref_of(b.parent)), errc::illegal_transition));
  EXPECT_EQ(parent_now(*e, b.parent), before);
}

TEST(Batch, RerunOfAPartialBatchRerunsOnlyChildrenThatDidNotSucceed) {
  test_engine e;
  const auto b = e->create_batch(make_batch(4)).value();
  finish_child(*e, b.parent, b.child_ids[0], S::succeeded);
  finish_child(*e, b.parent, b.child_ids[1], S::failed);
  finish_child(*e, b.parent, b.child_ids[2], S::succeeded);
  finish_child(*e, b.parent, b.child_ids[3], S::cancelled);
  ASSERT_EQ(parent_now(*e, b.parent).status, S::partially_succeeded);

  const job rerun = e->rerun(ref_of(b.parent)).value();
  EXPECT_TRUE(rerun.is_batch);
  EXPECT_EQ(rerun.original_job_id, b.parent.id);
  EXPECT_EQ(rerun.attempt, 2u);
  EXPECT_EQ(rerun.progress.counts->total, 2u);
  list_query q = make_query();
  q.parent_id = rerun.id;
  const auto children = list_all(*e, q);
  ASSERT_EQ(children.size(), 2u);
  // Newest first: the rerun of child 3, then of child 1.
  EXPECT_EQ(children[0].original_job_id, b.child_ids[3]);
  EXPECT_EQ(children[1].original_job_id, b.child_ids[1]);
  for (const job& c : children) {
    EXPECT_EQ(c.status, S::pending);
    EXPECT_EQ(c.attempt, 2u);
  }
  // The original batch is untouched.
  EXPECT_EQ(parent_now(*e, b.parent).status, S::partially_succeeded);
}

TEST(Batch, RerunOfASucceededBatchRerunsEveryChild) {
  test_engine e;
  const auto b = e->create_batch(make_batch(2)).value();
  for (const job_id& id : b.child_ids) finish_child(*e, b.parent, id, S::succeeded);
  const job rerun = e->rerun(ref_of(b.parent)).value();
  EXPECT_EQ(rerun.progress.counts->total, 2u);
}

TEST(Batch, ChildRerunAloneIsAStandaloneJob) {
  test_engine e;
  const auto b = e->create_batch(make_batch(2)).value();
  finish_child(*e, b.parent, b.child_ids[0], S::failed);
  const job again = e->rerun(child_ref(b.parent, b.child_ids[0])).value();
  EXPECT_FALSE(again.parent_id);
  EXPECT_EQ(again.original_job_id, b.child_ids[0]);
  EXPECT_EQ(parent_now(*e, b.parent).progress.counts->total, 2u);
}

TEST(Batch, ChildrenPageByCursorAndStatus) {
  test_engine e;
  const auto b = e->create_batch(make_batch(25)).value();
  for (std::size_t i = 0; i < 25; i += 3) {
    finish_child(*e, b.parent, b.child_ids[i], S::succeeded);
  }
  list_query q = make_query(4);
  q.parent_id = b.parent.id;
  const auto all = list_all(*e, q);
  ASSERT_EQ(all.size(), 25u);
  std::vector<job_id> expected(b.child_ids.rbegin(), b.child_ids.rend());
  EXPECT_EQ(ids_of(all), expected);

  q.status = S::succeeded;
  const auto done = list_all(*e, q);
  EXPECT_EQ(done.size(), 9u);
  for (const job& c : done) EXPECT_EQ(c.status, S::succeeded);
  q.status = S::pending;
  EXPECT_EQ(list_all(*e, q).size(), 16u);
}

TEST(Batch, CountersAddUpUnderConcurrentChildUpdates) {
  test_engine e;
  constexpr std::size_t n = 200;
  const auto b = e->create_batch(make_batch(n)).value();
  std::vector<std::thread> workers;
  for (std::size_t t = 0; t < 4; ++t) {
    workers.emplace_back([&, t] {
      for (std::size_t i = t; i < n; i += 4) {
        const job_status outcome = i % 5 == 0   ? S::failed
                                   : i % 7 == 0 ? S::cancelled
                                                : S::succeeded;
        finish_child(*e, b.parent, b.child_ids[i], outcome);
        const auto c = *parent_now(*e, b.parent).progress.counts;
        EXPECT_EQ(c.total, c.succeeded + c.failed + c.cancelled + c.pending);
      }
    });
  }
  for (auto& w : workers) w.join();
  const job p = parent_now(*e, b.parent);
  const auto& c = *p.progress.counts;
  EXPECT_EQ(c.pending, 0u);
  EXPECT_EQ(c.total, n);
  EXPECT_EQ(c.succeeded + c.failed + c.cancelled, n);
  std::size_t failed = 0, cancelled = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (i % 5 == 0) ++failed;
    else if (i % 7 == 0) ++cancelled;
  }
  EXPECT_EQ(c.failed, failed);
  EXPECT_EQ(c.cancelled, cancelled);
  EXPECT_EQ(p.status, S::partially_succeeded);
}

TEST(Batch, CountersSurviveReopen) {
  test_engine e;
  const auto b = e->create_batch(make_batch(3)).value();
  finish_child(*e, b.parent, b.child_ids[0], S::succeeded);
  const job before = parent_now(*e, b.parent);
  e.reopen();
  EXPECT_EQ(parent_now(*e, b.parent), before);
  finish_child(*e, b.parent, b.child_ids[1], S::succeeded);
  finish_child(*e, b.parent, b.child_ids[2], S::succeeded);
  EXPECT_EQ(parent_now(*e, b.parent).status, S::succeeded);
}

TEST(Batch, WaiterOnTheParentWakesOnChildChanges) {
  test_engine e;
  const auto b = e->create_batch(make_batch(2)).value();
  std::thread child_worker([&] {
    e->start(child_ref(b.parent, b.child_ids[0])).value();
  });
  const auto w = e->wait(ref_of(b.parent),
                         wait_condition::changed_after(b.parent.revision),
                         std::chrono::seconds(30))
                     .value();
  child_worker.join();
  EXPECT_FALSE(w.timed_out);
  EXPECT_GT(w.job.revision, b.parent.revision);
}

}  // namespace
}  // namespace jobstate::test
