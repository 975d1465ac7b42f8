// The jobs API document tells its clients to "check job result for error
// details": a failed or cancelled job's `result` carries `error` ({code,
// message}, or null when the job recorded none), and the envelope's own
// `error` stays null (the request succeeded).
#include "support/server_fixture.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace jobstate::test {
namespace {

namespace json = boost::json;

class JobsApiFailureDetails : public server_test {
 protected:
  job failed(job_error e, json::value result = nullptr) {
    const job j = create_job();
    engine_->start(ref(j)).value();
    completion c;
    c.status = job_status::failed;
    c.error = std::move(e);
    c.result = std::move(result);
    return engine_->complete(ref(j), c).value();
  }
  // The expected `result`, as a value (so that gtest prints it as JSON).
  static json::value with_error(json::object result, json::value error) {
    result["error"] = std::move(error);
    return result;
  }
  static json::value error_of(const char* code, const char* message) {
    return json::object{{"code", code}, {"message", message}};
  }
  // The `data` of a GET, after checking the envelope of a successful read.
  json::value data_of(const job& j) {
    auto a = get("/v1/api/jobs/" + j.id.to_string());
    EXPECT_EQ(a.status, 200) << a.body;
    EXPECT_TRUE(a.json().at("error").is_null()) << a.body;
    return a.json().at("data");
  }
};

TEST_F(JobsApiFailureDetails, AFailedJobsResultCarriesItsError) {
  const json::value d = data_of(failed({"bad_pdf", "cannot read page 3"}));
  EXPECT_EQ(d.at("status"), "failed");
  EXPECT_EQ(d.at("result"),
            with_error({}, error_of("bad_pdf", "cannot read page 3")));
}

TEST_F(JobsApiFailureDetails, AFailedJobsOwnResultKeepsItsMembers) {
  const json::value d =
      data_of(failed({"bad_pdf", "cannot read page 3"},
                     json::object{{"documentsProcessed", 2}, {"errors", 1}}));
  EXPECT_EQ(d.at("result"),
            with_error({{"documentsProcessed", 2}, {"errors", 1}},
                       error_of("bad_pdf", "cannot read page 3")));
  // A result that is not an object is kept as its `value`.
  const json::value list =
      data_of(failed({"bad_pdf", "cannot read page 3"}, json::array{1, 2}));
  EXPECT_EQ(list.at("result"),
            with_error({{"value", json::array{1, 2}}},
                       error_of("bad_pdf", "cannot read page 3")));
}

TEST_F(JobsApiFailureDetails, AFailedJobWithoutDetailsHasANullError) {
  // A batch fails when its children do; it records no error of its own
  // (each child has its own).
  batch_request b;
  b.parent.account_id = "acme";
  b.parent.project_id = "default";
  b.parent.kind = "batch_parse";
  b.children = {batch_child{"parse", nullptr, "doc-a", std::nullopt}};
  const created_batch batch = engine_->create_batch(b).value();
  const job_ref child{"acme", "default", batch.child_ids[0]};
  engine_->start(child).value();
  completion c;
  c.status = job_status::failed;
  c.error = job_error{"bad_pdf", "cannot read page 3"};
  engine_->complete(child, c).value();
  const job parent = engine_->get(ref(batch.parent)).value();
  ASSERT_EQ(parent.status, job_status::failed);
  ASSERT_FALSE(parent.error);
  const json::value d = data_of(parent);
  EXPECT_EQ(d.at("status"), "failed");
  EXPECT_EQ(d.at("result"), with_error({}, nullptr));
}

TEST_F(JobsApiFailureDetails, ACancelledJobsResultCarriesTheReason) {
  const job j = create_job();
  engine_->cancel(ref(j), "not needed").value();
  const json::value d = data_of(j);
  EXPECT_EQ(d.at("status"), "cancelled");
  EXPECT_EQ(d.at("result"),
            with_error({}, error_of("cancelled", "not needed")));
}

TEST_F(JobsApiFailureDetails, ACompletedJobsResultIsUnchanged) {
  const job j = create_job();
  engine_->start(ref(j)).value();
  completion c;
  c.result = json::object{{"documentsProcessed", 50}, {"errors", 0}};
  engine_->complete(ref(j), c).value();
  EXPECT_EQ(
      data_of(j).at("result"),
      json::value(json::object{{"documentsProcessed", 50}, {"errors", 0}}));
  const job pending = create_job();
  EXPECT_TRUE(data_of(pending).at("result").is_null());
}

}  // namespace
}  // namespace jobstate::test
