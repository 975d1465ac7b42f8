// Bad input of every kind gets a 4xx JSON error that names the problem;
// limits and timeouts close misbehaving clients.
#include "support/server_fixture.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>

namespace jobstate::test {
namespace {

using std::chrono::milliseconds;

class BadInput : public server_test {
 protected:
  BadInput() { deferred_start_ = true; }
  void SetUp() override {
    server_test::SetUp();
    options_.body_limit = 64 * 1024;
    options_.header_limit = 4 * 1024;
    options_.read_timeout = milliseconds(300);
    start_server();
  }
  const std::string jobs_ = "/v1/native/projects/alpha/jobs";
  void expect_error(const http_answer& a, int status, const std::string& code,
                    const std::string& mentions) {
    EXPECT_EQ(a.status, status) << a.body;
    EXPECT_EQ(a.header("content-type"), "application/json");
    ASSERT_TRUE(a.json().is_object()) << a.body;
    EXPECT_EQ(a.json().at("error").at("code"), code.c_str()) << a.body;
    EXPECT_NE(a.body.find(mentions), std::string::npos) << a.body;
  }
};

TEST_F(BadInput, MalformedJsonIs400) {
  expect_error(post(jobs_, "{\"kind\": "), 400, "invalid_json",
               "not valid JSON");
  expect_error(post(jobs_, "[1, 2]"), 400, "invalid_json", "JSON object");
}

TEST_F(BadInput, WrongTypesAndUnknownMembersAre400) {
  expect_error(post(jobs_, R"({"kind": 5})"), 400, "invalid_argument",
               "body.kind: expected a string, got the number 5");
  expect_error(post(jobs_, R"({})"), 400, "invalid_argument",
               "body.kind: required member is missing");
  expect_error(post(jobs_, R"({"kind": "a", "knid": 1})"), 400,
               "invalid_argument",
               "body.knid: unknown member (expected: kind,");
  const std::string id =
      std::string(post(jobs_, R"({"kind": "a"})").json().at("id").as_string());
  post(jobs_ + "/" + id + "/start");
  expect_error(post(jobs_ + "/" + id + "/progress", R"({"percent": "half"})"),
               400, "invalid_argument", "percent");
  expect_error(post(jobs_ + "/" + id + "/progress", R"({"counts": [1]})"), 400,
               "invalid_argument", "counts");
  expect_error(post(jobs_ + "/" + id + "/complete", R"({"status": "done"})"),
               400, "invalid_argument", "status");
  expect_error(
      post(jobs_ + "/" + id + "/complete", R"({"expected_revision": -2})"), 400,
      "invalid_argument", "expected_revision");
  expect_error(post(jobs_ + "/" + id + "/fail", R"({"error": "oops"})"), 400,
               "invalid_argument", "error");
  // The engine's own validation shows through too.
  auto a = post(jobs_ + "/" + id + "/progress", R"({"percent": 150})");
  EXPECT_EQ(a.status, 400) << a.body;
}

TEST_F(BadInput, UnknownRoutesAndMethodsAreJsonErrors) {
  expect_error(get("/v1/native/nothing"), 404, "no_route",
               "/v1/native/nothing");
  auto jobs = get("/v1/api/nothing");
  EXPECT_EQ(jobs.status, 404);
  EXPECT_TRUE(jobs.json().at("data").is_null());
  auto wrong = http_call(port(), "DELETE", "/v1/api/jobs/x", bearer(key_));
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.header("allow"), "GET");
  EXPECT_EQ(wrong.json().at("error").at("code"), "method_not_allowed");
  expect_error(http_call(port(), "PUT", jobs_, bearer(key_)), 405,
               "method_not_allowed", "POST");
  expect_error(get("/v1/native/projects/alpha/jobs/not-a-uuid"), 404,
               "not_found", "not-a-uuid");
  expect_error(get("/v1/native/projects/alpha/jobs/%zz"), 400,
               "invalid_argument", "percent");
}

// Found by fuzzing: an error quoting bytes that are not UTF-8 (raw in the
// path, or percent-encoded in an id) must still be a valid JSON body.
TEST_F(BadInput, ErrorsQuotingBytesThatAreNotUtf8AreValidJson) {
  raw_connection c(port());
  c.send("GET /v1/native/\xf4\xf4x HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto text = c.read_until("}\n", milliseconds(3000));
  const auto body = text.substr(std::min(text.find("\r\n\r\n"), text.size()));
  EXPECT_NE(text.find("404 Not Found"), std::string::npos) << text;
  EXPECT_NE(body.find("no route for /v1/native/??x"), std::string::npos)
      << text;
  boost::system::error_code ec;
  (void)boost::json::parse(body, ec);
  EXPECT_FALSE(ec) << ec.message() << "\n" << text;
  expect_error(get("/v1/native/projects/alpha/jobs/%F4%01%0A"), 404,
               "not_found", "???");
}

TEST_F(BadInput, OversizedBodyIs413AndHeadersAre431) {
  const std::string big(100 * 1024, 'x');
  auto a = post(jobs_, "{\"kind\": \"" + big + "\"}");
  EXPECT_EQ(a.status, 413);
  EXPECT_EQ(a.json().at("error").at("code"), "body_too_large");
  raw_connection c(port());
  c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " +
         std::string(8 * 1024, 'y') + "\r\n\r\n");
  auto text = c.read_until("}", milliseconds(3000));
  EXPECT_NE(text.find("431"), std::string::npos) << text;
  EXPECT_TRUE(c.closed_within(milliseconds(3000)));
}

TEST_F(BadInput, GarbageIs400AndTheConnectionCloses) {
  raw_connection c(port());
  c.send("THIS IS NOT HTTP\r\n\r\n");
  auto text = c.read_until("}", milliseconds(3000));
  EXPECT_NE(text.find("400 Bad Request"), std::string::npos) << text;
  EXPECT_TRUE(c.closed_within(milliseconds(3000)));
}

TEST_F(BadInput, IdleAndSlowClientsTimeOut) {
  raw_connection idle(port());
  EXPECT_TRUE(idle.closed_within(milliseconds(3000)));
  raw_connection slow(port());
  slow.send("GET /healthz HTTP/1.1\r\n");  // and never the rest
  EXPECT_TRUE(slow.closed_within(milliseconds(3000)));
  // The server still serves others.
  EXPECT_EQ(http_call(port(), "GET", "/healthz").status, 200);
}

}  // namespace
}  // namespace jobstate::test
