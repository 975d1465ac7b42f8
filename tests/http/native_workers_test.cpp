// The native API's worker operations: claim (at once and long-polling for
// work), heartbeat, and the lease epoch that fences a worker's writes.
#include <jobstate/timestamp.hpp>

#include "support/server_fixture.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

namespace jobstate::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

class NativeWorkers : public server_test {
 protected:
  const std::string jobs_ = "/v1/native/projects/alpha/jobs";
  const std::string claims_ = "/v1/native/projects/alpha/claims";
  std::string create(const std::string& body = R"({"kind": "parse"})") {
    auto a = post(jobs_, body);
    EXPECT_EQ(a.status, 201) << a.body;
    return std::string(a.json().at("id").as_string());
  }
  const std::string claim_body_ =
      R"({"kinds": ["parse"], "worker_id": "w1", "lease_ttl_ms": 60000})";
};

TEST_F(NativeWorkers, AWorkerClaimsHeartbeatsAndCompletes) {
  EXPECT_EQ(post(claims_, claim_body_).status, 204);
  const std::string id = create();
  auto claimed = post(claims_, claim_body_);
  ASSERT_EQ(claimed.status, 200) << claimed.body;
  const json::value j = claimed.json();
  EXPECT_EQ(j.at("id"), id.c_str());
  EXPECT_EQ(j.at("status"), "running");
  EXPECT_EQ(j.at("lease").at("worker_id"), "w1");
  EXPECT_EQ(j.at("lease").at("epoch"), 1);
  EXPECT_EQ(j.at("lease").at("ttl_ms"), 60000);
  EXPECT_EQ(j.at("history").as_array().back().at("step"), "claimed");
  EXPECT_EQ(j.at("history").as_array().back().at("epoch"), 1);

  const std::string job = jobs_ + "/" + id;
  auto beat = post(job + "/heartbeat",
                   R"({"lease_epoch": 1, "progress": {"percent": 30}})");
  ASSERT_EQ(beat.status, 200) << beat.body;
  EXPECT_EQ(beat.json().at("cancelled"), false);
  EXPECT_EQ(beat.json().at("job").at("progress").at("percent"), 30);
  auto plain = post(job + "/heartbeat", R"({"lease_epoch": 1})");
  ASSERT_EQ(plain.status, 200) << plain.body;

  auto stale = post(job + "/complete", R"({"lease_epoch": 2})");
  EXPECT_EQ(stale.status, 409) << stale.body;
  EXPECT_EQ(stale.json().at("error").at("code"), "lease_lost");
  auto done =
      post(job + "/complete", R"({"lease_epoch": 1, "result": {"pages": 2}})");
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(done.json().at("status"), "succeeded");
  auto late = post(job + "/heartbeat", R"({"lease_epoch": 1})");
  EXPECT_EQ(late.status, 409);
  EXPECT_EQ(late.json().at("error").at("code"), "lease_lost");
}

TEST_F(NativeWorkers, AHeartbeatTellsTheWorkerOfACancel) {
  const std::string id = create();
  ASSERT_EQ(post(claims_, claim_body_).status, 200);
  const std::string job = jobs_ + "/" + id;
  ASSERT_EQ(post(job + "/cancel", R"({"reason": "stop"})").status, 200);
  auto beat = post(job + "/heartbeat", R"({"lease_epoch": 1})");
  ASSERT_EQ(beat.status, 200) << beat.body;
  EXPECT_EQ(beat.json().at("cancelled"), true);
  EXPECT_EQ(beat.json().at("job").at("status"), "cancelled");
}

TEST_F(NativeWorkers, AClaimLongPollsForWork) {
  auto waiting = std::async(std::launch::async, [&] {
    return post(claims_ + "?wait=10", claim_body_);
  });
  std::this_thread::sleep_for(100ms);
  const std::string id = create();
  auto claimed = waiting.get();
  ASSERT_EQ(claimed.status, 200) << claimed.body;
  EXPECT_EQ(claimed.json().at("id"), id.c_str());
  // Prefer: wait, answered with Preference-Applied; nothing comes: 204.
  const auto t0 = std::chrono::steady_clock::now();
  auto none = post(claims_, claim_body_, {{"Prefer", "wait=1"}});
  EXPECT_EQ(none.status, 204) << none.body;
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 900ms);
  EXPECT_EQ(none.header("preference-applied"), "wait=1");
}

TEST_F(NativeWorkers, SchedulesTimeLimitsAndRetriesAreKeptAndApplied) {
  // A job for later is not claimable; its limits and policy are shown.
  auto later = post(jobs_, R"({"kind": "parse",
      "run_after": "2099-01-01T00:00:00Z", "pending_ttl_ms": 60000})");
  EXPECT_EQ(later.status, 400) << "more than a year ahead: " << later.body;
  EXPECT_EQ(later.json().at("error").at("code"), "invalid_argument");
  const auto soon = std::chrono::system_clock::now() + std::chrono::hours(1);
  const std::string at = format_timestamp(
      std::chrono::time_point_cast<std::chrono::microseconds>(soon));
  auto made =
      post(jobs_, R"({"kind": "parse", "run_after": ")" + at +
                      R"(", "pending_ttl_ms": 60000, "run_timeout_ms": 5000,
      "retry": {"max_attempts": 2, "initial_backoff_ms": 0, "jitter": 0}})");
  ASSERT_EQ(made.status, 201) << made.body;
  const json::value j = made.json();
  EXPECT_EQ(j.at("run_after"), at.c_str());
  EXPECT_EQ(j.at("pending_ttl_ms"), 60000);
  EXPECT_EQ(j.at("run_timeout_ms"), 5000);
  EXPECT_EQ(j.at("retry").at("max_attempts"), 2);
  EXPECT_EQ(post(claims_, claim_body_).status, 204);
  // A job due now whose worker fails it: retried at once (no backoff).
  const std::string id = create(
      R"({"kind": "parse", "retry": {"max_attempts": 2, "initial_backoff_ms": 0,
          "retry_on": ["flaky"]}})");
  auto claimed = post(claims_, claim_body_);
  ASSERT_EQ(claimed.status, 200) << claimed.body;
  auto failed = post(jobs_ + "/" + id + "/complete",
                     R"({"lease_epoch": 1, "status": "failed",
               "error": {"code": "flaky", "message": "try again"}})");
  ASSERT_EQ(failed.status, 200) << failed.body;
  auto retry = post(claims_, claim_body_);
  ASSERT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(retry.json().at("original_job_id"), id.c_str());
  EXPECT_EQ(retry.json().at("attempt"), 2);
  // Bad members are refused, naming them.
  auto bad = post(jobs_, R"({"kind": "parse", "retry": {"max_attempt": 2}})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("retry.max_attempt"), std::string::npos) << bad.body;
  auto batch = post("/v1/native/projects/alpha/batches",
                    R"({"kind": "parse", "pending_ttl_ms": 5,
                        "children": [{"kind": "parse"}]})");
  EXPECT_EQ(batch.status, 400) << batch.body;
}

TEST_F(NativeWorkers, BadClaimsAndHeartbeatsAreRefused) {
  const std::string id = create();
  // Each error says what to fix, out-of-range values too (the engine's
  // checks, whose reason an asynchronous answer alone would lose).
  const auto says = [](const auto& answer, std::string_view what) {
    return answer.status == 400 &&
           answer.json().at("error").at("message").as_string().find(what) !=
               std::string::npos;
  };
  auto no_kinds = post(claims_, R"({"kinds": [], "worker_id": "w1"})");
  EXPECT_TRUE(says(no_kinds, "kinds")) << no_kinds.body;
  auto long_lease = post(
      claims_,
      R"({"kinds": ["parse"], "worker_id": "w1", "lease_ttl_ms": 999999999999})");
  EXPECT_TRUE(says(long_lease, "lease_ttl")) << long_lease.body;
  auto no_ttl = post(jobs_, R"({"kind": "parse", "pending_ttl_ms": 0})");
  EXPECT_TRUE(says(no_ttl, "pending_ttl")) << no_ttl.body;
  auto no_attempts =
      post(jobs_, R"({"kind": "parse", "retry": {"max_attempts": 0}})");
  EXPECT_TRUE(says(no_attempts, "retry.max_attempts")) << no_attempts.body;
  auto batch_retry = post("/v1/native/projects/alpha/batches",
                          R"({"kind": "parse", "retry": {},
                              "children": [{"kind": "parse"}]})");
  EXPECT_TRUE(says(batch_retry, "batch parent")) << batch_retry.body;
  auto too_far = post(jobs_ + "/" + id + "/progress", R"({"percent": 200})");
  EXPECT_TRUE(says(too_far, "percent")) << too_far.body;
  auto no_worker = post(claims_, R"({"kinds": ["parse"]})");
  EXPECT_EQ(no_worker.status, 400) << no_worker.body;
  auto body_wait = post(claims_, R"({"kinds": ["parse"], "worker_id": "w",
                                     "wait_ms": 5})");
  EXPECT_EQ(body_wait.status, 400) << body_wait.body;
  auto bad_wait = post(claims_ + "?wait=x", claim_body_);
  EXPECT_EQ(bad_wait.status, 400) << bad_wait.body;
  auto no_epoch = post(jobs_ + "/" + id + "/heartbeat", "{}");
  EXPECT_EQ(no_epoch.status, 400) << no_epoch.body;
  EXPECT_NE(no_epoch.body.find("lease_epoch"), std::string::npos);
  // Nothing was claimed by any of them.
  EXPECT_EQ(get(jobs_ + "/" + id).json().at("status"), "pending");
}

}  // namespace
}  // namespace jobstate::test
