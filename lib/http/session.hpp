// One HTTP/1.1 connection: reads requests one after another (keep-alive),
// hands each to the router, writes its answer. Enforces the header and body
// limits and the read and write timeouts of server_options.
#ifndef JOBSTATE_HTTP_SESSION_HPP
#define JOBSTATE_HTTP_SESSION_HPP

#include "http/exchange.hpp"
#include "http/server_context.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>

#include <functional>
#include <memory>
#include <optional>

namespace jobstate::http {

/// Lives as long as a handler or an I/O operation holds it (shared_ptr).
/// Every member runs on the connection's strand.
class session final : public exchange,
                      public std::enable_shared_from_this<session> {
 public:
  /// `socket`'s executor must be a strand. `on_close` runs once, when the
  /// session is destroyed.
  session(boost::asio::ip::tcp::socket socket, server_context& ctx,
          std::function<void()> on_close);
  ~session() override;

  /// Starts reading requests.
  void start();
  /// The server drains: end a pending wait, close once idle. Thread-safe
  /// (posts to the strand).
  void drain();
  /// Closes the connection now. Thread-safe (posts to the strand).
  void force_close();

  // exchange
  const request& req() const override { return req_; }
  boost::asio::any_io_executor executor() override;
  void reply(response res) override;
  boost::asio::cancellation_slot drain_slot() override {
    return drain_signal_.slot();
  }
  bool draining() const override { return draining_; }
  void write_raw(std::string bytes,
                 std::function<void(boost::system::error_code)> done) override;
  void end_stream() override;

 private:
  void read_next();
  void on_read(boost::system::error_code ec);
  void on_written(bool keep_alive, boost::system::error_code ec);
  void close();
  /// Answers a request that failed to parse, then closes.
  void reply_and_close(response res);

  boost::beast::tcp_stream stream_;
  server_context& ctx_;
  std::function<void()> on_close_;
  boost::beast::flat_buffer buffer_;
  std::optional<
      boost::beast::http::request_parser<boost::beast::http::string_body>>
      parser_;
  request req_;
  std::string wire_;                  // the answer being written
  std::shared_ptr<std::string> raw_;  // alive while being written
  boost::asio::cancellation_signal drain_signal_;
  bool draining_ = false;
  bool handling_ = false;  // a request is being answered
  bool closed_ = false;
};

}  // namespace jobstate::http

#endif  // JOBSTATE_HTTP_SESSION_HPP
