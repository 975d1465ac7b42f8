// Claims that wait for work (claim_request::wait, async_claim): woken by a
// job created later, in this process or another, one claim per job; a
// wait that passes, a cancelled one and a closing engine each answer.
#include <jobstate/jobstate.hpp>

#include "support/jobs.hpp"
#include "support/test_engine.hpp"
#include "support/waits.hpp"
#include "support/writer_process.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

namespace jobstate {
namespace {

using namespace std::chrono_literals;
using test::create_job;
using test::make_request;
using test::ref_of;
using test::test_engine;

claim_request waiting_claim(std::chrono::milliseconds wait,
                            std::vector<std::string> kinds = {"parse"}) {
  claim_request r;
  r.account_id = std::string(test::account);
  r.project_id = std::string(test::project);
  r.kinds = std::move(kinds);
  r.worker_id = "worker";
  r.lease_ttl = 1min;
  r.wait = wait;
  return r;
}

// Waits (bounded) until `n` claims are pending in `e`: started, not
// answered (a claim that waits for work is).
bool claims_pending(engine& e, std::uint64_t n) {
  return test::eventually(
      [&] { return e.stats().value().claims_pending >= n; });
}

// The outcomes of async claims, as their handlers report them.
struct outcomes {
  std::mutex m;
  std::vector<std::pair<boost::system::error_code, std::optional<job>>> got;
  auto handler() {
    return [this](boost::system::error_code ec, std::optional<job> j) {
      const std::lock_guard lock(m);
      got.emplace_back(ec, std::move(j));
    };
  }
  std::size_t count() {
    const std::lock_guard lock(m);
    return got.size();
  }
  // Waits (bounded) until `n` have answered.
  bool reach(std::size_t n) {
    return test::eventually([&] { return count() >= n; });
  }
};

TEST(ClaimWait, AWaitingClaimTakesAJobCreatedLater) {
  test_engine db;
  auto claimed = std::async(std::launch::async, [&] {
    return db->claim(waiting_claim(test::hang_guard));
  });
  ASSERT_TRUE(claims_pending(*db, 1));
  const job j = create_job(*db);
  auto got = claimed.get();
  ASSERT_TRUE(got.has_value()) << got.error().message();
  ASSERT_TRUE(got->has_value()) << "the wait ended without the job";
  EXPECT_EQ((*got)->id, j.id);
  EXPECT_EQ((*got)->status, job_status::running);
}

TEST(ClaimWait, AWaitThatPassesAnswersNoJob) {
  test_engine db;
  const auto t0 = std::chrono::steady_clock::now();
  auto got = db->claim(waiting_claim(80ms));
  ASSERT_TRUE(got.has_value()) << got.error().message();
  EXPECT_FALSE(got->has_value());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 80ms);
  // A job of another kind does not end it early, nor is it taken.
  auto embed = std::async(std::launch::async, [&] {
    return db->claim(waiting_claim(150ms, {"embed"}));
  });
  std::this_thread::sleep_for(30ms);
  const job parse = create_job(*db);
  auto none = embed.get();
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->has_value());
  EXPECT_TRUE(test::unchanged(*db, parse));
}

TEST(ClaimWait, EachNewJobWakesOneWaitingClaim) {
  test_engine db;
  outcomes out;
  for (int i = 0; i < 3; ++i) {
    async_claim(*db, waiting_claim(test::hang_guard), out.handler());
  }
  ASSERT_TRUE(claims_pending(*db, 3));
  const job first = create_job(*db);
  ASSERT_TRUE(out.reach(1));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(out.count(), 1u) << "a job woke more than one claim";
  const job second = create_job(*db);
  const job third = create_job(*db);
  ASSERT_TRUE(out.reach(3));
  std::set<job_id> claimed;
  for (auto& [ec, j] : out.got) {
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_TRUE(j.has_value());
    claimed.insert(j->id);
  }
  EXPECT_EQ(claimed, (std::set<job_id>{first.id, second.id, third.id}));
}

TEST(ClaimWait, AClaimForOtherKindsSleepsOnWhileTheRightOneWakes) {
  test_engine db;
  outcomes embed;
  outcomes parse;
  async_claim(*db, waiting_claim(test::hang_guard, {"embed"}), embed.handler());
  async_claim(*db, waiting_claim(test::hang_guard, {"ocr", "parse"}),
              parse.handler());
  ASSERT_TRUE(claims_pending(*db, 2));
  const job j = create_job(*db, make_request("parse"));
  ASSERT_TRUE(parse.reach(1));
  EXPECT_EQ(parse.got[0].second->id, j.id);
  EXPECT_EQ(embed.count(), 0u);
  const job e = create_job(*db, make_request("embed"));
  ASSERT_TRUE(embed.reach(1));
  EXPECT_EQ(embed.got[0].second->id, e.id);
}

TEST(ClaimWait, ABatchWakesClaimsForItsChildrenNotItsParent) {
  test_engine db;
  outcomes out;
  for (int i = 0; i < 2; ++i) {
    async_claim(*db, waiting_claim(test::hang_guard), out.handler());
  }
  ASSERT_TRUE(claims_pending(*db, 2));
  batch_request b;
  b.parent = make_request("parse");
  b.children = {batch_child{"parse", nullptr, {}, {}},
                batch_child{"parse", nullptr, {}, {}}};
  auto batch = db->create_batch(b);
  ASSERT_TRUE(batch.has_value());
  ASSERT_TRUE(out.reach(2));
  for (auto& [ec, j] : out.got) {
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(j->parent_id, batch->parent.id);
  }
}

TEST(ClaimWait, CancellingAWaitingClaimAbortsIt) {
  test_engine db;
  boost::asio::cancellation_signal cancel;
  outcomes out;
  async_claim(
      *db, waiting_claim(test::hang_guard),
      boost::asio::bind_cancellation_slot(cancel.slot(), out.handler()));
  ASSERT_TRUE(claims_pending(*db, 1));
  // Emitted from the handler's own executor, as Asio requires.
  boost::asio::post(db->get_executor(),
                    [&] { cancel.emit(boost::asio::cancellation_type::all); });
  ASSERT_TRUE(out.reach(1));
  EXPECT_EQ(out.got[0].first, boost::asio::error::operation_aborted);
  EXPECT_FALSE(out.got[0].second.has_value());
  // Nothing is left waiting to take the next job.
  EXPECT_EQ(db->stats().value().claims_pending, 0u);
  const job j = create_job(*db);
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(test::unchanged(*db, j));
}

TEST(ClaimWait, ClosingTheEngineAnswersWaitingClaims) {
  test_engine db;
  outcomes out;
  async_claim(*db, waiting_claim(test::hang_guard), out.handler());
  // The engine itself, not the test's handle to it, which close() resets.
  engine& e = *db;
  auto blocked = std::async(std::launch::async, [&e] {
    return e.claim(waiting_claim(test::hang_guard));
  });
  ASSERT_TRUE(claims_pending(e, 2));  // The blocking one is inside.
  db.close();
  ASSERT_TRUE(out.reach(1));
  EXPECT_EQ(out.got[0].first, boost::asio::error::operation_aborted);
  auto answer = blocked.get();
  ASSERT_FALSE(answer.has_value());
  EXPECT_EQ(answer.code(), errc::engine_closed);
}

TEST(ClaimWait, AJobCreatedByAnotherProcessWakesAWaitingClaim) {
  test_engine db;
  auto claimed = std::async(std::launch::async, [&] {
    return db->claim(waiting_claim(test::hang_guard));
  });
  ASSERT_TRUE(claims_pending(*db, 1));
  const auto out =
      test::run_writer({db.options().path, "create", std::string(test::account),
                        std::string(test::project)});
  ASSERT_EQ(out.exit_code, 0);
  ASSERT_EQ(out.ids().size(), 1u);
  auto got = claimed.get();
  ASSERT_TRUE(got.has_value()) << got.error().message();
  ASSERT_TRUE(got->has_value()) << "the other process's job did not wake it";
  EXPECT_EQ((*got)->id, out.ids()[0]);
}

TEST(ClaimWait, ClaimAndHeartbeatCompleteThroughAnyToken) {
  test_engine db;
  create_job(*db);
  auto claimed =
      async_claim(*db, waiting_claim(0ms), boost::asio::use_future).get();
  ASSERT_TRUE(claimed.has_value());
  mutation_options fence;
  fence.lease_epoch = claimed->lease->epoch;
  progress p;
  p.percent = 50;
  auto beat =
      async_heartbeat(*db, ref_of(*claimed), fence, p, boost::asio::use_future)
          .get();
  EXPECT_FALSE(beat.cancelled);
  EXPECT_EQ(beat.job.progress, p);
  fence.lease_epoch = 9;
  auto stale = async_heartbeat(*db, ref_of(*claimed), fence, std::nullopt,
                               boost::asio::use_future);
  try {
    stale.get();
    ADD_FAILURE() << "a stale epoch renewed the lease";
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), errc::lease_lost);
  }
  claim_request bad = waiting_claim(-1ms);
  auto refused = async_claim(*db, bad, boost::asio::use_future);
  try {
    refused.get();
    ADD_FAILURE() << "a negative wait was accepted";
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), errc::invalid_argument);
  }
}

}  // namespace
}  // namespace jobstate
