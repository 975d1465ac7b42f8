// Scale GP's progress.child_jobs lists a batch's first 1,000 children,
// oldest first (docs/http-api.md), whatever the batch's size.
#include "support/server_fixture.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace jobstate::test {
namespace {

namespace json = boost::json;

class ScaleGpChildJobs : public server_test {
 protected:
  created_batch batch_of(std::size_t children) {
    batch_request b;
    b.parent.account_id = "acme";
    b.parent.project_id = "alpha";
    b.parent.kind = "batch_parse";
    for (std::size_t i = 0; i < children; ++i) {
      b.children.push_back(
          batch_child{"parse", nullptr, "doc-" + std::to_string(i), {}});
    }
    return engine_->create_batch(b).value();
  }
  json::array child_jobs(const job& parent) {
    auto a = http_call(
        port(), "GET", "/v1/projects/alpha/jobs/" + parent.id.to_string(),
        {{"x-api-key", key_}, {"x-selected-account-id", "acme"}});
    EXPECT_EQ(a.status, 200) << a.body.substr(0, 300);
    return a.json().at("progress").at("child_jobs").as_array();
  }
  // The first 1,000 children in creation order, and nothing else.
  void expect_first_thousand(std::size_t children) {
    const created_batch batch = batch_of(children);
    const json::array listed = child_jobs(batch.parent);
    ASSERT_EQ(listed.size(), 1000u) << children << " children";
    for (std::size_t i = 0; i < listed.size(); ++i) {
      ASSERT_EQ(json::value_to<std::string>(listed[i].at("job_id")),
                batch.child_ids[i].to_string())
          << "child_jobs[" << i << "] of " << children;
      ASSERT_EQ(json::value_to<std::string>(listed[i].at("source_document_id")),
                "doc-" + std::to_string(i));
    }
  }
};

TEST_F(ScaleGpChildJobs, ABatchOf1005ListsItsFirstThousandOldestFirst) {
  expect_first_thousand(1005);
}

TEST_F(ScaleGpChildJobs, ABatchOf2000ListsItsFirstThousandOldestFirst) {
  expect_first_thousand(2000);
}

TEST_F(ScaleGpChildJobs, ASmallBatchListsEveryChildOldestFirst) {
  const created_batch batch = batch_of(3);
  const json::array listed = child_jobs(batch.parent);
  ASSERT_EQ(listed.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(json::value_to<std::string>(listed[i].at("job_id")),
              batch.child_ids[i].to_string());
  }
}

}  // namespace
}  // namespace jobstate::test
