// The Server-Sent Events change stream and its resumption with
// Last-Event-ID.
#include "support/server_fixture.hpp"

#include <gtest/gtest.h>

#include <regex>

namespace jobstate::test {
namespace {

using std::chrono::milliseconds;

class EventStream : public server_test {
 protected:
  EventStream() { deferred_start_ = true; }
  void SetUp() override {
    server_test::SetUp();
    options_.sse_heartbeat = milliseconds(200);
    start_server();
  }
  std::string open_request(const std::string& extra_headers = {}) {
    return "GET /v1/native/changes/stream HTTP/1.1\r\nHost: x\r\n"
           "Authorization: Bearer " +
           key_ + "\r\n" + extra_headers + "\r\n";
  }
  static std::vector<std::string> ids_in(const std::string& text) {
    std::vector<std::string> ids;
    static const std::regex event("id: ([0-9]+)\nevent: change\n");
    for (std::sregex_iterator it(text.begin(), text.end(), event), end;
         it != end; ++it) {
      ids.push_back((*it)[1]);
    }
    return ids;
  }
};

TEST_F(EventStream, StreamsChangesAndResumesFromLastEventId) {
  const job j = create_job();
  raw_connection stream(port());
  stream.send(open_request());
  auto text = stream.read_until("event: change", milliseconds(3000));
  EXPECT_NE(text.find("HTTP/1.1 200 OK"), std::string::npos);
  EXPECT_NE(text.find("Content-Type: text/event-stream"), std::string::npos);
  engine_->start(ref(j)).value();
  text = stream.read_until("\"step\":\"started\"", milliseconds(3000));
  auto ids = ids_in(text);
  ASSERT_EQ(ids.size(), 2u) << text;
  EXPECT_EQ(ids[0], "1");
  EXPECT_EQ(ids[1], "2");

  // Changes made while disconnected arrive on reconnection, and only those.
  engine_->cancel(ref(j), "stop").value();
  create_job("default", "parse", "globex");  // another account's: skipped
  create_job();
  raw_connection resumed(port());
  resumed.send(open_request("Last-Event-ID: 2\r\n"));
  text = resumed.read_until("\"sequence\":5", milliseconds(3000));
  ids = ids_in(text);
  ASSERT_EQ(ids.size(), 2u) << text;
  EXPECT_EQ(ids[0], "3");
  EXPECT_EQ(ids[1], "5");
  EXPECT_EQ(text.find("globex"), std::string::npos);
}

TEST_F(EventStream, IdleStreamSendsKeepAlivesWithItsPosition) {
  create_job();
  raw_connection stream(port());
  stream.send(open_request("Last-Event-ID: 1\r\n"));
  auto text = stream.read_until(": keep-alive\nid: 1\n", milliseconds(3000));
  EXPECT_NE(text.find(": keep-alive\nid: 1\n"), std::string::npos) << text;
}

TEST_F(EventStream, BadPositionIs400) {
  raw_connection stream(port());
  stream.send(open_request("Last-Event-ID: banana\r\n"));
  auto text = stream.read_until("}", milliseconds(3000));
  EXPECT_NE(text.find("400 Bad Request"), std::string::npos) << text;
  raw_connection future(port());
  future.send(open_request("Last-Event-ID: 99\r\n"));
  text = future.read_until("}", milliseconds(3000));
  EXPECT_NE(text.find("400 Bad Request"), std::string::npos) << text;
}

TEST_F(EventStream, DrainEndsOpenStreams) {
  raw_connection stream(port());
  stream.send(open_request());
  stream.read_until("retry:", milliseconds(3000));
  stop_server();
  EXPECT_TRUE(stream.closed_within(milliseconds(3000)));
}

}  // namespace
}  // namespace jobstate::test
