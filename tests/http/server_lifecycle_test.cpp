// A real server's behaviour: keep-alive, health and metrics, the connection
// limit, a flood of long-polls, and draining with long-polls pending.
#include "support/server_fixture.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <thread>

namespace jobstate::test {
namespace {

using std::chrono::milliseconds;

class ServerLifecycle : public server_test {};

TEST_F(ServerLifecycle, KeepAliveServesSeveralRequestsOnOneConnection) {
  raw_connection c(port());
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  c.send(request);
  c.read_until("}\n", milliseconds(3000));
  c.send(request);
  auto text = c.read_until("}\nHTTP/1.1 200 OK", milliseconds(3000));
  text = c.read_until("}\n", milliseconds(100));
  std::size_t answers = 0;
  for (auto at = text.find("HTTP/1.1 200 OK"); at != std::string::npos;
       at = text.find("HTTP/1.1 200 OK", at + 1)) {
    ++answers;
  }
  EXPECT_EQ(answers, 2u) << text;
}

TEST_F(ServerLifecycle, HealthzAndMetrics) {
  auto health = http_call(port(), "GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.json().at("status"), "ok");
  const job j = create_job();
  engine_->start(ref(j)).value();
  auto m = http_call(port(), "GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.header("content-type"),
            "text/plain; version=0.0.4; charset=utf-8");
  for (const char* line :
       {"jobstate_jobs{status=\"running\"} 1\n",
        "jobstate_jobs{status=\"pending\"} 0\n",
        "jobstate_transitions_total{step=\"started\"} 1\n",
        "jobstate_waiters_pending 0\n",
        "# TYPE jobstate_commit_latency_seconds histogram\n",
        "jobstate_commit_latency_seconds_bucket{le=\"+Inf\"} ",
        "jobstate_commit_latency_seconds_count ",
        "jobstated_long_polls_pending 0\n", "jobstated_connections_open "}) {
    EXPECT_NE(m.body.find(line), std::string::npos) << line << "\n" << m.body;
  }
  // A pending long-poll shows as a waiter.
  auto poll = std::async(std::launch::async, [&] {
    return get("/v1/api/jobs/" + j.id.to_string() + "?wait=5");
  });
  std::string body;
  for (int i = 0; i < 100; ++i) {
    body = http_call(port(), "GET", "/metrics").body;
    if (body.find("jobstate_waiters_pending 1\n") != std::string::npos) break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_NE(body.find("jobstate_waiters_pending 1\n"), std::string::npos)
      << body;
  EXPECT_NE(body.find("jobstated_long_polls_pending 1\n"), std::string::npos);
  completion c;
  engine_->complete(ref(j), c).value();
  EXPECT_EQ(poll.get().json().at("data").at("status"), "completed");
}

class ConnectionLimit : public server_test {
 protected:
  ConnectionLimit() { deferred_start_ = true; }
  void SetUp() override {
    server_test::SetUp();
    options_.max_connections = 2;
    start_server();
  }
};

TEST_F(ConnectionLimit, ConnectionsPastTheLimitGet503) {
  raw_connection a(port());
  raw_connection b(port());
  // Make sure both are accepted before the third arrives.
  a.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  b.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  a.read_until("}\n", milliseconds(3000));
  b.read_until("}\n", milliseconds(3000));
  raw_connection c(port());
  auto text = c.read_until("}\n", milliseconds(3000));
  EXPECT_NE(text.find("503 Service Unavailable"), std::string::npos) << text;
  EXPECT_NE(text.find("too_many_connections"), std::string::npos);
  EXPECT_TRUE(c.closed_within(milliseconds(3000)));
  // The connections within the limit keep working.
  a.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(a.read_until("}\nHTTP/1.1 200 OK", milliseconds(3000))
                .find("}\nHTTP/1.1 200 OK"),
            std::string::npos);
}

// Overload: hundreds of long-polls held open cost no thread each; the
// server keeps answering everyone else meanwhile, and wakes them all.
TEST_F(ServerLifecycle, AFloodOfLongPollsLeavesTheServerServingOthers) {
  constexpr std::size_t polls = 300;
  const job j = create_job();
  const job other = create_job();
  const std::string request = "GET /api/external/v1/jobs/" + j.id.to_string() +
                              "?wait=60 HTTP/1.1\r\nHost: x\r\n"
                              "Authorization: Bearer " +
                              key_ + "\r\n\r\n";
  std::vector<std::unique_ptr<raw_connection>> held;
  for (std::size_t i = 0; i < polls; ++i) {
    held.push_back(std::make_unique<raw_connection>(port()));
    held.back()->send(request);
  }
  for (int i = 0;
       i < 1000 && server_->counters().long_polls_pending.load() < polls; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_EQ(server_->counters().long_polls_pending.load(), polls);
  // Others are served while every poll is pending.
  EXPECT_EQ(http_call(port(), "GET", "/healthz").status, 200);
  auto read = get("/api/external/v1/jobs/" + other.id.to_string());
  EXPECT_EQ(read.status, 202) << read.body;
  EXPECT_EQ(server_->counters().long_polls_pending.load(), polls);
  engine_->start(ref(j)).value();
  engine_->complete(ref(j), completion{}).value();
  for (auto& c : held) {
    const auto text = c->read_until("\"succeeded\"", milliseconds(10000));
    EXPECT_NE(text.find("HTTP/1.1 200 OK"), std::string::npos) << text;
    EXPECT_NE(text.find("\"succeeded\""), std::string::npos) << text;
  }
  EXPECT_EQ(server_->counters().long_polls_pending.load(), 0u);
}

TEST_F(ServerLifecycle, DrainAnswersPendingLongPollsAndRefusesNewConnections) {
  const job j = create_job();
  std::vector<std::future<http_answer>> polls;
  for (int i = 0; i < 8; ++i) {
    polls.push_back(std::async(std::launch::async, [&, i] {
      return i % 2 == 0
                 ? get("/api/external/v1/jobs/" + j.id.to_string() + "?wait=60")
                 : get("/v1/native/changes?wait=60&after=1");
    }));
  }
  for (int i = 0; i < 200 && server_->counters().long_polls_pending.load() < 8;
       ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_EQ(server_->counters().long_polls_pending.load(), 8u);
  const unsigned short p = port();
  const auto began = std::chrono::steady_clock::now();
  stop_server();
  EXPECT_LT(std::chrono::steady_clock::now() - began, milliseconds(3000));
  for (std::size_t i = 0; i < polls.size(); ++i) {
    auto a = polls[i].get();
    if (i % 2 == 0) {
      EXPECT_EQ(a.status, 202) << a.body;
      EXPECT_EQ(a.json().at("status"), "pending");
    } else {
      EXPECT_EQ(a.status, 200) << a.body;
      EXPECT_EQ(a.json().at("changes").as_array().size(), 0u);
    }
    EXPECT_EQ(a.header("connection"), "close");
  }
  EXPECT_THROW(http_call(p, "GET", "/healthz"), std::exception);
  // The engine is still usable: the database closes cleanly after.
  EXPECT_TRUE(engine_->get(ref(j)));
}

}  // namespace
}  // namespace jobstate::test
