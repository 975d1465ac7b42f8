// A small blocking HTTP/1.1 client for the server's tests: one request per
// connection, or raw bytes on a connection the test drives itself.
#ifndef JOBSTATE_TESTS_HTTP_SUPPORT_HTTP_CLIENT_HPP
#define JOBSTATE_TESTS_HTTP_SUPPORT_HTTP_CLIENT_HPP

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace jobstate::test {

/// An answer as the client saw it. Header names are lower case.
struct http_answer {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
  /// The body parsed as JSON (null when it is not JSON).
  boost::json::value json() const;
  /// The header's value, or "" when absent.
  std::string header(const std::string& lower_name) const;
};

using header_list = std::vector<std::pair<std::string, std::string>>;

/// Sends one request to 127.0.0.1:port and reads the answer (throws
/// std::runtime_error on a connection error or after 30 s).
http_answer http_call(unsigned short port, const std::string& method,
                      const std::string& target,
                      const header_list& headers = {},
                      const std::string& body = {});

/// Parses the raw bytes of one answer (status line, headers, body), as a
/// raw_connection received them. Throws std::runtime_error when they are
/// not a complete HTTP/1.1 answer.
http_answer parse_answer(const std::string& raw);

/// A connection driven by the test: raw bytes out, raw bytes in.
class raw_connection {
 public:
  explicit raw_connection(unsigned short port);
  void send(const std::string& bytes);
  /// Reads until `needle` has arrived, the peer closes, or `timeout`;
  /// returns everything read so far on this connection.
  std::string read_until(const std::string& needle,
                         std::chrono::milliseconds timeout);
  /// True when the peer closed the connection within `timeout`.
  bool closed_within(std::chrono::milliseconds timeout);
  const std::string& received() const { return received_; }

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  std::string received_;
  bool eof_ = false;
};

}  // namespace jobstate::test

#endif  // JOBSTATE_TESTS_HTTP_SUPPORT_HTTP_CLIENT_HPP
