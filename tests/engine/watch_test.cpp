// The change feed: engine::changes, the blocking watch and async_watch.
// Sequences are gap-free and in commit order (also under concurrent
// commits), reading resumes exactly from a position, filters, bookmarks,
// retention (expired), and invalid positions and limits.
#include <jobstate/async.hpp>
#include <jobstate/jobstate.hpp>

#include "support/jobs.hpp"
#include "support/test_engine.hpp"
#include "support/waits.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace jobstate {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using boost::system::error_code;

using test::completion_for;
using test::create_in_status;
using test::create_job;
using test::describe;
using test::failed_with;
using test::long_timeout;
using test::make_request;
using test::ok;
using test::ready_within;
using test::ref_of;
using test::run_until;
using test::sequences_of;
using test::test_engine;
using test::watch_outcome;

// Every change after `after`, read in pages of `page`, each resumed from the
// previous page's last_sequence.
std::vector<change> read_feed(const engine& e, std::uint64_t after,
                              std::size_t page = 1000) {
  std::vector<change> all;
  for (;;) {
    auto b = e.changes(after, page);
    if (!b) {
      ADD_FAILURE() << "changes(" << after << ", " << page
                    << ") failed: " << b.error().message();
      return all;
    }
    if (b->changes.empty()) {
      EXPECT_EQ(b->last_sequence, after) << "an empty page must not move";
      return all;
    }
    EXPECT_LE(b->changes.size(), page);
    EXPECT_EQ(b->last_sequence, b->changes.back().sequence);
    for (auto& c : b->changes) all.push_back(std::move(c));
    after = b->last_sequence;
  }
}

// Passes when the sequences of `changes` are exactly first, first+1, ...
::testing::AssertionResult gap_free_from(const std::vector<change>& changes,
                                         std::uint64_t first) {
  for (std::size_t i = 0; i < changes.size(); ++i) {
    if (changes[i].sequence != first + i) {
      return ::testing::AssertionFailure()
             << "position " << i << " holds " << describe(changes[i])
             << "; expected sequence " << first + i;
    }
  }
  return ::testing::AssertionSuccess();
}

watch_request watch_from(std::uint64_t after) {
  watch_request r;
  r.after = after;
  r.bookmark_after = long_timeout;
  return r;
}

// What a mutation returned, to compare with the change it recorded.
struct expected_change {
  job j;
  std::string step;
};

::testing::AssertionResult matches(const change& c, const expected_change& x) {
  const job& j = x.j;
  if (c.id == j.id && c.account_id == j.account_id &&
      c.project_id == j.project_id && c.status == j.status &&
      c.revision == j.revision && c.step == x.step &&
      c.at == j.history.back().at) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << describe(c) << " does not record " << x.step << " of "
         << ::testing::PrintToString(j);
}

// ------------------------------------------------------------ the feed

TEST(ChangeFeed, EmptyAtFirst) {
  test_engine db;
  EXPECT_EQ(db->last_sequence().value(), 0u);
  const auto b = db->changes(0);
  ASSERT_TRUE(ok(b));
  EXPECT_TRUE(b->changes.empty());
  EXPECT_EQ(b->last_sequence, 0u);
}

TEST(ChangeFeed, RecordsEveryMutationInCommitOrder) {
  test_engine db;
  std::vector<expected_change> expected;
  const job a = create_job(*db);
  expected.push_back({a, "created"});
  expected.push_back({db->start(ref_of(a)).value(), "started"});
  progress p;
  p.percent = 50;
  expected.push_back({db->report_progress(ref_of(a), p).value(), "progress"});
  expected.push_back(
      {db->complete(ref_of(a), completion_for(job_status::partially_succeeded))
           .value(),
       "partially_succeeded"});
  create_request other = make_request("ocr");
  other.project_id = "beta";
  const job b = create_job(*db, other);
  expected.push_back({b, "created"});
  expected.push_back(
      {db->cancel(ref_of(b), "not needed").value(), "cancelled"});
  const job c = db->rerun(ref_of(a)).value();
  expected.push_back({c, "created"});
  expected.push_back({db->start(ref_of(c)).value(), "started"});
  expected.push_back(
      {db->complete(ref_of(c), completion_for(job_status::failed)).value(),
       "failed"});

  const auto feed = read_feed(*db, 0);
  ASSERT_EQ(feed.size(), expected.size());
  EXPECT_TRUE(gap_free_from(feed, 1));
  for (std::size_t i = 0; i < feed.size(); ++i) {
    EXPECT_TRUE(matches(feed[i], expected[i])) << "at " << i;
  }
  EXPECT_EQ(db->last_sequence().value(), expected.size());
  // A failed mutation records nothing.
  EXPECT_FALSE(db->start(ref_of(a)));
  EXPECT_EQ(db->last_sequence().value(), expected.size());
}

TEST(ChangeFeed, PurgeRecordsPurgedChanges) {
  test_engine db;
  const job done = create_in_status(*db, job_status::succeeded);
  const job failed = create_in_status(*db, job_status::failed);
  create_in_status(*db, job_status::running);  // Not purged.
  const std::uint64_t before = db->last_sequence().value();
  const auto r = db->purge(purge_request{0s});
  ASSERT_TRUE(ok(r));
  ASSERT_EQ(r->purged, 2u);
  const auto feed = read_feed(*db, before);
  ASSERT_EQ(feed.size(), 2u);
  EXPECT_TRUE(gap_free_from(feed, before + 1));
  std::map<job_id, const job*> purged = {{done.id, &done},
                                         {failed.id, &failed}};
  for (const change& c : feed) {
    SCOPED_TRACE(describe(c));
    EXPECT_EQ(c.step, "purged");
    ASSERT_EQ(purged.count(c.id), 1u);
    const job& j = *purged[c.id];
    EXPECT_EQ(c.account_id, j.account_id);
    EXPECT_EQ(c.project_id, j.project_id);
    EXPECT_EQ(c.status, j.status);
    EXPECT_GE(c.revision, j.revision);
    purged.erase(c.id);
  }
}

TEST(ChangeFeed, ConcurrentCommitsAreGapFreeAndInCommitOrder) {
  test_engine db;
  constexpr int threads = 4;
  constexpr int jobs_each = 15;
  // What each thread did, in the order it did it: (id, step).
  std::vector<std::vector<std::pair<job_id, std::string>>> done(threads);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < jobs_each; ++i) {
        const job j = create_job(*db);
        done[t].emplace_back(j.id, "created");
        if (!db->start(ref_of(j))) return;
        done[t].emplace_back(j.id, "started");
        if (!db->complete(ref_of(j), completion_for(job_status::succeeded))) {
          return;
        }
        done[t].emplace_back(j.id, "succeeded");
      }
    });
  }
  for (auto& t : ts) t.join();

  const auto feed = read_feed(*db, 0, 7);
  ASSERT_EQ(feed.size(), std::size_t{threads * jobs_each * 3});
  EXPECT_TRUE(gap_free_from(feed, 1));
  EXPECT_EQ(db->last_sequence().value(), feed.size());

  // Each thread's changes appear in the order it made them: a call returns
  // only once committed, so its next change commits later.
  std::map<job_id, int> owner;
  for (int t = 0; t < threads; ++t) {
    for (const auto& [id, step] : done[t]) owner[id] = t;
  }
  std::vector<std::vector<std::pair<job_id, std::string>>> seen(threads);
  std::map<job_id, std::uint64_t> revision;
  for (const change& c : feed) {
    ASSERT_EQ(owner.count(c.id), 1u) << describe(c);
    seen[owner[c.id]].emplace_back(c.id, c.step);
    // Per job: revisions 1, 2, 3 in feed order.
    EXPECT_EQ(c.revision, ++revision[c.id]) << describe(c);
  }
  for (int t = 0; t < threads; ++t) {
    EXPECT_EQ(seen[t], done[t]) << "thread " << t;
  }
}

TEST(ChangeFeed, PagesResumeExactly) {
  test_engine db;
  for (int i = 0; i < 25; ++i) create_in_status(*db, job_status::running);
  const auto whole = db->changes(0, 1000).value();
  ASSERT_EQ(whole.changes.size(), 50u);
  EXPECT_EQ(whole.last_sequence, 50u);
  for (std::size_t page : {1u, 3u, 7u, 50u, 51u}) {
    SCOPED_TRACE("page " + std::to_string(page));
    EXPECT_EQ(read_feed(*db, 0, page), whole.changes);
  }
  // From any position, the rest exactly.
  for (std::uint64_t after : {0u, 1u, 17u, 49u}) {
    const auto rest = db->changes(after, 1000).value();
    ASSERT_EQ(rest.changes.size(), 50 - after);
    EXPECT_EQ(rest.changes.front().sequence, after + 1);
  }
  const auto end = db->changes(50, 10);
  ASSERT_TRUE(ok(end));
  EXPECT_TRUE(end->changes.empty());
  EXPECT_EQ(end->last_sequence, 50u);
}

// A consumer that reads in small pages while others write, and restarts
// (here: the engine is closed and opened again) from the last sequence it
// saw, sees every change exactly once.
TEST(ChangeFeed, AConsumerThatRestartsSeesEveryChangeOnce) {
  test_engine db;
  std::vector<change> consumed;
  std::uint64_t position = 0;
  auto consume_some = [&](int pages) {
    for (int i = 0; i < pages; ++i) {
      auto b = db->changes(position, 3);
      ASSERT_TRUE(ok(b));
      for (auto& c : b->changes) consumed.push_back(std::move(c));
      position = b->last_sequence;
    }
  };
  {
    std::atomic<bool> stop{false};
    std::thread writer([&] {
      while (!stop) create_job(*db);
    });
    consume_some(10);
    stop = true;
    writer.join();
  }
  db.reopen();
  for (int i = 0; i < 5; ++i) create_job(*db);
  while (position < db->last_sequence().value()) consume_some(1);
  EXPECT_TRUE(gap_free_from(consumed, 1));
  EXPECT_EQ(consumed.size(), db->last_sequence().value());
  EXPECT_EQ(consumed, read_feed(*db, 0));
}

TEST(ChangeFeed, InvalidPositionsAndLimits) {
  asio::io_context io;  // Outlives the engine.
  test_engine db;
  EXPECT_TRUE(failed_with(db->changes(1), errc::invalid_argument))
      << "after beyond an empty feed";
  for (int i = 0; i < 3; ++i) create_job(*db);
  EXPECT_TRUE(failed_with(db->changes(4), errc::invalid_argument));
  EXPECT_TRUE(failed_with(db->changes(1000), errc::invalid_argument));
  EXPECT_TRUE(failed_with(db->changes(0, 0), errc::invalid_argument));
  EXPECT_TRUE(failed_with(db->changes(3, 0), errc::invalid_argument));
  EXPECT_TRUE(ok(db->changes(3, 1)));

  watch_request beyond = watch_from(4);
  EXPECT_TRUE(failed_with(db->watch(beyond), errc::invalid_argument));
  watch_request no_limit = watch_from(0);
  no_limit.limit = 0;
  EXPECT_TRUE(failed_with(db->watch(no_limit), errc::invalid_argument));
  auto a = std::make_shared<watch_outcome>();
  auto b = std::make_shared<watch_outcome>();
  async_watch(*db, beyond, asio::bind_executor(io, test::recorder(a)));
  async_watch(*db, no_limit, asio::bind_executor(io, test::recorder(b)));
  ASSERT_TRUE(run_until(io, [&] { return a->done() && b->done(); }));
  EXPECT_TRUE(test::carries(a->ec(), errc::invalid_argument))
      << a->ec().message();
  EXPECT_TRUE(test::carries(b->ec(), errc::invalid_argument))
      << b->ec().message();
  EXPECT_TRUE(test::subscriptions_idle(*db));
}

// -------------------------------------------------------------- retention

TEST(ChangeFeedRetention, OldPositionsExpire) {
  asio::io_context io;  // Outlives the engine.
  test_engine db([](options& o) { o.feed_retention_count = 10; });
  for (int i = 0; i < 100; ++i) create_job(*db);
  const std::uint64_t last = db->last_sequence().value();
  ASSERT_EQ(last, 100u);

  EXPECT_TRUE(failed_with(db->changes(0), errc::expired));
  EXPECT_TRUE(failed_with(db->changes(50), errc::expired));
  // At most the 10 latest are kept: sequence last - 10 is gone.
  EXPECT_TRUE(failed_with(db->changes(last - 11), errc::expired));
  const auto recent = db->changes(last - 5);
  ASSERT_TRUE(ok(recent));
  EXPECT_EQ(sequences_of(recent->changes),
            (std::vector<std::uint64_t>{96, 97, 98, 99, 100}));
  EXPECT_EQ(recent->last_sequence, last);
  EXPECT_TRUE(ok(db->changes(last)));

  EXPECT_TRUE(failed_with(db->watch(watch_from(0)), errc::expired));
  auto o = std::make_shared<watch_outcome>();
  async_watch(*db, watch_from(3), asio::bind_executor(io, test::recorder(o)));
  ASSERT_TRUE(run_until(io, [&] { return o->done(); }));
  EXPECT_TRUE(test::carries(o->ec(), errc::expired)) << o->ec().message();

  // What to do then: list again, and watch from the latest sequence.
  auto from_latest = std::make_shared<watch_outcome>();
  async_watch(*db, watch_from(db->last_sequence().value()),
              asio::bind_executor(io, test::recorder(from_latest)));
  const job j = create_job(*db);
  ASSERT_TRUE(run_until(io, [&] { return from_latest->done(); }));
  EXPECT_FALSE(from_latest->ec()) << from_latest->ec().message();
  ASSERT_EQ(from_latest->value().changes.size(), 1u);
  EXPECT_EQ(from_latest->value().changes[0].id, j.id);
  EXPECT_EQ(from_latest->value().changes[0].sequence, 101u);
}

// Age retention: a change older than feed_retention_age goes at the next
// commit, though every commit since found nothing due (the committer then
// remembers the oldest change instead of reading it again; see
// commit_queue::trim_feed). Time must pass for real here: the clock is not
// injectable; the sleep only makes changes old, nothing is timed.
TEST(ChangeFeedRetention, ChangesOlderThanTheRetentionAgeExpire) {
  test_engine db([](options& o) { o.feed_retention_age = 1s; });
  for (int i = 0; i < 3; ++i) create_job(*db);
  ASSERT_TRUE(ok(db->changes(0)));  // Nothing is old yet.
  std::this_thread::sleep_for(1100ms);
  create_job(*db);  // The commit that finds the first three due.
  const std::uint64_t last = db->last_sequence().value();
  ASSERT_EQ(last, 4u);
  EXPECT_TRUE(failed_with(db->changes(0), errc::expired));
  const auto kept = db->changes(3);
  ASSERT_TRUE(ok(kept));
  EXPECT_EQ(sequences_of(kept->changes), (std::vector<std::uint64_t>{4}));
}

TEST(ChangeFeedRetention, ALaggingConsumerLearnsItExpired) {
  test_engine db([](options& o) { o.feed_retention_count = 10; });
  for (int i = 0; i < 5; ++i) create_job(*db);
  const auto first = db->changes(0, 2).value();
  ASSERT_EQ(first.last_sequence, 2u);
  for (int i = 0; i < 30; ++i) create_job(*db);
  EXPECT_TRUE(failed_with(db->changes(first.last_sequence, 2), errc::expired));
}

// ------------------------------------------------------------------ watch

TEST(Watch, AnswersAtOnceWhenChangesExist) {
  asio::io_context io;  // Outlives the engine.
  test_engine db;
  for (int i = 0; i < 10; ++i) create_job(*db);
  watch_request r = watch_from(0);
  r.limit = 4;
  const auto blocking = db->watch(r);
  ASSERT_TRUE(ok(blocking));
  EXPECT_EQ(sequences_of(blocking->changes),
            (std::vector<std::uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(blocking->last_sequence, 4u);
  auto o = std::make_shared<watch_outcome>();
  r.after = blocking->last_sequence;
  async_watch(*db, r, asio::bind_executor(io, test::recorder(o)));
  ASSERT_TRUE(run_until(io, [&] { return o->done(); }));
  EXPECT_FALSE(o->ec());
  EXPECT_EQ(sequences_of(o->value().changes),
            (std::vector<std::uint64_t>{5, 6, 7, 8}));
  EXPECT_EQ(o->value().last_sequence, 8u);
  EXPECT_EQ(o->value().changes, db->changes(4, 4).value().changes);
}

TEST(Watch, BlockingWatchWakesOnACommit) {
  test_engine db;
  create_job(*db);
  auto f =
      std::async(std::launch::async, [&] { return db->watch(watch_from(1)); });
  ASSERT_TRUE(test::eventually([&] { return !test::subscriptions_idle(*db); }));
  EXPECT_FALSE(test::is_ready(f));
  const job j = create_job(*db);
  ASSERT_TRUE(ready_within(f));
  const auto b = f.get();
  ASSERT_TRUE(ok(b));
  ASSERT_EQ(b->changes.size(), 1u);
  EXPECT_EQ(b->changes[0].id, j.id);
  EXPECT_EQ(b->changes[0].step, "created");
  EXPECT_EQ(b->last_sequence, 2u);
}

TEST(Watch, AsyncWatchWakesOnACommit) {
  asio::io_context io;  // Outlives the engine.
  test_engine db;
  auto o = std::make_shared<watch_outcome>();
  async_watch(*db, watch_from(0), asio::bind_executor(io, test::recorder(o)));
  EXPECT_FALSE(test::subscriptions_idle(*db));
  const job j = create_in_status(*db, job_status::running);
  ASSERT_TRUE(run_until(io, [&] { return o->done(); }));
  EXPECT_FALSE(o->ec());
  const auto& b = o->value();
  ASSERT_FALSE(b.changes.empty());
  EXPECT_EQ(b.changes[0].id, j.id);
  EXPECT_EQ(b.changes[0].sequence, 1u);
  EXPECT_EQ(b.last_sequence, b.changes.back().sequence);
}

TEST(Watch, FiltersByAccountAndProject) {
  test_engine db;
  create_request mine = make_request();
  create_request other_project = make_request();
  other_project.project_id = "beta";
  create_request other_account = make_request();
  other_account.account_id = "globex";
  const std::uint64_t start = db->last_sequence().value();
  create_job(*db, other_account);
  create_job(*db, other_project);
  const job a = create_job(*db, mine);
  create_job(*db, other_account);
  const job b = create_job(*db, mine);
  create_job(*db, other_project);

  watch_request r = watch_from(start);
  r.account_id = mine.account_id;
  r.project_id = mine.project_id;
  const auto got = db->watch(r);
  ASSERT_TRUE(ok(got));
  ASSERT_EQ(got->changes.size(), 2u);
  EXPECT_EQ(got->changes[0].id, a.id);
  EXPECT_EQ(got->changes[1].id, b.id);
  // Resume from last_sequence, which may lie past the last change returned.
  EXPECT_GE(got->last_sequence, got->changes.back().sequence);

  r.project_id.reset();  // The whole account.
  const auto account = db->watch(r);
  ASSERT_TRUE(ok(account));
  EXPECT_EQ(account->changes.size(), 4u);
  for (const auto& c : account->changes) EXPECT_EQ(c.account_id, "acme");
}

// A watch that sees nothing it wants for a while still learns the latest
// sequence: a bookmark.
TEST(Watch, BookmarkCarriesTheLatestSequence) {
  asio::io_context io;  // Outlives the engine.
  test_engine db;
  for (int i = 0; i < 5; ++i) create_job(*db);  // account acme
  watch_request r = watch_from(0);
  r.account_id = "globex";
  r.bookmark_after = 300ms;

  {
    SCOPED_TRACE("async");
    auto o = std::make_shared<watch_outcome>();
    const auto began = std::chrono::steady_clock::now();
    async_watch(*db, r, asio::bind_executor(io, test::recorder(o)));
    // Changes of another account, made while the watch waits.
    for (int i = 0; i < 3; ++i) create_job(*db);
    ASSERT_TRUE(run_until(io, [&] { return o->done(); }));
    EXPECT_GE(std::chrono::steady_clock::now() - began, r.bookmark_after);
    EXPECT_FALSE(o->ec()) << o->ec().message();
    EXPECT_TRUE(o->value().changes.empty());
    EXPECT_EQ(o->value().last_sequence, db->last_sequence().value());
    EXPECT_EQ(o->value().last_sequence, 8u);
  }
  {
    SCOPED_TRACE("blocking");
    r.after = 2;
    const auto began = std::chrono::steady_clock::now();
    auto f = std::async(std::launch::async, [&] { return db->watch(r); });
    for (int i = 0; i < 2; ++i) create_job(*db);
    ASSERT_TRUE(ready_within(f));
    const auto b = f.get();
    EXPECT_GE(std::chrono::steady_clock::now() - began, r.bookmark_after);
    ASSERT_TRUE(ok(b));
    EXPECT_TRUE(b->changes.empty());
    EXPECT_EQ(b->last_sequence, db->last_sequence().value());
    EXPECT_EQ(b->last_sequence, 10u);
  }
  {
    SCOPED_TRACE("a bookmark is a position to resume from");
    r.after = 10;
    r.bookmark_after = long_timeout;
    auto o = std::make_shared<watch_outcome>();
    async_watch(*db, r, asio::bind_executor(io, test::recorder(o)));
    create_job(*db);  // acme
    create_request g = make_request();
    g.account_id = "globex";
    const job mine = create_job(*db, g);
    ASSERT_TRUE(run_until(io, [&] { return o->done(); }));
    ASSERT_EQ(o->value().changes.size(), 1u);
    EXPECT_EQ(o->value().changes[0].id, mine.id);
    EXPECT_EQ(o->value().changes[0].sequence, 12u);
  }
}

TEST(Watch, BookmarkOnAnEmptyFeed) {
  test_engine db;
  watch_request r = watch_from(0);
  r.bookmark_after = 50ms;
  const auto b = db->watch(r);
  ASSERT_TRUE(ok(b));
  EXPECT_TRUE(b->changes.empty());
  EXPECT_EQ(b->last_sequence, 0u);
}

TEST(Watch, EngineShutdownEndsABlockingWatch) {
  test_engine db;
  auto f = std::async(std::launch::async,
                      [&, e = &*db] { return e->watch(watch_from(0)); });
  ASSERT_TRUE(test::eventually([&] { return !test::subscriptions_idle(*db); }));
  db.close();
  ASSERT_TRUE(ready_within(f));
  EXPECT_TRUE(failed_with(f.get(), errc::engine_closed));
}

// A consumer watching with a small limit, resuming from each batch's
// last_sequence while a writer commits, sees every change exactly once.
asio::awaitable<void> consume(engine& e, std::uint64_t until,
                              std::shared_ptr<std::vector<change>> seen) {
  watch_request r;
  r.after = 0;
  r.limit = 4;
  r.bookmark_after = 100ms;
  while (r.after < until) {
    auto op = async_watch(e, r, asio::use_awaitable);
    change_batch b = co_await std::move(op);
    for (auto& c : b.changes) seen->push_back(std::move(c));
    r.after = b.last_sequence;
  }
}

TEST(Watch, ResumingFromLastSequenceMissesNothing) {
  asio::io_context io;  // Outlives the engine.
  test_engine db;
  constexpr int jobs = 30;  // Three changes each: created, started, succeeded.
  auto seen = std::make_shared<std::vector<change>>();
  bool finished = false;
  std::exception_ptr failure;
  asio::co_spawn(io, consume(*db, jobs * 3, seen), [&](std::exception_ptr ep) {
    failure = ep;
    finished = true;
  });
  std::thread writer([&] {
    for (int i = 0; i < jobs; ++i) create_in_status(*db, job_status::succeeded);
  });
  const bool ended = run_until(io, [&] { return finished; });
  writer.join();
  ASSERT_TRUE(ended);
  EXPECT_FALSE(failure);
  EXPECT_EQ(seen->size(), jobs * 3u);
  EXPECT_TRUE(gap_free_from(*seen, 1));
  EXPECT_EQ(*seen, read_feed(*db, 0));
}

}  // namespace
}  // namespace jobstate
