// Group commit as one batch of mutations in one write transaction: each
// mutation computes its effects from what the batch has written so far, so
// mutations of one job see each other; one that fails writes nothing and
// fails alone; one that fails part-way through its writes (the map full at
// its limit) is left out and the rest of the batch commits without it.
//
// To make a batch on purpose, a second process holds the database's write
// lock while the mutations are queued: the committer blocks in its next
// transaction, and everything queued meanwhile commits together.
#include <jobstate/async.hpp>
#include <jobstate/check.hpp>
#include <jobstate/jobstate.hpp>

#include "support/jobs.hpp"
#include "support/test_engine.hpp"
#include "support/waits.hpp"
#include "support/writer_process.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <vector>

namespace jobstate {
namespace {

using namespace std::chrono_literals;

using test::completion_for;
using test::create_job;
using test::make_request;
using test::ref_of;
using test::test_engine;

constexpr std::uint64_t one_mib = std::uint64_t{1} << 20;

// The write lock of the database in `db` held by another process for
// `hold`, from construction until that process ends.
class held_write_lock {
 public:
  held_write_lock(test_engine& db, std::chrono::milliseconds hold)
      : marker_(db.dir().path() / "write-lock.held"),
        writer_({db.options().path, "hold", marker_.string(),
                 std::to_string(hold.count())}) {
    EXPECT_TRUE(test::eventually([&] {
      return std::filesystem::exists(marker_);
    })) << "the writer never took the write lock";
  }
  ~held_write_lock() { std::filesystem::remove(marker_); }
  /// Waits for the holder to end (releasing the lock).
  void release() { EXPECT_EQ(writer_.finish().exit_code, 0); }

 private:
  std::filesystem::path marker_;
  test::writer_process writer_;
};

// What an operation completed with.
template <class T>
struct answer {
  boost::system::error_code ec;
  T value{};
};

// A handler that hands what it is called with to `out`. Not use_future: an
// error would cross threads as an exception, whose reference count
// (libstdc++'s, not instrumented) ThreadSanitizer cannot see.
template <class T>
auto to(std::future<answer<T>>& out) {
  auto p = std::make_shared<std::promise<answer<T>>>();
  out = p->get_future();
  return [p](boost::system::error_code ec, T value) {
    p->set_value({ec, std::move(value)});
  };
}

// The answers of a job's start, a 40% progress report and its success,
// queued in that order by queue_lifecycle.
struct queued_lifecycle {
  std::future<answer<job>> started, progressed, done;
};
queued_lifecycle queue_lifecycle(engine& e, const job_ref& ref) {
  queued_lifecycle q;
  async_start(e, ref, {}, to(q.started));
  progress p;
  p.percent = 40;
  async_report_progress(e, ref, p, {}, to(q.progressed));
  async_complete(e, ref, completion_for(job_status::succeeded), {}, to(q.done));
  return q;
}

std::uint64_t commits_made(const engine& e) {
  auto s = e.stats();
  EXPECT_TRUE(s.has_value());
  return s ? s->commits.count : 0;
}

TEST(GroupCommit, OneBatchsMutationsOfOneJobSeeEachOther) {
  test_engine db;
  const job a = create_job(*db);
  const job b = create_job(*db);
  const auto commits_before = commits_made(*db);

  held_write_lock lock(db, 1000ms);
  // Queued while the committer is blocked: at most two commits (one that
  // took the first mutation before blocking, one for the rest).
  auto [a_started, a_progressed, a_done] = queue_lifecycle(*db, ref_of(a));
  std::future<answer<job>> b_started, b_again, b_stale, nobody;
  async_start(*db, ref_of(b), {}, to(b_started));
  async_start(*db, ref_of(b), {}, to(b_again));  // illegal
  mutation_options stale;
  stale.expected_revision = b.revision;  // b's start moves it on
  async_cancel(*db, ref_of(b), "stale", stale, to(b_stale));
  job_ref unknown = ref_of(a);
  unknown.id = job_id::generate();
  async_start(*db, unknown, {}, to(nobody));
  lock.release();

  for (auto* f : {&a_started, &a_progressed, &a_done, &b_started, &b_again,
                  &b_stale, &nobody}) {
    ASSERT_TRUE(test::ready_within(*f)) << "a mutation never completed";
  }
  const auto started = a_started.get();
  const auto progressed = a_progressed.get();
  const auto done = a_done.get();
  ASSERT_FALSE(started.ec) << started.ec.message();
  ASSERT_FALSE(progressed.ec) << progressed.ec.message();
  ASSERT_FALSE(done.ec) << done.ec.message();
  const job& a_after = done.value;
  EXPECT_EQ(started.value.status, job_status::running);
  EXPECT_EQ(progressed.value.progress.percent, 40);
  EXPECT_EQ(a_after.status, job_status::succeeded);
  EXPECT_EQ(a_after.revision, a.revision + 3);
  ASSERT_EQ(a_after.history.size(), 4u);
  EXPECT_EQ(a_after.history[1].step, "started");
  EXPECT_EQ(a_after.history[2].step, "progress");

  const auto b_first = b_started.get();
  ASSERT_FALSE(b_first.ec) << b_first.ec.message();
  EXPECT_EQ(b_first.value.status, job_status::running);
  EXPECT_TRUE(test::carries(b_again.get().ec, errc::illegal_transition))
      << "a second start of one job in one batch";
  EXPECT_TRUE(test::carries(b_stale.get().ec, errc::conflict))
      << "a cancel at a revision the batch moved past";
  EXPECT_TRUE(test::carries(nobody.get().ec, errc::not_found))
      << "a start of an unknown job";
  EXPECT_LE(commits_made(*db) - commits_before, 2u);

  // Stored as acknowledged; the failures left no trace, not even in the
  // feed, whose sequences stay consecutive.
  auto stored_b = db->get(ref_of(b));
  ASSERT_TRUE(stored_b.has_value());
  EXPECT_EQ(stored_b->status, job_status::running);
  EXPECT_EQ(stored_b->revision, b.revision + 1);
  EXPECT_EQ(db->get(ref_of(a)).value(), a_after);
  auto feed = db->changes(0);
  ASSERT_TRUE(feed.has_value());
  ASSERT_EQ(feed->changes.size(), 2u + 4u);  // two creates, four mutations
  for (std::size_t i = 0; i < feed->changes.size(); ++i) {
    EXPECT_EQ(feed->changes[i].sequence, i + 1);
  }
  db.close();  // The check opens the database itself.
  auto checked = check_database(db.options().path);
  ASSERT_TRUE(checked.has_value()) << checked.error().message();
  EXPECT_TRUE(checked->ok());
}

// Fills a database whose map cannot grow with jobs of `bytes` until a
// create reports storage_full. Returns how many fitted.
int fill(engine& e, std::size_t bytes) {
  for (int i = 0; i < 1000; ++i) {
    auto created = e.create(make_request(
        "ingest",
        boost::json::object{{"n", i}, {"blob", test::text_of_size(bytes)}}));
    if (!created) {
      EXPECT_EQ(created.code(), errc::storage_full)
          << created.error().message();
      return i;
    }
  }
  ADD_FAILURE() << "the map never filled";
  return 0;
}

TEST(GroupCommit, AtTheMapLimitWhatDoesNotFitFailsAloneInItsBatch) {
  test_engine db([](options& o) {
    o.map_size = 4 * one_mib;
    o.max_map_size = 4 * one_mib;
  });
  constexpr std::size_t big = 100'000;
  ASSERT_GE(fill(*db, big), 20) << "the map held too few jobs to test with";
  const auto jobs_before = test::list_all(*db, test::make_query(1000)).size();

  held_write_lock lock(db, 1000ms);
  std::vector<std::future<answer<created_job>>> small_before(3);
  for (auto& f : small_before) async_create(*db, make_request("small"), to(f));
  std::future<answer<created_job>> too_big;
  async_create(
      *db,
      make_request("ingest",
                   boost::json::object{{"blob", test::text_of_size(big)}}),
      to(too_big));
  std::vector<std::future<answer<created_job>>> small_after(3);
  for (auto& f : small_after) async_create(*db, make_request("small"), to(f));
  lock.release();

  ASSERT_TRUE(test::ready_within(too_big));
  EXPECT_TRUE(test::carries(too_big.get().ec, errc::storage_full))
      << "a job larger than the room left";
  std::size_t made = 0;
  for (auto* list : {&small_before, &small_after}) {
    for (auto& f : *list) {
      ASSERT_TRUE(test::ready_within(f));
      const auto a = f.get();
      ASSERT_FALSE(a.ec) << a.ec.message();
      EXPECT_TRUE(a.value.created);
      ++made;
    }
  }
  EXPECT_EQ(test::list_all(*db, test::make_query(1000)).size(),
            jobs_before + made);
  db.close();  // The check opens the database itself.
  auto checked = check_database(db.options().path);
  ASSERT_TRUE(checked.has_value()) << checked.error().message();
  EXPECT_TRUE(checked->ok());
}

// A purge is the way out of a full database: it may use headroom past the
// map's limit. Batched behind a write that does not fit, it must still get
// it (regression: only the first write that found the map full was asked
// whether it frees space).
TEST(GroupCommit, AtTheMapLimitAPurgeBatchedBehindAFullWriteStillRuns) {
  test_engine db([](options& o) {
    o.map_size = 4 * one_mib;
    o.max_map_size = 4 * one_mib;
  });
  constexpr std::size_t big = 100'000;
  // Fill with finished jobs, so that the purge has work to do.
  int finished = 0;
  for (int i = 0; i < 1000; ++i) {
    auto created = db->create(make_request(
        "ingest",
        boost::json::object{{"n", i}, {"blob", test::text_of_size(big)}}));
    if (!created) {
      ASSERT_EQ(created.code(), errc::storage_full);
      break;
    }
    if (!db->cancel(ref_of(created->job), "filling")) break;
    ++finished;
  }
  ASSERT_GE(finished, 20) << "the map held too few jobs to test with";
  // Then to the brim, so that even the purge's tombstones need headroom.
  int small = 0;
  while (small < 100'000 && db->create(make_request("small"))) ++small;
  ASSERT_LT(small, 100'000) << "small creates never filled the map";

  held_write_lock lock(db, 1000ms);
  const auto big_request = [&] {
    return make_request("ingest",
                        boost::json::object{{"blob", test::text_of_size(big)}});
  };
  // The committer takes the first and blocks; the next two queue together.
  std::future<answer<created_job>> first, second;
  async_create(*db, big_request(), to(first));
  async_create(*db, big_request(), to(second));
  auto purged = std::async(std::launch::async, [&] {
    return db->purge(purge_request{std::chrono::seconds(0)});
  });
  lock.release();

  ASSERT_TRUE(test::ready_within(purged));
  const auto p = purged.get();
  ASSERT_TRUE(p.has_value()) << p.error().message();
  EXPECT_EQ(p->purged, static_cast<std::uint64_t>(finished));
  for (auto* f : {&first, &second}) {
    ASSERT_TRUE(test::ready_within(*f));
    // Fits or not: either answer is fine, the purge's is not.
    const auto ec = f->get().ec;
    EXPECT_TRUE(!ec || test::carries(ec, errc::storage_full)) << ec.message();
  }
  db.close();
  auto checked = check_database(db.options().path);
  ASSERT_TRUE(checked.has_value()) << checked.error().message();
  EXPECT_TRUE(checked->ok());
}

// Waiters answered after a commit get each job exactly as a read afterwards
// returns it, history included: a job the batch wrote three times as the
// last write left it, and a batch parent, changed only by its child's writes
// (its counters), as they rolled it up, not as any one write returned it.
// Terminal conditions: whichever commit answers, the job changes no more.
TEST(GroupCommit, WaitersGetEachJobAsTheWholeBatchLeftIt) {
  test_engine db;
  const job a = create_job(*db);
  batch_request br;
  br.parent = make_request("batch_parse");
  br.children.push_back(batch_child{"parse", boost::json::object{{"page", 1}},
                                    "doc-1", std::nullopt});
  const auto batch = db->create_batch(br);
  ASSERT_TRUE(batch.has_value());
  const job parent = batch->parent;
  job_ref child = ref_of(parent);
  child.id = batch->child_ids.at(0);

  std::future<answer<wait_result>> on_a, on_parent, on_child;
  async_wait(*db, ref_of(a), wait_condition::terminal(), test::long_timeout,
             to(on_a));
  async_wait(*db, ref_of(parent), wait_condition::terminal(),
             test::long_timeout, to(on_parent));
  async_wait(*db, child, wait_condition::terminal(), test::long_timeout,
             to(on_child));
  ASSERT_TRUE(test::eventually([&] { return test::waits_pending(*db) == 3; }));

  held_write_lock lock(db, 1000ms);
  auto [a_started, a_progressed, a_done] = queue_lifecycle(*db, ref_of(a));
  std::future<answer<job>> child_started, child_done;
  async_start(*db, child, {}, to(child_started));
  async_complete(*db, child, completion_for(job_status::succeeded), {},
                 to(child_done));
  lock.release();
  for (auto* f :
       {&a_started, &a_progressed, &a_done, &child_started, &child_done}) {
    ASSERT_TRUE(test::ready_within(*f)) << "a mutation never completed";
    EXPECT_FALSE(f->get().ec);
  }
  for (auto* f : {&on_a, &on_parent, &on_child}) {
    ASSERT_TRUE(test::ready_within(*f)) << "a waiter was never answered";
  }
  const auto answered_a = on_a.get();
  const auto answered_parent = on_parent.get();
  const auto answered_child = on_child.get();
  for (const auto* w : {&answered_a, &answered_parent, &answered_child}) {
    ASSERT_FALSE(w->ec) << w->ec.message();
    EXPECT_FALSE(w->value.timed_out);
    const auto now = db->get(ref_of(w->value.job));
    ASSERT_TRUE(now.has_value());
    // A terminal job changes no more: the answer is the job as it is.
    EXPECT_EQ(w->value.job, *now) << "job " << now->id.to_string();
  }
  EXPECT_EQ(answered_a.value.job.status, job_status::succeeded);
  EXPECT_EQ(answered_a.value.job.history.size(), 4u);
  EXPECT_EQ(answered_child.value.job.status, job_status::succeeded);
  ASSERT_TRUE(answered_parent.value.job.progress.counts);
  EXPECT_EQ(answered_parent.value.job.progress.counts->succeeded, 1u);
}

// A job one write of the batch returned and a later write changed as a side
// effect (a child started, then cancelled with its batch parent): its waiter
// gets the job as the side effect left it, not as the first write returned
// it. A first, unrelated write is queued ahead, so that the committer, which
// may take one write before it blocks on the held lock, leaves these two to
// one batch.
TEST(GroupCommit, AWaiterSeesASideEffectThatFollowsADirectWrite) {
  test_engine db;
  const job unrelated = create_job(*db);
  batch_request br;
  br.parent = make_request("batch_parse");
  for (int i = 0; i < 2; ++i) {
    br.children.push_back(batch_child{"parse", boost::json::object{{"page", i}},
                                      "doc-" + std::to_string(i),
                                      std::nullopt});
  }
  const auto batch = db->create_batch(br);
  ASSERT_TRUE(batch.has_value());
  job_ref child = ref_of(batch->parent);
  child.id = batch->child_ids.at(0);

  std::future<answer<wait_result>> on_child;
  async_wait(*db, child, wait_condition::terminal(), test::long_timeout,
             to(on_child));
  ASSERT_TRUE(test::eventually([&] { return test::waits_pending(*db) == 1; }));

  held_write_lock lock(db, 1000ms);
  std::future<answer<job>> ahead, started, cancelled;
  async_start(*db, ref_of(unrelated), {}, to(ahead));
  async_start(*db, child, {}, to(started));
  async_cancel(*db, ref_of(batch->parent), "stop", {}, to(cancelled));
  lock.release();
  for (auto* f : {&ahead, &started, &cancelled}) {
    ASSERT_TRUE(test::ready_within(*f)) << "a mutation never completed";
    const auto a = f->get();
    EXPECT_FALSE(a.ec) << a.ec.message();
  }
  ASSERT_TRUE(test::ready_within(on_child)) << "the waiter was never answered";
  const auto answered = on_child.get();
  ASSERT_FALSE(answered.ec) << answered.ec.message();
  EXPECT_EQ(answered.value.job.status, job_status::cancelled);
  const auto now = db->get(child);
  ASSERT_TRUE(now.has_value());
  EXPECT_EQ(answered.value.job, *now);
}

}  // namespace
}  // namespace jobstate
