// The native API (/v1/native): create with idempotency, lists and cursors,
// worker operations, cancel, rerun, batches and the change feed.
#include "support/server_fixture.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <set>

namespace jobstate::test {
namespace {

namespace json = boost::json;

class NativeApi : public server_test {
 protected:
  const std::string jobs_ = "/v1/native/projects/alpha/jobs";
  std::string create(const std::string& body) {
    auto a = post(jobs_, body);
    EXPECT_EQ(a.status, 201) << a.body;
    return std::string(a.json().at("id").as_string());
  }
};

TEST_F(NativeApi, CreateIsIdempotentPerKey) {
  auto a = post(jobs_, R"({"kind": "parse", "input": {"file": "a.pdf"},
                           "idempotency_key": "k1", "source_id": "a.pdf"})");
  ASSERT_EQ(a.status, 201) << a.body;
  const json::value j = a.json();
  EXPECT_EQ(j.at("status"), "pending");
  EXPECT_EQ(j.at("account_id"), "acme");
  EXPECT_EQ(j.at("project_id"), "alpha");
  EXPECT_EQ(j.at("input"), (json::object{{"file", "a.pdf"}}));
  EXPECT_EQ(a.header("location"),
            jobs_ + "/" + std::string(j.at("id").as_string()));
  auto again = post(jobs_,
                    R"({"kind": "parse", "input": {"file": "a.pdf"},
                        "source_id": "a.pdf"})",
                    {{"Idempotency-Key", "k1"}});
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.json().at("id"), j.at("id"));
  auto clash = post(jobs_, R"({"kind": "other", "idempotency_key": "k1"})");
  EXPECT_EQ(clash.status, 409);
  EXPECT_EQ(clash.json().at("error").at("code"), "already_exists");
}

TEST_F(NativeApi, WorkerOperationsWalkAJobThroughItsLife) {
  const std::string id = create(R"({"kind": "parse"})");
  const std::string job = jobs_ + "/" + id;
  auto started = post(job + "/start");
  ASSERT_EQ(started.status, 200) << started.body;
  EXPECT_EQ(started.json().at("status"), "running");
  auto progressed =
      post(job + "/progress",
           R"({"percent": 50, "counts": {"total": 4, "succeeded": 2,
                             "failed": 0, "cancelled": 0, "pending": 2},
                             "details": {"page": 2}})");
  ASSERT_EQ(progressed.status, 200) << progressed.body;
  EXPECT_EQ(progressed.json().at("progress").at("percent"), 50);
  EXPECT_EQ(progressed.json().at("progress").at("counts").at("total"), 4);
  auto stale = post(job + "/complete", R"({"expected_revision": 1})");
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ(stale.json().at("error").at("code"), "conflict");
  auto done = post(job + "/complete",
                   R"({"status": "partially_succeeded", "result": {"pages": 3},
                       "expected_revision": 3})");
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(done.json().at("status"), "partially_succeeded");
  EXPECT_EQ(done.json().at("history").as_array().size(), 4u);
  EXPECT_EQ(done.header("retry-after"), "");
  auto again = post(job + "/start");
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.json().at("error").at("code"), "illegal_transition");
  EXPECT_NE(again.body.find("partially_succeeded"), std::string::npos);
  auto fetched = get(job);
  EXPECT_EQ(fetched.json().at("result"), (json::object{{"pages", 3}}));
}

TEST_F(NativeApi, FailCancelAndRerun) {
  const std::string a = create(R"({"kind": "parse", "input": 7})");
  post(jobs_ + "/" + a + "/start");
  auto failed =
      post(jobs_ + "/" + a + "/fail",
           R"({"error": {"code": "timeout", "message": "took too long"}})");
  ASSERT_EQ(failed.status, 200) << failed.body;
  EXPECT_EQ(failed.json().at("error").at("code"), "timeout");
  auto rerun =
      post(jobs_ + "/" + a + "/rerun", R"({"correlation_id": "retry-1"})");
  ASSERT_EQ(rerun.status, 201) << rerun.body;
  EXPECT_EQ(rerun.json().at("original_job_id"), a.c_str());
  EXPECT_EQ(rerun.json().at("attempt"), 2);
  EXPECT_EQ(rerun.json().at("input"), 7);
  EXPECT_EQ(rerun.json().at("correlation_id"), "retry-1");

  const std::string b = create(R"({"kind": "parse"})");
  auto cancelled =
      post(jobs_ + "/" + b + "/cancel", R"({"reason": "not needed"})");
  ASSERT_EQ(cancelled.status, 200);
  EXPECT_EQ(cancelled.json().at("status"), "cancelled");
  EXPECT_EQ(cancelled.json().at("error").at("message"), "not needed");
  EXPECT_EQ(post(jobs_ + "/" + b + "/cancel").status, 409);
  const std::string c = create(R"({"kind": "parse"})");
  auto early = post(jobs_ + "/" + c + "/rerun");
  EXPECT_EQ(early.status, 409);
  auto missing_error = post(jobs_ + "/" + c + "/fail", "{}");
  EXPECT_EQ(missing_error.status, 400);
}

TEST_F(NativeApi, ListFiltersAndPagesWithACursor) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(create(i < 2 ? R"({"kind": "a"})" : R"({"kind": "b"})"));
  }
  post(jobs_ + "/" + ids[4] + "/start");
  std::set<std::string> seen;
  std::string target = jobs_ + "?limit=2";
  int pages = 0;
  while (true) {
    auto page = get(target);
    ASSERT_EQ(page.status, 200) << page.body;
    const boost::json::value listed = page.json();
    for (const auto& j : listed.at("jobs").as_array()) {
      seen.insert(std::string(j.at("id").as_string()));
    }
    ++pages;
    const auto next = page.json().at("next_cursor");
    if (next.is_null()) break;
    target = jobs_ + "?limit=2&cursor=" + std::string(next.as_string());
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen.size(), 5u);
  auto kind_a = get(jobs_ + "?kind=a");
  EXPECT_EQ(kind_a.json().at("jobs").as_array().size(), 2u);
  auto running = get(jobs_ + "?status=running");
  ASSERT_EQ(running.json().at("jobs").as_array().size(), 1u);
  EXPECT_EQ(running.json().at("jobs").at(0).at("id"), ids[4].c_str());
  EXPECT_EQ(get(jobs_ + "?status=done").status, 400);
  EXPECT_EQ(get(jobs_ + "?limit=x").status, 400);
  EXPECT_EQ(get(jobs_ + "?cursor=garbage").status, 400);
  EXPECT_EQ(get(jobs_ + "?parent_id=nope").status, 400);
}

TEST_F(NativeApi, BatchesAndTheirChildren) {
  auto a = post("/v1/native/projects/alpha/batches",
                R"({"kind": "batch_parse", "idempotency_key": "b1",
                    "children": [{"kind": "parse", "source_id": "d1"},
                                 {"kind": "parse", "source_id": "d2"},
                                 {"kind": "parse", "source_id": "d3"}]})");
  ASSERT_EQ(a.status, 201) << a.body;
  const auto parent = std::string(a.json().at("job").at("id").as_string());
  EXPECT_EQ(a.json().at("job").at("is_batch"), true);
  const auto child_ids = a.json().at("child_ids").as_array();
  ASSERT_EQ(child_ids.size(), 3u);
  const std::string children =
      "/v1/native/projects/alpha/batches/" + parent + "/children";
  auto page1 = get(children + "?limit=2");
  ASSERT_EQ(page1.status, 200) << page1.body;
  EXPECT_EQ(page1.json().at("jobs").as_array().size(), 2u);
  auto page2 = get(children + "?limit=2&cursor=" +
                   std::string(page1.json().at("next_cursor").as_string()));
  EXPECT_EQ(page2.json().at("jobs").as_array().size(), 1u);
  EXPECT_TRUE(page2.json().at("next_cursor").is_null());
  // Cancelling the parent cascades to the children.
  ASSERT_EQ(post(jobs_ + "/" + parent + "/cancel").status, 200);
  auto cancelled = get(children + "?status=cancelled");
  EXPECT_EQ(cancelled.json().at("jobs").as_array().size(), 3u);
  auto again = post("/v1/native/projects/alpha/batches",
                    R"({"kind": "batch_parse", "idempotency_key": "b1",
                        "children": [{"kind": "parse"}]})");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.json().at("job").at("id"), parent.c_str());
  EXPECT_EQ(post("/v1/native/projects/alpha/batches",
                 R"({"kind": "x", "children": []})")
                .status,
            400);
  EXPECT_EQ(post("/v1/native/projects/alpha/batches",
                 R"({"kind": "x", "children": [{"kind": 5}]})")
                .status,
            400);
}

TEST_F(NativeApi, ChangeFeedPagesThroughChanges) {
  const std::string id = create(R"({"kind": "parse"})");
  post(jobs_ + "/" + id + "/start");
  auto a = get("/v1/native/changes?after=0&limit=1");
  ASSERT_EQ(a.status, 200) << a.body;
  const auto first = a.json().at("changes").as_array();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].at("id"), id.c_str());
  EXPECT_EQ(first[0].at("step"), "created");
  auto b = get(
      "/v1/native/changes?after=" +
      std::to_string(a.json().at("last_sequence").to_number<std::uint64_t>()));
  const auto second = b.json().at("changes").as_array();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].at("step"), "started");
  EXPECT_EQ(second[0].at("status"), "running");
  EXPECT_EQ(get("/v1/native/changes?after=999999").status, 400);
  EXPECT_EQ(get("/v1/native/changes?limit=0").status, 400);
}

}  // namespace
}  // namespace jobstate::test
