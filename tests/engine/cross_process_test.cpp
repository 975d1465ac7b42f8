// Notification across processes: another process (jobstate_test_writer,
// tests/support/writer_main.cpp) opens the same database and commits; waits
// and watches in this process must learn of it, and concurrent writers in
// both processes must keep the change feed gap-free.
//
// Latencies are reported (RecordProperty and a printed line), never
// asserted: the only time limit is the hang guard.
#include <jobstate/async.hpp>
#include <jobstate/jobstate.hpp>

#include "support/jobs.hpp"
#include "support/test_engine.hpp"
#include "support/waits.hpp"
#include "support/writer_process.hpp"

#include <boost/asio/bind_executor.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <future>
#include <iostream>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace jobstate {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using boost::system::error_code;

using test::create_in_status;
using test::create_job;
using test::hang_guard;
using test::io_runner;
using test::long_timeout;
using test::ok;
using test::ready_within;
using test::ref_of;
using test::run_writer;
using test::test_engine;
using test::writer_process;

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Reports how long after the writer's commit returned this process was
// told. Negative when this process learnt of it first.
void report_latency(const char* what, std::int64_t notified_ns,
                    std::int64_t writer_done_ns) {
  const std::int64_t us = (notified_ns - writer_done_ns) / 1000;
  ::testing::Test::RecordProperty(std::string(what) + "_latency_us",
                                  std::to_string(us));
  std::cout << "[ latency  ] " << what << ": notified " << us
            << " us after the other process's commit returned\n";
}

// The arguments naming the database of `db` and the tenancy of `j`.
std::vector<std::string> args_for(test_engine& db, const std::string& command,
                                  const job& j) {
  return {db.options().path, command, j.account_id, j.project_id,
          j.id.to_string()};
}

// --------------------------------------------------------------- tests

TEST(CrossProcess, TheWriterCommitsToTheSameDatabase) {
  test_engine db;
  const auto out =
      run_writer({db.options().path, "create", std::string(test::account),
                  std::string(test::project), "2"});
  ASSERT_EQ(out.exit_code, 0);
  const auto ids = out.ids();
  ASSERT_EQ(ids.size(), 2u);
  for (const job_id& id : ids) {
    const job_ref ref{std::string(test::account), std::string(test::project),
                      id};
    EXPECT_TRUE(ok(db->get(ref)));
  }
  EXPECT_EQ(db->last_sequence().value(), 2u);
}

// The commit-signal file's two fields (docs/waiting.md): the sequence last
// announced (0 when no commit ever rang) and the count of listening engines.
struct doorbell {
  std::uint64_t announced = 0;
  std::uint64_t listeners = 0;
};

doorbell doorbell_of(test_engine& db) {
  std::ifstream in(db.options().path + "/commit-signal", std::ios::binary);
  const std::string bytes(std::istreambuf_iterator<char>(in), {});
  EXPECT_EQ(bytes.size(), 16u);
  auto field = [&](std::size_t at) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8 && at + i < bytes.size(); ++i) {
      v |= std::uint64_t{static_cast<unsigned char>(bytes[at + i])} << (8 * i);
    }
    return v;
  };
  return {field(0), field(8)};
}

// An engine alone with its database rings for nobody: its commits neither
// write the file nor wake its own notifier thread. Another process's engine
// listening makes every commit ring, and the waiting tests below show that
// such a ring is heard.
TEST(CrossProcess, AnEngineAloneDoesNotRingTheDoorbell) {
  test_engine db;
  create_in_status(*db, job_status::succeeded);
  EXPECT_EQ(doorbell_of(db).announced, 0u);
  EXPECT_EQ(doorbell_of(db).listeners, 1u);
  // The writer's commits ring: this engine listens.
  const auto out =
      run_writer({db.options().path, "create", std::string(test::account),
                  std::string(test::project), "1"});
  ASSERT_EQ(out.exit_code, 0);
  const std::uint64_t rung = doorbell_of(db).announced;
  EXPECT_EQ(rung, db->last_sequence().value());
  // The writer has closed (and counted itself out): alone again, this
  // engine's commits stay silent.
  EXPECT_EQ(doorbell_of(db).listeners, 1u);
  create_in_status(*db, job_status::running);
  EXPECT_EQ(doorbell_of(db).announced, rung);
  EXPECT_GT(db->last_sequence().value(), rung);
  db.close();
  EXPECT_EQ(doorbell_of(db).listeners, 0u);
}

// A listener that crashed leaves its count behind, but not its lock: commits
// check the lock and still ring for nobody.
TEST(CrossProcess, ACrashedListenersCountDoesNotMakeCommitsRing) {
  test_engine db;
  {
    std::fstream f(db.options().path + "/commit-signal",
                   std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(8);
    const char two[8] = {2, 0, 0, 0, 0, 0, 0, 0};
    f.write(two, sizeof two);
  }
  ASSERT_EQ(doorbell_of(db).listeners, 2u);
  create_in_status(*db, job_status::succeeded);
  EXPECT_EQ(doorbell_of(db).announced, 0u);
}

TEST(CrossProcess, AsyncWaitWakesWhenAnotherProcessCompletesTheJob) {
  io_runner runner;
  test_engine db;
  const job j = create_in_status(*db, job_status::running);
  auto o = std::make_shared<test::wait_outcome>();
  std::atomic<std::int64_t> notified_ns{0};
  async_wait(*db, ref_of(j), wait_condition::terminal(), long_timeout,
             asio::bind_executor(
                 runner.io, [o, &notified_ns](error_code ec, wait_result r) {
                   notified_ns = steady_ns();
                   o->record(ec, std::move(r));
                 }));
  // Nothing in this process commits from here on: only the other process's
  // commit, through the commit signal, can end the wait.
  const auto out = run_writer(args_for(db, "complete", j));
  ASSERT_EQ(out.exit_code, 0);
  ASSERT_TRUE(test::eventually([&] { return o->done(); }))
      << "the wait never learnt of the other process's commit";
  EXPECT_FALSE(o->ec()) << o->ec().message();
  const wait_result r = o->value();
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.job.status, job_status::succeeded);
  EXPECT_EQ(r.job, db->get(ref_of(j)).value());
  report_latency("async_wait", notified_ns.load(), out.done_ns);
}

TEST(CrossProcess, BlockingWaitWakesWhenAnotherProcessCancelsTheJob) {
  test_engine db;
  const job j = create_job(*db);
  auto f = std::async(std::launch::async, [&, e = &*db] {
    auto r = e->wait(ref_of(j), wait_condition::terminal(), long_timeout);
    return std::make_pair(std::move(r), steady_ns());
  });
  ASSERT_TRUE(test::eventually([&] { return test::waits_pending(*db) == 1; }));
  const auto out = run_writer(args_for(db, "cancel", j));
  ASSERT_EQ(out.exit_code, 0);
  ASSERT_TRUE(ready_within(f))
      << "the wait never learnt of the other process's commit";
  const auto [r, notified_ns] = f.get();
  ASSERT_TRUE(ok(r));
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->job.status, job_status::cancelled);
  EXPECT_EQ(r->job, db->get(ref_of(j)).value());
  report_latency("wait", notified_ns, out.done_ns);
}

TEST(CrossProcess, WaitsOnSeveralJobsWakeForTheOnesThatChanged) {
  io_runner runner;
  test_engine db;
  const job a = create_in_status(*db, job_status::running);
  const job b = create_in_status(*db, job_status::running);
  auto wa = std::make_shared<test::wait_outcome>();
  auto wb = std::make_shared<test::wait_outcome>();
  async_wait(*db, ref_of(a), wait_condition::terminal(), long_timeout,
             asio::bind_executor(runner.io, test::recorder(wa)));
  async_wait(*db, ref_of(b), wait_condition::terminal(), long_timeout,
             asio::bind_executor(runner.io, test::recorder(wb)));
  auto failed = args_for(db, "complete", a);
  failed.push_back("failed");
  ASSERT_EQ(run_writer(failed).exit_code, 0);
  ASSERT_TRUE(test::eventually([&] { return wa->done(); }));
  EXPECT_EQ(wa->value().job.status, job_status::failed);
  EXPECT_FALSE(wb->done()) << "woken though its job did not change";
  ASSERT_EQ(run_writer(args_for(db, "complete", b)).exit_code, 0);
  ASSERT_TRUE(test::eventually([&] { return wb->done(); }));
  EXPECT_EQ(wb->value().job.status, job_status::succeeded);
  EXPECT_EQ(wa->calls(), 1);
  EXPECT_EQ(wb->calls(), 1);
}

TEST(CrossProcess, AWatchSeesAnotherProcesssCommit) {
  io_runner runner;
  test_engine db;
  create_job(*db);
  const std::uint64_t last = db->last_sequence().value();
  auto o = std::make_shared<test::watch_outcome>();
  std::atomic<std::int64_t> notified_ns{0};
  watch_request r;
  r.after = last;
  r.bookmark_after = long_timeout;
  async_watch(*db, r,
              asio::bind_executor(
                  runner.io, [o, &notified_ns](error_code ec, change_batch b) {
                    notified_ns = steady_ns();
                    o->record(ec, std::move(b));
                  }));
  const auto out =
      run_writer({db.options().path, "create", std::string(test::account),
                  std::string(test::project)});
  ASSERT_EQ(out.exit_code, 0);
  ASSERT_EQ(out.ids().size(), 1u);
  ASSERT_TRUE(test::eventually([&] { return o->done(); }))
      << "the watch never learnt of the other process's commit";
  EXPECT_FALSE(o->ec()) << o->ec().message();
  const change_batch b = o->value();
  ASSERT_EQ(b.changes.size(), 1u);
  EXPECT_EQ(b.changes[0].id, out.ids()[0]);
  EXPECT_EQ(b.changes[0].step, "created");
  EXPECT_EQ(b.changes[0].sequence, last + 1);
  EXPECT_EQ(b.last_sequence, last + 1);
  report_latency("async_watch", notified_ns.load(), out.done_ns);
}

// Two processes writing at once: one feed, gap-free, with every change of
// each, in each writer's order; a watcher here sees every change once.
TEST(CrossProcess, ConcurrentWritersKeepTheFeedGapFree) {
  test_engine db;
  constexpr int theirs = 40;    // jobs, three changes each
  constexpr int ours = 2 * 60;  // jobs created here, one change each

  // The watcher: resumes from each batch's last_sequence until `target`.
  std::atomic<std::uint64_t> target{std::numeric_limits<std::uint64_t>::max()};
  auto watcher = std::async(std::launch::async, [&, e = &*db] {
    std::vector<change> seen;
    watch_request r;
    r.limit = 16;
    r.bookmark_after = long_timeout;  // Only notifications wake it.
    while (r.after < target.load()) {
      auto b = e->watch(r);
      if (!b) {
        ADD_FAILURE() << "watch: " << b.error().message();
        break;
      }
      for (auto& c : b->changes) seen.push_back(std::move(c));
      r.after = b->last_sequence;
    }
    return seen;
  });

  writer_process other({db.options().path, "cycle", std::string(test::account),
                        "beta", std::to_string(theirs)});
  std::vector<std::vector<job_id>> mine(2);
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < ours / 2; ++i)
          mine[t].push_back(create_job(*db).id);
      });
    }
    for (auto& t : threads) t.join();
  }
  const auto out = other.finish();
  ASSERT_EQ(out.exit_code, 0);
  const auto their_ids = out.ids();
  ASSERT_EQ(their_ids.size(), static_cast<std::size_t>(theirs));

  // A last change from here, once target is known, ends the watcher.
  target = db->last_sequence().value() + 1;
  create_job(*db);
  const bool watcher_done = ready_within(watcher);
  if (!watcher_done) db.close();  // Ends its watch with engine_closed.
  const auto seen = watcher.get();
  ASSERT_TRUE(watcher_done)
      << "the watcher stalled at " << seen.size() << " changes";

  const std::uint64_t total = theirs * 3 + ours + 1;
  ASSERT_EQ(db->last_sequence().value(), total);
  std::vector<change> feed;
  for (std::uint64_t after = 0;;) {
    auto b = db->changes(after, 50);
    ASSERT_TRUE(ok(b));
    if (b->changes.empty()) break;
    for (auto& c : b->changes) feed.push_back(std::move(c));
    after = b->last_sequence;
  }
  ASSERT_EQ(feed.size(), total);
  for (std::size_t i = 0; i < feed.size(); ++i) {
    ASSERT_EQ(feed[i].sequence, i + 1) << test::describe(feed[i]);
  }
  EXPECT_EQ(seen, feed) << "the watcher saw " << seen.size() << " of "
                        << feed.size();

  // Every change of each writer, in that writer's order.
  std::vector<std::pair<job_id, std::string>> expected_theirs, got_theirs;
  for (const job_id& id : their_ids) {
    for (const char* step : {"created", "started", "succeeded"}) {
      expected_theirs.emplace_back(id, step);
    }
  }
  std::set<job_id> mine_all;
  for (const auto& v : mine) mine_all.insert(v.begin(), v.end());
  std::map<job_id, std::size_t> position;
  for (std::size_t i = 0; i < feed.size(); ++i) {
    if (feed[i].project_id == "beta") {
      got_theirs.emplace_back(feed[i].id, feed[i].step);
    } else {
      position[feed[i].id] = i;
    }
  }
  EXPECT_EQ(got_theirs, expected_theirs);
  for (const auto& v : mine) {
    for (std::size_t i = 1; i < v.size(); ++i) {
      ASSERT_TRUE(position.count(v[i]) && position.count(v[i - 1]));
      EXPECT_LT(position[v[i - 1]], position[v[i]]);
    }
  }
  EXPECT_EQ(mine_all.size(), static_cast<std::size_t>(ours));
}

}  // namespace
}  // namespace jobstate
