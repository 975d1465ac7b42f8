// Every answer on a surface's paths comes in that surface's error envelope,
// whichever layer produces it: the session's transport errors (413, 431,
// 400), the connection limit's 503, the router's 400, 401, 404 and 405. A
// request whose target cannot be read gets the native envelope.
#include "http/responses.hpp"
#include "support/server_fixture.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cstdio>
#include <ostream>
#include <vector>

namespace jobstate::test {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

/// One surface's paths, and the shape of its errors.
struct surface_case {
  std::string name;
  std::string route;         ///< A path with a route (GET or POST).
  std::string wrong_method;  ///< A method that route does not take.
  std::string unknown;       ///< A path of the surface with no route.
  http::surface envelope;
};

// Test names show the surface rather than the struct's bytes.
void PrintTo(const surface_case& c, std::ostream* os) { *os << c.name; }

std::vector<std::string> keys_of(const json::value& v) {
  std::vector<std::string> keys;
  for (const auto& m : v.as_object()) keys.emplace_back(m.key());
  return keys;
}

/// The answer is `status` with a JSON error body in `envelope`'s shape.
void expect_envelope(http::surface envelope, const http_answer& a, int status,
                     const std::string& code) {
  EXPECT_EQ(a.status, status) << a.body;
  EXPECT_EQ(a.header("content-type"), "application/json");
  const json::value v = a.json();
  ASSERT_TRUE(v.is_object()) << a.body;
  switch (envelope) {
    case http::surface::scale_gp:
      ASSERT_EQ(keys_of(v), std::vector<std::string>{"detail"}) << a.body;
      EXPECT_TRUE(v.at("detail").is_string()) << a.body;
      return;
    case http::surface::jobs_api:
      ASSERT_EQ(keys_of(v), (std::vector<std::string>{"data", "error"}))
          << a.body;
      EXPECT_TRUE(v.at("data").is_null()) << a.body;
      break;
    case http::surface::native:
    case http::surface::gc_ai:
      ASSERT_EQ(keys_of(v), std::vector<std::string>{"error"}) << a.body;
      break;
  }
  const json::value& error = v.at("error");
  ASSERT_TRUE(error.is_object()) << a.body;
  ASSERT_EQ(keys_of(error), (std::vector<std::string>{"code", "message"}))
      << a.body;
  EXPECT_EQ(error.at("code"), code.c_str()) << a.body;
  EXPECT_TRUE(error.at("message").is_string()) << a.body;
}

/// Sends raw bytes on a fresh connection and parses the answer, which must
/// close the connection.
http_answer raw_exchange(unsigned short port, const std::string& bytes) {
  raw_connection c(port);
  c.send(bytes);
  EXPECT_TRUE(c.closed_within(milliseconds(5000)));
  return parse_answer(c.received());
}

const std::vector<surface_case> surfaces = {
    {"native", "/v1/native/projects/alpha/jobs", "PUT", "/v1/native/nothing",
     http::surface::native},
    {"scale_gp", "/v1/projects/alpha/jobs/x", "POST",
     "/v1/projects/alpha/nothing", http::surface::scale_gp},
    {"jobs_api", "/v1/api/jobs/x", "DELETE", "/v1/api/nothing",
     http::surface::jobs_api},
    {"gc_ai", "/api/external/v1/jobs/x", "POST", "/api/external/v1/nothing",
     http::surface::gc_ai},
};

std::string case_name(const ::testing::TestParamInfo<surface_case>& info) {
  return info.param.name;
}

/// A server with small limits, so that a test can pass them cheaply.
class SmallLimits : public server_test {
 protected:
  SmallLimits() { deferred_start_ = true; }
  void SetUp() override {
    server_test::SetUp();
    options_.body_limit = 64 * 1024;
    options_.header_limit = 4 * 1024;
    options_.read_timeout = milliseconds(2000);
    start_server();
  }
};

class TransportEnvelopes : public SmallLimits,
                           public ::testing::WithParamInterface<surface_case> {
 protected:
  const surface_case& s() const { return GetParam(); }
};

TEST_P(TransportEnvelopes, BodyOverTheLimitIs413) {
  // Refused on the header's Content-Length, before any body byte.
  auto a = raw_exchange(port(), "POST " + s().route +
                                    " HTTP/1.1\r\nHost: x\r\n"
                                    "Content-Length: 100000\r\n\r\n");
  expect_envelope(s().envelope, a, 413, "body_too_large");
  EXPECT_EQ(a.header("connection"), "close");
}

TEST_P(TransportEnvelopes, ChunkedBodyOverTheLimitIs413) {
  // Refused on the size of the first chunk (70 KiB), before its bytes.
  auto a = raw_exchange(port(), "POST " + s().route +
                                    " HTTP/1.1\r\nHost: x\r\n"
                                    "Transfer-Encoding: chunked\r\n\r\n"
                                    "11800\r\n");
  expect_envelope(s().envelope, a, 413, "body_too_large");
}

TEST_P(TransportEnvelopes, HeadersOverTheLimitAre431) {
  auto a = raw_exchange(port(), "GET " + s().route +
                                    " HTTP/1.1\r\nHost: x\r\nX-Big: " +
                                    std::string(8 * 1024, 'y') + "\r\n\r\n");
  expect_envelope(s().envelope, a, 431, "headers_too_large");
}

TEST_P(TransportEnvelopes, MalformedContentLengthIs400) {
  auto a = raw_exchange(port(), "POST " + s().route +
                                    " HTTP/1.1\r\nHost: x\r\n"
                                    "Content-Length: abc\r\n\r\n");
  expect_envelope(s().envelope, a, 400, "bad_request");
}

TEST_P(TransportEnvelopes, MalformedRequestLineIs400) {
  // The version is wrong: the request line does not parse, but its target
  // still names the surface.
  auto a =
      raw_exchange(port(), "GET " + s().route + " HTTP/7.0\r\nHost: x\r\n\r\n");
  expect_envelope(s().envelope, a, 400, "bad_request");
}

TEST_P(TransportEnvelopes, MalformedPercentEscapeIs400) {
  auto a = http_call(port(), "GET", s().route + "%zz", bearer(key_));
  expect_envelope(s().envelope, a, 400, "invalid_argument");
}

TEST_P(TransportEnvelopes, MissingKeyIs401) {
  expect_envelope(s().envelope, http_call(port(), "GET", s().route), 401,
                  "unauthorized");
}

TEST_P(TransportEnvelopes, UnknownPathIs404) {
  expect_envelope(s().envelope, get(s().unknown), 404, "no_route");
}

TEST_P(TransportEnvelopes, OtherMethodIs405) {
  auto a = http_call(port(), s().wrong_method, s().route, bearer(key_));
  expect_envelope(s().envelope, a, 405, "method_not_allowed");
  EXPECT_FALSE(a.header("allow").empty());
}

TEST_P(TransportEnvelopes, PercentEncodedPrefixKeepsTheSurface) {
  // "/v1/%61pi/nothing" is "/v1/api/nothing" once decoded, as the routes
  // read paths: the surface follows the decoded path too.
  std::string path = s().unknown;
  const std::size_t at = path.find('/', 1) + 1;
  char escape[4];
  std::snprintf(escape, sizeof escape, "%%%02X",
                static_cast<unsigned char>(path[at]));
  path.replace(at, 1, escape);
  expect_envelope(s().envelope, get(path), 404, "no_route");
}

INSTANTIATE_TEST_SUITE_P(Surfaces, TransportEnvelopes,
                         ::testing::ValuesIn(surfaces), case_name);

class ConnectionLimitEnvelopes
    : public server_test,
      public ::testing::WithParamInterface<surface_case> {
 protected:
  ConnectionLimitEnvelopes() { deferred_start_ = true; }
  void SetUp() override {
    server_test::SetUp();
    options_.max_connections = 1;
    start_server();
  }
  const surface_case& s() const { return GetParam(); }
};

TEST_P(ConnectionLimitEnvelopes, OverTheLimitIs503) {
  raw_connection held(port());
  held.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  held.read_until("}\n", milliseconds(3000));  // accepted: the limit is met
  auto a = raw_exchange(port(), "GET " + s().route +
                                    " HTTP/1.1\r\nHost: x\r\n"
                                    "Authorization: Bearer " +
                                    key_ + "\r\n\r\n");
  expect_envelope(s().envelope, a, 503, "too_many_connections");
  EXPECT_EQ(a.header("retry-after"), "1");
  EXPECT_EQ(a.header("connection"), "close");
}

INSTANTIATE_TEST_SUITE_P(Surfaces, ConnectionLimitEnvelopes,
                         ::testing::ValuesIn(surfaces), case_name);

// A target that cannot be read at all falls back to the native envelope.
class UnreadableTarget : public SmallLimits {};

TEST_F(UnreadableTarget, GarbageGetsTheNativeEnvelope) {
  auto a = raw_exchange(port(), "THIS IS NOT HTTP\r\n\r\n");
  expect_envelope(http::surface::native, a, 400, "bad_request");
}

TEST_F(UnreadableTarget, AnOverlongRequestLineGetsTheNativeEnvelope) {
  auto a =
      raw_exchange(port(), "GET /v1/api/jobs/" + std::string(8 * 1024, 'x') +
                               " HTTP/1.1\r\nHost: x\r\n\r\n");
  expect_envelope(http::surface::native, a, 431, "headers_too_large");
}

}  // namespace
}  // namespace jobstate::test
