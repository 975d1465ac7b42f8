#include "http/session.hpp"

#include "http/router.hpp"
#include "http/transport_errors.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>

namespace jobstate::http {

namespace bhttp = boost::beast::http;
namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// The bytes of `res`, header and body, by Beast's serializer. Written as one
// buffer, an answer costs one composed write instead of Beast's per-piece
// write operations, which took a quarter of a GET's time in user space.
std::string to_wire(response& res) {
  std::string wire;
  wire.reserve(256 + res.body().size());
  bhttp::serializer<false, bhttp::string_body> serializer(res);
  error_code ec;
  do {
    serializer.next(ec, [&](error_code&, const auto& buffers) {
      for (const auto b : boost::beast::buffers_range_ref(buffers)) {
        wire.append(static_cast<const char*>(b.data()), b.size());
      }
      serializer.consume(boost::beast::buffer_bytes(buffers));
    });
  } while (!ec && !serializer.is_done());
  return wire;
}

}  // namespace

session::session(asio::ip::tcp::socket socket, server_context& ctx,
                 std::function<void()> on_close)
    : stream_(std::move(socket)), ctx_(ctx), on_close_(std::move(on_close)) {}

session::~session() {
  if (on_close_) on_close_();
}

asio::any_io_executor session::executor() { return stream_.get_executor(); }

void session::start() {
  asio::dispatch(stream_.get_executor(),
                 [self = shared_from_this()] { self->read_next(); });
}

void session::drain() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    self->draining_ = true;
    if (self->handling_) {
      // A long-poll or a stream ends now; its answer closes the connection.
      self->drain_signal_.emit(asio::cancellation_type::terminal);
    } else {
      self->close();  // idle between requests: nothing to answer
    }
  });
}

void session::force_close() {
  asio::post(stream_.get_executor(),
             [self = shared_from_this()] { self->close(); });
}

void session::read_next() {
  if (draining_ || closed_) return close();
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(ctx_.opts.header_limit));
  parser_->body_limit(ctx_.opts.body_limit);
  // The whole request, headers and body, within read_timeout: an idle
  // keep-alive connection and a client that trickles bytes both time out.
  stream_.expires_after(ctx_.opts.read_timeout);
  bhttp::async_read(stream_, buffer_, *parser_,
                    [self = shared_from_this()](error_code ec, std::size_t) {
                      self->on_read(ec);
                    });
}

void session::on_read(error_code ec) {
  if (closed_) return;
  if (ec) {
    // The answer, if any, uses the envelope of the surface of the request's
    // path, as far as it could be read.
    const auto parsed = parser_->get().target();
    const std::string_view unread(
        static_cast<const char*>(buffer_.data().data()), buffer_.size());
    auto answer = read_error_response(
        ec,
        failed_request_target(std::string_view(parsed.data(), parsed.size()),
                              unread),
        ctx_.opts);
    if (!answer) return close();
    return reply_and_close(std::move(*answer));
  }
  req_ = parser_->release();
  stream_.expires_never();  // a long-poll may take up to max_wait
  handling_ = true;
  dispatch(ctx_, shared_from_this());
}

void session::reply(response res) {
  if (closed_) return;
  const bool keep_alive = req_.keep_alive() && !draining_;
  res.version(11);
  res.keep_alive(keep_alive);
  res.set(bhttp::field::server, "jobstated");
  res.prepare_payload();
  wire_ = to_wire(res);
  stream_.expires_after(ctx_.opts.write_timeout);
  asio::async_write(
      stream_, asio::buffer(wire_),
      [self = shared_from_this(), keep_alive](error_code ec, std::size_t) {
        self->on_written(keep_alive, ec);
      });
}

void session::reply_and_close(response res) {
  draining_ = true;  // so that reply() closes after writing
  handling_ = true;
  reply(std::move(res));
}

void session::on_written(bool keep_alive, error_code ec) {
  handling_ = false;
  if (ec || !keep_alive) return close();
  read_next();
}

void session::write_raw(std::string bytes,
                        std::function<void(error_code)> done) {
  if (closed_) {
    return asio::post(stream_.get_executor(), [done = std::move(done)] {
      done(asio::error::operation_aborted);
    });
  }
  raw_ = std::make_shared<std::string>(std::move(bytes));
  stream_.expires_after(ctx_.opts.write_timeout);
  asio::async_write(stream_, asio::buffer(*raw_),
                    [self = shared_from_this(), done = std::move(done)](
                        error_code ec, std::size_t) {
                      self->raw_.reset();
                      self->stream_.expires_never();
                      done(ec);
                    });
}

void session::end_stream() {
  handling_ = false;
  close();
}

void session::close() {
  if (closed_) return;
  closed_ = true;
  error_code ignored;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  stream_.close();
  // A wait still pending ends now rather than at its timeout.
  drain_signal_.emit(asio::cancellation_type::terminal);
}

}  // namespace jobstate::http
