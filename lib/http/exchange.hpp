// One request and its answer, as the handlers of every surface see them.
// The connection (session.cpp) implements `exchange`; handlers answer
// through it, at once or later (after an engine operation completes).
#ifndef JOBSTATE_HTTP_EXCHANGE_HPP
#define JOBSTATE_HTTP_EXCHANGE_HPP

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>

#include <functional>
#include <memory>
#include <string>

namespace jobstate::http {

using request = boost::beast::http::request<boost::beast::http::string_body>;
using response = boost::beast::http::response<boost::beast::http::string_body>;

/// The request being answered on one connection. Every member must be called
/// on the connection's executor (`executor()`, a strand): bind completion
/// handlers to it. Not thread-safe otherwise.
class exchange {
 public:
  virtual ~exchange() = default;

  virtual const request& req() const = 0;
  /// The connection's strand.
  virtual boost::asio::any_io_executor executor() = 0;

  /// Sends the answer. Exactly once per request, unless the handler streams.
  virtual void reply(response res) = 0;

  /// A slot that is signalled (terminal cancellation) when the server
  /// drains: bind it to an engine wait or watch so that it ends at once.
  /// One operation at a time may be bound to it.
  virtual boost::asio::cancellation_slot drain_slot() = 0;
  /// True once the server began draining: answer without waiting.
  virtual bool draining() const = 0;

  /// Streaming (Server-Sent Events): writes raw bytes of the response,
  /// status line and headers included in the first call, then calls `done`
  /// on the strand. The connection is closed by `end_stream`.
  virtual void write_raw(
      std::string bytes,
      std::function<void(boost::system::error_code)> done) = 0;
  /// Ends a streamed response: the connection closes.
  virtual void end_stream() = 0;
};

using exchange_ptr = std::shared_ptr<exchange>;

}  // namespace jobstate::http

#endif  // JOBSTATE_HTTP_EXCHANGE_HPP
