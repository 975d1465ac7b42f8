// jobstated: serves a jobstate database over HTTP (docs/http-api.md).
#include <jobstate/engine.hpp>

#include "flags.hpp"
#include "http/key_store.hpp"
#include "http/server.hpp"
#include "welcome.hpp"

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

namespace {

namespace fs = std::filesystem;
using jobstate::http::key_store;

int fail(const std::string& message) {
  std::cerr << "jobstated: " << message << "\n";
  return 1;
}

std::unique_ptr<key_store> open_keys(const std::string& db) {
  auto keys = key_store::open(key_store::file_in(db));
  if (!keys) {
    std::cerr << "jobstated: " << keys.error().message() << "\n";
    return nullptr;
  }
  return std::move(*keys);
}

int keys_command(const jobstated::flags& f) {
  auto keys = open_keys(f.db);
  if (!keys) return 1;
  switch (f.what) {
    case jobstated::command::keys_create: {
      auto issued = keys->create_key(f.account);
      if (!issued) return fail(issued.error().message());
      std::cout << "key id:  " << issued->record.id << "\n"
                << "account: " << issued->record.account_id << "\n"
                << "key:     " << issued->key << "\n"
                << "(shown once: only its hash is stored)\n";
      return 0;
    }
    case jobstated::command::keys_revoke: {
      if (auto r = keys->revoke(f.key_id); !r) return fail(r.error().message());
      std::cout << "revoked key " << f.key_id << "\n";
      return 0;
    }
    default:
      break;
  }
  for (const auto& k : keys->list()) {
    std::cout << k.id << "  account=" << k.account_id
              << "  created=" << k.created_at << (k.revoked ? "  REVOKED" : "")
              << "\n";
  }
  return 0;
}

// Where a stop is: what it would abandon if it went no further.
enum class stop_stage { draining, closing, done };

const char* abandoned_by(stop_stage stage) {
  return stage == stop_stage::draining
             ? "draining connections (requests in progress are abandoned)"
             : "closing the database (queued writes that did not commit are "
               "abandoned; acknowledged ones are durable)";
}

// Drains the server and closes the engine on another thread, so that this
// one can give up when the stop takes past `limit` or a second signal
// comes: a stop must end even when a commit never does.
int stop(jobstate::http::server& server,
         std::unique_ptr<jobstate::engine>& engine, const sigset_t& signals,
         std::chrono::seconds limit) {
  std::atomic<stop_stage> stage{stop_stage::draining};
  std::thread stopper([&] {
    server.drain();
    server.wait();
    stage = stop_stage::closing;
    engine.reset();  // commits what is queued and closes the database
    stage = stop_stage::done;
  });
  const auto deadline = std::chrono::steady_clock::now() + limit;
  const char* why = nullptr;
  while (stage != stop_stage::done) {
    const timespec tick{0, 50'000'000};
    if (sigtimedwait(&signals, nullptr, &tick) > 0) {
      why = "a second signal";
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      why = "--stop-timeout";
      break;
    }
  }
  if (why == nullptr) {
    stopper.join();
    std::cout << "jobstated: stopped" << std::endl;
    return 0;
  }
  const auto& c = server.counters();
  std::cerr << "jobstated: stop abandoned after " << why << ", while "
            << abandoned_by(stage) << "; " << c.connections_open
            << " connections open, " << c.long_polls_pending
            << " long-polls pending, " << c.sse_streams_open
            << " event streams open" << std::endl;
  // The stopper is stuck; exiting without unwinding leaves it be.
  std::_Exit(2);
}

int serve(const jobstated::flags& f) {
  // Signals are taken by sigwait below, so every thread started from here
  // on (the engine's, the server's) must have them blocked.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  jobstate::options opts;
  opts.path = f.db;
  opts.durability = f.durability;
  opts.map_size = f.map_size;
  opts.max_map_size = f.max_map_size;
  auto engine = jobstate::engine::open(opts);
  if (!engine)
    return fail("cannot open " + f.db + ": " + engine.error().message());
  auto keys = open_keys(f.db);
  if (!keys) return 1;
  std::string first_key;
  if (keys->empty()) {
    auto issued = keys->create_key("default");
    if (!issued) return fail(issued.error().message());
    first_key = issued->key;
  }
  jobstate::http::server server(**engine, *keys, f.server);
  if (auto r = server.start(); !r) return fail(r.error().message());
  const std::string host = f.server.host.find(':') != std::string::npos
                               ? "[" + f.server.host + "]"
                               : f.server.host;
  const std::string base_url =
      "http://" + host + ":" + std::to_string(server.port());
  if (!first_key.empty()) {
    std::cout << jobstated::welcome_text(first_key, base_url,
                                         f.server.default_project);
  }
  std::cout << "jobstated: database " << fs::absolute(f.db).string() << "\n"
            << "jobstated: listening on " << base_url << std::endl;

  int signal = 0;
  sigwait(&stop_signals, &signal);
  std::cout << "jobstated: " << (signal == SIGINT ? "SIGINT" : "SIGTERM")
            << ", draining" << std::endl;
  return stop(server, *engine, stop_signals, f.stop_timeout);
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = jobstated::parse_flags(argc, argv);
  if (auto* message = std::get_if<std::string>(&parsed)) {
    return fail(*message);
  }
  const auto& f = std::get<jobstated::flags>(parsed);
  switch (f.what) {
    case jobstated::command::help:
      std::cout << jobstated::usage();
      return 0;
    case jobstated::command::serve:
      return serve(f);
    default:
      return keys_command(f);
  }
}
