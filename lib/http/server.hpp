// jobstated's HTTP server: accepts connections on its own io_context
// threads and serves the routes of router.cpp against one engine.
#ifndef JOBSTATE_HTTP_SERVER_HPP
#define JOBSTATE_HTTP_SERVER_HPP

#include <jobstate/engine.hpp>

#include "http/server_context.hpp"
#include "http/server_options.hpp"

#include <memory>

namespace jobstate::http {

/// Thread-safe. The engine and the key store must outlive the server.
/// Lifecycle: start() once; drain() (any thread, any number of times) to
/// stop; wait() to join. Destroying a started server drains and waits.
class server {
 public:
  server(engine& e, key_store& keys, server_options opts);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds, listens and starts the threads.
  /// Errors: invalid_argument (bad host), io_error (address in use, ...).
  result<void> start();
  /// The port listened on (the chosen one when options asked for 0).
  unsigned short port() const;

  /// Stops accepting, answers pending long-polls with the job as it is,
  /// ends event streams, and closes connections as their answers are
  /// written (any still open after drain_timeout are closed). Returns at
  /// once.
  void drain();
  /// Blocks until drained and every thread has stopped.
  void wait();

  /// The counters of /metrics (for tests and the benchmark).
  const server_counters& counters() const;

 private:
  class impl;
  std::shared_ptr<impl> impl_;  // shared with its pending handlers
};

}  // namespace jobstate::http

#endif  // JOBSTATE_HTTP_SERVER_HPP
