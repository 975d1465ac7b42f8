// What every handler needs: the engine, the keys, the options and the
// server's own counters.
#ifndef JOBSTATE_HTTP_SERVER_CONTEXT_HPP
#define JOBSTATE_HTTP_SERVER_CONTEXT_HPP

#include <jobstate/engine.hpp>

#include "http/key_store.hpp"
#include "http/server_options.hpp"

#include <atomic>
#include <cstdint>

namespace jobstate::http {

/// Counters the server keeps for /metrics. Relaxed atomics: each is read
/// alone.
struct server_counters {
  std::atomic<std::uint64_t> connections_open{0};
  std::atomic<std::uint64_t> connections_accepted{0};
  std::atomic<std::uint64_t> connections_refused{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> long_polls_pending{0};
  std::atomic<std::uint64_t> sse_streams_open{0};
};

struct server_context {
  jobstate::engine& engine;
  key_store& keys;
  const server_options& opts;
  server_counters counters;
};

}  // namespace jobstate::http

#endif  // JOBSTATE_HTTP_SERVER_CONTEXT_HPP
