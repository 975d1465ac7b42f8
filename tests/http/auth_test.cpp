// Accounts and keys: 401 without a valid key, 404 (never 403) for another
// tenant's job, revocation taking effect at once.
#include "support/server_fixture.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace jobstate::test {
namespace {

class Auth : public server_test {};

TEST_F(Auth, NoKeyIs401InEachSurfacesEnvelope) {
  const std::string id = create_job().id.to_string();
  auto native =
      http_call(port(), "GET", "/v1/native/projects/default/jobs/" + id);
  EXPECT_EQ(native.status, 401);
  EXPECT_EQ(native.header("www-authenticate"), "Bearer");
  EXPECT_EQ(native.json().at("error").at("code"), "unauthorized");
  auto scale = http_call(port(), "GET", "/v1/projects/default/jobs/" + id,
                         {{"x-selected-account-id", "acme"}});
  EXPECT_EQ(scale.status, 401);
  EXPECT_TRUE(scale.json().at("detail").is_string());
  auto jobs = http_call(port(), "GET", "/v1/api/jobs/" + id);
  EXPECT_EQ(jobs.status, 401);
  EXPECT_TRUE(jobs.json().at("data").is_null());
  EXPECT_EQ(jobs.json().at("error").at("code"), "unauthorized");
  auto gc = http_call(port(), "GET", "/api/external/v1/jobs/" + id);
  EXPECT_EQ(gc.status, 401);
  EXPECT_EQ(gc.json().at("error").at("code"), "unauthorized");
}

TEST_F(Auth, WrongOrMalformedKeyIs401) {
  const std::string id = create_job().id.to_string();
  for (const std::string& bad :
       {std::string("jsk_00000000_00000000000000000000000000000000"),
        std::string("nonsense"), key_ + "x"}) {
    auto a = http_call(port(), "GET", "/v1/api/jobs/" + id, bearer(bad));
    EXPECT_EQ(a.status, 401) << bad;
    EXPECT_NE(a.body.find("not valid"), std::string::npos);
  }
}

TEST_F(Auth, KeyWorksInEveryHeaderForm) {
  const std::string id = create_job().id.to_string();
  EXPECT_EQ(http_call(port(), "GET", "/v1/api/jobs/" + id, bearer(key_)).status,
            200);
  EXPECT_EQ(
      http_call(port(), "GET", "/v1/api/jobs/" + id, {{"Authorization", key_}})
          .status,
      200);
  EXPECT_EQ(
      http_call(port(), "GET", "/v1/api/jobs/" + id, {{"x-api-key", key_}})
          .status,
      200);
}

TEST_F(Auth, RevokedKeyStopsWorkingAtOnce) {
  auto issued = keys_->create_key("acme").value();
  const std::string id = create_job().id.to_string();
  EXPECT_EQ(
      http_call(port(), "GET", "/v1/api/jobs/" + id, bearer(issued.key)).status,
      200);
  ASSERT_TRUE(keys_->revoke(issued.record.id));
  EXPECT_EQ(
      http_call(port(), "GET", "/v1/api/jobs/" + id, bearer(issued.key)).status,
      401);
  EXPECT_EQ(http_call(port(), "GET", "/v1/api/jobs/" + id, bearer(key_)).status,
            200);
}

TEST_F(Auth, KeysAreStoredOnlyAsHashes) {
  std::ifstream in(http::key_store::file_in(dir_.sub("db")));
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str().find(key_), std::string::npos);
  EXPECT_NE(text.str().find(http::sha256_hex(key_)), std::string::npos);
}

TEST_F(Auth, AnotherAccountsJobIsNotFoundOnEverySurface) {
  const job theirs = create_job("default", "parse", "globex");
  const std::string id = theirs.id.to_string();
  const auto mine = bearer(key_);
  auto expect_404 = [&](const http_answer& a, const char* what) {
    EXPECT_EQ(a.status, 404) << what << ": " << a.body;
  };
  expect_404(
      http_call(port(), "GET", "/v1/native/projects/default/jobs/" + id, mine),
      "native get");
  expect_404(
      http_call(port(), "POST",
                "/v1/native/projects/default/jobs/" + id + "/start", mine),
      "native start");
  expect_404(
      http_call(port(), "POST",
                "/v1/native/projects/default/jobs/" + id + "/cancel", mine),
      "native cancel");
  expect_404(
      http_call(port(), "GET",
                "/v1/native/projects/default/batches/" + id + "/children",
                mine),
      "children");
  expect_404(http_call(port(), "GET", "/v1/api/jobs/" + id, mine), "jobs api");
  expect_404(http_call(port(), "POST", "/v1/api/jobs/" + id + "/rerun", mine),
             "jobs api rerun");
  expect_404(http_call(port(), "GET", "/api/external/v1/jobs/" + id, mine),
             "gc ai");
  expect_404(
      http_call(port(), "GET", "/v1/projects/default/jobs/" + id,
                {{"x-api-key", key_}, {"x-selected-account-id", "acme"}}),
      "scale gp");
  // Naming the other account does not help: the key decides.
  expect_404(
      http_call(port(), "GET", "/v1/projects/default/jobs/" + id,
                {{"x-api-key", key_}, {"x-selected-account-id", "globex"}}),
      "scale gp as globex");
  // The owner sees it.
  EXPECT_EQ(
      http_call(port(), "GET", "/v1/api/jobs/" + id, bearer(other_key_)).status,
      200);
  // The other account's jobs do not show in lists or the change feed.
  auto list =
      http_call(port(), "GET", "/v1/native/projects/default/jobs", mine);
  EXPECT_EQ(list.json().at("jobs").as_array().size(), 0u);
  auto feed = http_call(port(), "GET", "/v1/native/changes?after=0", mine);
  EXPECT_EQ(feed.json().at("changes").as_array().size(), 0u);
}

TEST_F(Auth, AnotherProjectsJobIsNotFound) {
  const job j = create_job("alpha");
  auto a =
      http_call(port(), "GET", "/v1/projects/beta/jobs/" + j.id.to_string(),
                {{"x-api-key", key_}, {"x-selected-account-id", "acme"}});
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(
      http_call(port(), "GET", "/v1/projects/alpha/jobs/" + j.id.to_string(),
                {{"x-api-key", key_}, {"x-selected-account-id", "acme"}})
          .status,
      200);
  // The surfaces without a project in the URL see the default project only.
  EXPECT_EQ(get("/v1/api/jobs/" + j.id.to_string()).status, 404);
}

TEST_F(Auth, ScaleGpRequiresTheSelectedAccountHeader) {
  const job j = create_job();
  auto a =
      http_call(port(), "GET", "/v1/projects/default/jobs/" + j.id.to_string(),
                {{"x-api-key", key_}});
  EXPECT_EQ(a.status, 400);
  EXPECT_NE(a.json().at("detail").as_string().find("x-selected-account-id"),
            boost::json::string::npos);
}

}  // namespace
}  // namespace jobstate::test
