// `wait` and `Prefer: wait` on every GET: wake-up on a change, clamping,
// the mismatch error, Preference-Applied and Retry-After.
#include "support/server_fixture.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <future>
#include <thread>

namespace jobstate::test {
namespace {

using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

class LongPollHttp : public server_test {
 protected:
  LongPollHttp() { deferred_start_ = true; }
  void SetUp() override {
    server_test::SetUp();
    options_.long_poll.max_wait = std::chrono::seconds(1);
    start_server();
  }
  void finish_later(const job& j, milliseconds after) {
    worker_ = std::thread([this, r = ref(j), after] {
      std::this_thread::sleep_for(after);
      engine_->start(r).value();
      completion c;
      c.result = boost::json::object{{"ok", true}};
      engine_->complete(r, c).value();
    });
  }
  void TearDown() override {
    if (worker_.joinable()) worker_.join();
    server_test::TearDown();
  }
  std::thread worker_;
};

TEST_F(LongPollHttp, WaitWakesUpWhenTheJobFinishes) {
  // max_wait is 1 s here; the job finishes well within it.
  const job j = create_job();
  finish_later(j, milliseconds(200));
  const auto began = clock_type::now();
  auto a = http_call(port(), "GET",
                     "/api/external/v1/jobs/" + j.id.to_string() + "?wait=1",
                     {{"Authorization", key_}});
  const auto took = clock_type::now() - began;
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.json().at("status"), "succeeded");
  EXPECT_EQ(a.header("retry-after"), "");
  EXPECT_GE(took, milliseconds(150));
  EXPECT_LT(took, milliseconds(950));
}

TEST_F(LongPollHttp, EverySurfaceWaits) {
  for (const std::string surface : {"scale", "jobs", "gc", "native"}) {
    const job j = create_job();
    finish_later(j, milliseconds(100));
    const std::string id = j.id.to_string();
    http_answer a;
    if (surface == "scale") {
      a = http_call(port(), "GET", "/v1/projects/default/jobs/" + id,
                    {{"x-api-key", key_},
                     {"x-selected-account-id", "acme"},
                     {"Prefer", "wait=1"}});
    } else if (surface == "jobs") {
      a = get("/v1/api/jobs/" + id + "?wait=1");
    } else if (surface == "gc") {
      a = get("/api/external/v1/jobs/" + id, {{"Prefer", "wait=1"}});
    } else {
      a = get("/v1/native/projects/default/jobs/" + id + "?wait=1");
    }
    worker_.join();
    EXPECT_EQ(a.status, 200) << surface << ": " << a.body;
    const char* done = surface == "jobs" ? "completed" : "succeeded";
    EXPECT_NE(a.body.find(done), std::string::npos)
        << surface << ": " << a.body;
  }
}

TEST_F(LongPollHttp, WaitIsClampedToTheMaximum) {
  const job j = create_job();
  const auto began = clock_type::now();
  auto a =
      get("/api/external/v1/jobs/" + j.id.to_string(), {{"Prefer", "wait=30"}});
  const auto took = clock_type::now() - began;
  EXPECT_EQ(a.status, 202);
  EXPECT_EQ(a.header("preference-applied"), "wait=1");
  EXPECT_EQ(a.header("retry-after"), "1");
  EXPECT_GE(took, milliseconds(900));
  EXPECT_LT(took, milliseconds(5000));
}

TEST_F(LongPollHttp, WaitZeroAnswersAtOnce) {
  const job j = create_job();
  const auto began = clock_type::now();
  auto a = get("/v1/api/jobs/" + j.id.to_string() + "?wait=0",
               {{"Prefer", "wait=0"}});
  EXPECT_LT(clock_type::now() - began, milliseconds(500));
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.header("preference-applied"), "wait=0");
  EXPECT_EQ(a.header("retry-after"), "1");
}

TEST_F(LongPollHttp, QueryAndPreferThatDisagreeAre400) {
  const std::string id = create_job().id.to_string();
  auto gc =
      get("/api/external/v1/jobs/" + id + "?wait=5", {{"Prefer", "wait=6"}});
  EXPECT_EQ(gc.status, 400);
  EXPECT_EQ(gc.json().at("error").at("code"), "invalid_wait");
  EXPECT_NE(gc.body.find("wait"), std::string::npos);
  auto jobs = get("/v1/api/jobs/" + id + "?wait=5", {{"Prefer", "wait=6"}});
  EXPECT_EQ(jobs.status, 400);
  EXPECT_TRUE(jobs.json().at("data").is_null());
  auto scale =
      http_call(port(), "GET", "/v1/projects/default/jobs/" + id + "?wait=1",
                {{"x-api-key", key_},
                 {"x-selected-account-id", "acme"},
                 {"Prefer", "wait=2"}});
  EXPECT_EQ(scale.status, 400);
  EXPECT_TRUE(scale.json().at("detail").is_string());
  // Equal values are fine.
  EXPECT_EQ(
      get("/v1/api/jobs/" + id + "?wait=0", {{"Prefer", "wait=0.0"}}).status,
      200);
}

TEST_F(LongPollHttp, MalformedWaitIs400) {
  const std::string id = create_job().id.to_string();
  for (const std::string bad : {"-1", "abc", "", "1e3"}) {
    auto a = get("/api/external/v1/jobs/" + id + "?wait=" + bad);
    EXPECT_EQ(a.status, 400) << bad;
  }
}

TEST_F(LongPollHttp, NativeAfterRevisionWakesOnAnyChange) {
  const job j = create_job();
  worker_ = std::thread([this, r = ref(j)] {
    std::this_thread::sleep_for(milliseconds(150));
    engine_->start(r).value();
  });
  auto a = get("/v1/native/projects/default/jobs/" + j.id.to_string() +
               "?wait=1&after_revision=1");
  EXPECT_EQ(a.json().at("status"), "running");
  EXPECT_EQ(a.json().at("revision"), 2);
  EXPECT_EQ(a.header("retry-after"), "1");
}

TEST_F(LongPollHttp, ChangeFeedLongPollWakesOnCommit) {
  auto first = get("/v1/native/changes?after=0");
  const auto position =
      first.json().at("last_sequence").to_number<std::uint64_t>();
  worker_ = std::thread([this] {
    std::this_thread::sleep_for(milliseconds(150));
    create_job();
  });
  const auto began = clock_type::now();
  auto a = get("/v1/native/changes?wait=1&after=" + std::to_string(position));
  EXPECT_LT(clock_type::now() - began, milliseconds(900));
  const boost::json::value answer = a.json();
  const auto& changes = answer.at("changes").as_array();
  ASSERT_EQ(changes.size(), 1u) << a.body;
  EXPECT_EQ(changes[0].at("step"), "created");
  EXPECT_EQ(answer.at("last_sequence"), changes[0].at("sequence"));
}

}  // namespace
}  // namespace jobstate::test
