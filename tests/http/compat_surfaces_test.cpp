// The three published surfaces: exact JSON shapes, status names, envelopes
// and headers, as /work/shared/api-docs gives them.
#include "support/server_fixture.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace jobstate::test {
namespace {

namespace json = boost::json;

std::vector<std::string> keys_of(const json::value& v) {
  std::vector<std::string> keys;
  for (const auto& m : v.as_object()) keys.emplace_back(m.key());
  return keys;
}

class CompatSurfaces : public server_test {
 protected:
  job finished(job_status st, json::value result = nullptr) {
    create_request r;
    r.account_id = "acme";
    r.project_id = "default";
    r.kind = "parse";
    r.source_id = "doc-1";
    r.correlation_id = "corr-1";
    auto j = engine_->create(r).value().job;
    engine_->start(ref(j)).value();
    completion c;
    c.status = st;
    c.result = std::move(result);
    if (st == job_status::failed)
      c.error = job_error{"ocr_failed", "page 3 is blank"};
    return engine_->complete(ref(j), c).value();
  }
  http_answer scale_get(const job& j) {
    return http_call(
        port(), "GET",
        "/v1/projects/" + j.project_id + "/jobs/" + j.id.to_string(),
        {{"x-api-key", key_}, {"x-selected-account-id", "acme"}});
  }
};

TEST_F(CompatSurfaces, ScaleGpGetJobHasTheDocumentedShape) {
  const job j = finished(job_status::succeeded, json::object{{"pages", 3}});
  auto a = scale_get(j);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.header("content-type"), "application/json");
  EXPECT_EQ(a.header("retry-after"), "");  // terminal: no back-off advice
  const json::value v = a.json();
  EXPECT_EQ(keys_of(v),
            (std::vector<std::string>{
                "id", "project_id", "operation", "status", "created_at",
                "object", "source_id", "correlation_id", "started_at",
                "completed_at", "result", "progress", "error", "history"}));
  EXPECT_EQ(v.at("id"), j.id.to_string().c_str());
  EXPECT_EQ(v.at("project_id"), "default");
  EXPECT_EQ(v.at("operation"), "parse");
  EXPECT_EQ(v.at("status"), "succeeded");
  EXPECT_EQ(v.at("object"), "job");
  EXPECT_EQ(v.at("source_id"), "doc-1");
  EXPECT_EQ(v.at("correlation_id"), "corr-1");
  EXPECT_TRUE(v.at("started_at").is_string());
  EXPECT_TRUE(v.at("completed_at").is_string());
  EXPECT_EQ(v.at("result"), (json::object{{"pages", 3}}));
  EXPECT_TRUE(v.at("progress").is_null());
  EXPECT_TRUE(v.at("error").is_null());
  const auto& history = v.at("history").as_array();
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(keys_of(history[0]),
            (std::vector<std::string>{"step", "timestamp", "duration_ms",
                                      "status", "details"}));
  EXPECT_EQ(history[1].at("step"), "started");
  EXPECT_EQ(history[2].at("status"), "succeeded");
  EXPECT_TRUE(history[2].at("duration_ms").is_int64());
}

TEST_F(CompatSurfaces, ScaleGpKeepsPartiallySucceededAndGivesErrorAsAString) {
  auto partial = scale_get(finished(job_status::partially_succeeded));
  EXPECT_EQ(partial.json().at("status"), "partially_succeeded");
  auto failed = scale_get(finished(job_status::failed));
  EXPECT_EQ(failed.json().at("status"), "failed");
  EXPECT_EQ(failed.json().at("error"), "page 3 is blank");
}

TEST_F(CompatSurfaces, ScaleGpBatchProgressListsChildJobs) {
  batch_request b;
  b.parent.account_id = "acme";
  b.parent.project_id = "alpha";
  b.parent.kind = "batch_parse";
  b.children = {batch_child{"parse", nullptr, "doc-a", std::nullopt},
                batch_child{"parse", nullptr, "doc-b", std::nullopt}};
  auto batch = engine_->create_batch(b).value();
  const job_ref first{"acme", "alpha", batch.child_ids[0]};
  engine_->start(first).value();
  completion c;
  c.result = json::object{{"parse_result_id", "pr-1"}};
  engine_->complete(first, c).value();
  auto a = scale_get(batch.parent);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.header("retry-after"), "1");  // one child still pending
  const json::value p = a.json().at("progress");
  EXPECT_EQ(keys_of(p),
            (std::vector<std::string>{"total", "succeeded", "failed",
                                      "cancelled", "pending", "child_jobs"}));
  EXPECT_EQ(p.at("total"), 2);
  EXPECT_EQ(p.at("succeeded"), 1);
  EXPECT_EQ(p.at("pending"), 1);
  const auto& children = p.at("child_jobs").as_array();
  ASSERT_EQ(children.size(), 2u);
  EXPECT_EQ(keys_of(children[0]),
            (std::vector<std::string>{"source_document_id", "job_id", "status",
                                      "parse_result_id", "error"}));
  EXPECT_EQ(children[0].at("source_document_id"), "doc-a");
  EXPECT_EQ(children[0].at("job_id"), batch.child_ids[0].to_string().c_str());
  EXPECT_EQ(children[0].at("status"), "succeeded");
  EXPECT_EQ(children[0].at("parse_result_id"), "pr-1");
  EXPECT_EQ(children[1].at("status"), "pending");
  EXPECT_TRUE(children[1].at("parse_result_id").is_null());
}

TEST_F(CompatSurfaces, JobsApiUsesTheEnvelopeAndCamelCase) {
  const job pending = create_job();
  auto a = get("/v1/api/jobs/" + pending.id.to_string());
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.header("retry-after"), "1");
  EXPECT_EQ(keys_of(a.json()), (std::vector<std::string>{"data", "error"}));
  EXPECT_TRUE(a.json().at("error").is_null());
  const json::value d = a.json().at("data");
  EXPECT_EQ(keys_of(d), (std::vector<std::string>{
                            "id", "type", "status", "progress", "result",
                            "createdAt", "completedAt", "originalJobId"}));
  EXPECT_EQ(d.at("type"), "parse");
  EXPECT_EQ(d.at("status"), "pending");
  EXPECT_EQ(d.at("progress"), 0);
  EXPECT_TRUE(d.at("completedAt").is_null());

  engine_->start(ref(pending)).value();
  progress p;
  p.percent = 42.4;
  engine_->report_progress(ref(pending), p).value();
  auto running =
      get("/v1/api/jobs/" + pending.id.to_string()).json().at("data");
  EXPECT_EQ(running.at("status"), "running");
  EXPECT_EQ(running.at("progress"), 42);

  for (auto [st, name] :
       {std::pair{job_status::succeeded, "completed"},
        std::pair{job_status::partially_succeeded, "completed"},
        std::pair{job_status::failed, "failed"}}) {
    auto j = finished(st);
    auto done = get("/v1/api/jobs/" + j.id.to_string());
    EXPECT_EQ(done.json().at("data").at("status"), name);
    EXPECT_EQ(done.header("retry-after"), "");
  }
  const job c = create_job();
  engine_->cancel(ref(c), "not needed").value();
  EXPECT_EQ(
      get("/v1/api/jobs/" + c.id.to_string()).json().at("data").at("status"),
      "cancelled");
}

TEST_F(CompatSurfaces, JobsApiRerunMakesANewPendingJob) {
  const job original = finished(job_status::failed);
  auto a = post("/v1/api/jobs/" + original.id.to_string() + "/rerun");
  ASSERT_EQ(a.status, 201) << a.body;
  const json::value d = a.json().at("data");
  EXPECT_TRUE(a.json().at("error").is_null());
  EXPECT_EQ(d.at("status"), "pending");
  EXPECT_EQ(d.at("type"), "parse");
  EXPECT_EQ(d.at("originalJobId"), original.id.to_string().c_str());
  EXPECT_NE(d.at("id"), original.id.to_string().c_str());
  EXPECT_EQ(a.header("retry-after"), "");  // a creation answer, not a poll
}

TEST_F(CompatSurfaces, JobsApiRefusesToRerunAnUnfinishedJob) {
  const job j = create_job();
  engine_->start(ref(j)).value();
  auto a = post("/v1/api/jobs/" + j.id.to_string() + "/rerun");
  EXPECT_EQ(a.status, 409) << a.body;
  EXPECT_TRUE(a.json().at("data").is_null());
  EXPECT_EQ(a.json().at("error").at("code"), "job_not_finished");
  EXPECT_NE(std::string(a.json().at("error").at("message").as_string())
                .find("running"),
            std::string::npos);
}

TEST_F(CompatSurfaces, GcAiAnswers202WhileRunningAnd200WhenDone) {
  const job j = create_job("default", "chat/completions");
  auto a = http_call(port(), "GET", "/api/external/v1/jobs/" + j.id.to_string(),
                     {{"Authorization", key_}});
  ASSERT_EQ(a.status, 202) << a.body;
  EXPECT_EQ(a.header("retry-after"), "1");
  EXPECT_EQ(keys_of(a.json()),
            (std::vector<std::string>{"job_id", "kind", "status", "result",
                                      "error", "created_at", "completed_at"}));
  EXPECT_EQ(a.json().at("kind"), "chat/completions");
  EXPECT_EQ(a.json().at("status"), "pending");
  EXPECT_TRUE(a.json().at("completed_at").is_null());

  engine_->cancel(ref(j), "user gave up").value();
  auto c = http_call(port(), "GET", "/api/external/v1/jobs/" + j.id.to_string(),
                     {{"Authorization", key_}});
  ASSERT_EQ(c.status, 200);
  EXPECT_EQ(c.json().at("status"), "canceled");
  EXPECT_TRUE(c.json().at("completed_at").is_string());

  const job f = finished(job_status::failed);
  auto failed =
      http_call(port(), "GET", "/api/external/v1/jobs/" + f.id.to_string(),
                {{"Authorization", key_}});
  EXPECT_EQ(failed.json().at("status"), "failed");
  EXPECT_EQ(
      failed.json().at("error"),
      (json::object{{"code", "ocr_failed"}, {"message", "page 3 is blank"}}));
  const job s = finished(job_status::succeeded, json::object{{"result", "ok"}});
  auto ok =
      http_call(port(), "GET", "/api/external/v1/jobs/" + s.id.to_string(),
                {{"Authorization", key_}});
  EXPECT_EQ(ok.json().at("status"), "succeeded");
  EXPECT_TRUE(ok.json().at("error").is_null());
  EXPECT_EQ(ok.json().at("result"), (json::object{{"result", "ok"}}));
}

}  // namespace
}  // namespace jobstate::test
