// How jobstated serves: address, limits and timeouts. A plain struct.
#ifndef JOBSTATE_HTTP_SERVER_OPTIONS_HPP
#define JOBSTATE_HTTP_SERVER_OPTIONS_HPP

#include <jobstate/long_poll.hpp>

#include <chrono>
#include <cstddef>
#include <string>

namespace jobstate::http {

struct server_options {
  // --- behaviour ---
  std::string host = "127.0.0.1";  ///< Address to listen on.
  unsigned short port = 8080;      ///< 0: any free port (see server::port).
  /// The project of the compatibility surfaces whose URLs name none (the
  /// generic jobs API and GC AI).
  std::string default_project = "default";
  /// Longest `wait` granted (longer ones are clamped).
  long_poll_options long_poll;

  // --- limits ---
  std::size_t max_connections = 20'000;  ///< Beyond it: 503 and close.
  std::size_t header_limit = 16 * 1024;  ///< Bytes of request line + headers.
  std::size_t body_limit = 2 * 1024 * 1024;  ///< Bytes of a request body.
  /// A request must arrive in full within this time after the previous
  /// answer (or the connection's start): idle and slow clients are closed.
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};
  /// A connection over max_connections is answered 503, in the envelope of
  /// its path's surface, once its request line and headers arrive, or after
  /// this time (native envelope when no request line arrived).
  std::chrono::milliseconds refusal_timeout{std::chrono::seconds(1)};
  /// An answer must be written within this time.
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
  /// How often a Server-Sent Events stream with nothing to say sends a
  /// keep-alive (and its current position).
  std::chrono::milliseconds sse_heartbeat{std::chrono::seconds(15)};
  /// On drain, connections still open after this are closed.
  std::chrono::milliseconds drain_timeout{std::chrono::seconds(10)};

  // --- performance ---
  unsigned threads = 2;  ///< Threads running the server's io_context.
};

}  // namespace jobstate::http

#endif  // JOBSTATE_HTTP_SERVER_OPTIONS_HPP
