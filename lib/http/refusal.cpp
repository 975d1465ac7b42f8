#include "http/refusal.hpp"

#include "http/transport_errors.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <memory>

namespace jobstate::http {
namespace {

namespace bhttp = boost::beast::http;
using boost::asio::ip::tcp;
using boost::system::error_code;

// One refused connection, alive while its read or write is pending. Its
// handlers run on the socket's strand. The deadline cancels the pending
// operation rather than closing the socket (as a beast::tcp_stream's
// timeout would): a read that times out is still answered.
class refusal : public std::enable_shared_from_this<refusal> {
 public:
  refusal(tcp::socket socket, const server_options& opts)
      : socket_(std::move(socket)),
        deadline_(socket_.get_executor()),
        opts_(opts) {}

  void start() {
    parser_.header_limit(static_cast<std::uint32_t>(opts_.header_limit));
    arm(opts_.refusal_timeout);
    bhttp::async_read_header(socket_, buffer_, parser_,
                             [self = shared_from_this()](
                                 error_code, std::size_t) { self->answer(); });
  }

 private:
  // Cancels the pending read or write once `after` passed. A wait that
  // completes after the deadline moved (the next phase began) does nothing.
  void arm(std::chrono::milliseconds after) {
    deadline_.expires_after(after);
    deadline_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec && self->deadline_.expiry() <=
                     boost::asio::steady_timer::clock_type::now()) {
        error_code ignored;
        self->socket_.cancel(ignored);
      }
    });
  }

  // Whatever ended the read (the header, the deadline, garbage), the answer
  // is the same 503; only its envelope depends on what arrived.
  void answer() {
    const auto parsed = parser_.get().target();
    const std::string_view unread(
        static_cast<const char*>(buffer_.data().data()), buffer_.size());
    res_ = over_connection_limit_response(failed_request_target(
        std::string_view(parsed.data(), parsed.size()), unread));
    res_.version(11);
    res_.keep_alive(false);
    res_.set(bhttp::field::server, "jobstated");
    res_.prepare_payload();
    arm(opts_.write_timeout);
    bhttp::async_write(
        socket_, res_, [self = shared_from_this()](error_code, std::size_t) {
          self->deadline_.cancel();
          error_code ignored;
          self->socket_.shutdown(tcp::socket::shutdown_both, ignored);
          self->socket_.close(ignored);
        });
  }

  tcp::socket socket_;
  boost::asio::steady_timer deadline_;
  const server_options& opts_;
  boost::beast::flat_buffer buffer_;
  bhttp::request_parser<bhttp::empty_body> parser_;
  response res_;
};

}  // namespace

void refuse_connection(tcp::socket socket, const server_options& opts) {
  std::make_shared<refusal>(std::move(socket), opts)->start();
}

}  // namespace jobstate::http
