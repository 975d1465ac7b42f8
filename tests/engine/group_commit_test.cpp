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

#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <vector>

namespace jobstate {
namespace {

namespace asio = boost::asio;
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
  auto a_started = async_start(*db, ref_of(a), {}, asio::use_future);
  progress p;
  p.percent = 40;
  auto a_progressed =
      async_report_progress(*db, ref_of(a), p, {}, asio::use_future);
  auto a_done =
      async_complete(*db, ref_of(a), completion_for(job_status::succeeded), {},
                     asio::use_future);
  auto b_started = async_start(*db, ref_of(b), {}, asio::use_future);
  auto b_again = async_start(*db, ref_of(b), {}, asio::use_future);  // illegal
  mutation_options stale;
  stale.expected_revision = b.revision;  // b's start moves it on
  auto b_stale = async_cancel(*db, ref_of(b), "stale", stale, asio::use_future);
  job_ref unknown = ref_of(a);
  unknown.id = job_id::generate();
  auto nobody = async_start(*db, unknown, {}, asio::use_future);
  lock.release();

  for (auto* f : {&a_started, &a_progressed, &a_done, &b_started, &b_again,
                  &b_stale, &nobody}) {
    ASSERT_TRUE(test::ready_within(*f)) << "a mutation never completed";
  }
  const job a_after = a_done.get();
  EXPECT_EQ(a_started.get().status, job_status::running);
  EXPECT_EQ(a_progressed.get().progress.percent, 40);
  EXPECT_EQ(a_after.status, job_status::succeeded);
  EXPECT_EQ(a_after.revision, a.revision + 3);
  ASSERT_EQ(a_after.history.size(), 4u);
  EXPECT_EQ(a_after.history[1].step, "started");
  EXPECT_EQ(a_after.history[2].step, "progress");

  EXPECT_EQ(b_started.get().status, job_status::running);
  try {
    b_again.get();
    ADD_FAILURE() << "a second start of one job in one batch succeeded";
  } catch (const boost::system::system_error& e) {
    EXPECT_TRUE(test::carries(e.code(), errc::illegal_transition)) << e.what();
  }
  try {
    b_stale.get();
    ADD_FAILURE() << "a cancel at a revision the batch moved past succeeded";
  } catch (const boost::system::system_error& e) {
    EXPECT_TRUE(test::carries(e.code(), errc::conflict)) << e.what();
  }
  try {
    nobody.get();
    ADD_FAILURE() << "a start of an unknown job succeeded";
  } catch (const boost::system::system_error& e) {
    EXPECT_TRUE(test::carries(e.code(), errc::not_found)) << e.what();
  }
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
  std::vector<std::future<created_job>> small_before;
  for (int i = 0; i < 3; ++i) {
    small_before.push_back(
        async_create(*db, make_request("small"), asio::use_future));
  }
  auto too_big = async_create(
      *db,
      make_request("ingest",
                   boost::json::object{{"blob", test::text_of_size(big)}}),
      asio::use_future);
  std::vector<std::future<created_job>> small_after;
  for (int i = 0; i < 3; ++i) {
    small_after.push_back(
        async_create(*db, make_request("small"), asio::use_future));
  }
  lock.release();

  ASSERT_TRUE(test::ready_within(too_big));
  try {
    too_big.get();
    ADD_FAILURE() << "a job larger than the room left was created";
  } catch (const boost::system::system_error& e) {
    EXPECT_TRUE(test::carries(e.code(), errc::storage_full)) << e.what();
  }
  std::size_t made = 0;
  for (auto* list : {&small_before, &small_after}) {
    for (auto& f : *list) {
      ASSERT_TRUE(test::ready_within(f));
      EXPECT_TRUE(f.get().created);
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
  auto first = async_create(*db, big_request(), asio::use_future);
  auto second = async_create(*db, big_request(), asio::use_future);
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
    try {
      f->get();  // Fits or not: either answer is fine, the purge is not.
    } catch (const boost::system::system_error& e) {
      EXPECT_TRUE(test::carries(e.code(), errc::storage_full)) << e.what();
    }
  }
  db.close();
  auto checked = check_database(db.options().path);
  ASSERT_TRUE(checked.has_value()) << checked.error().message();
  EXPECT_TRUE(checked->ok());
}

}  // namespace
}  // namespace jobstate
