#include "flags.hpp"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <string_view>
#include <vector>

namespace jobstated {

const char* usage() {
  return R"(jobstated: an HTTP server for jobstate's job database.

Usage:
  jobstated [OPTIONS]                         serve (the default)
  jobstated keys create [--account ID] [--db DIR]
                                              make an API key, printed once
  jobstated keys revoke KEY_ID [--db DIR]     revoke a key at once
  jobstated keys list [--db DIR]              list keys (ids, accounts)
  jobstated --help                            this text

Serve options:
  --listen HOST:PORT       address to listen on (default 127.0.0.1:8080;
                           port 0 picks a free port, printed at start)
  --db DIR                 database directory, created when missing
                           (default ./jobstated-data); API keys are kept
                           (hashed) in DIR/jobstated-keys.json
  --threads N              threads serving HTTP (default 2)
  --max-connections N      connections beyond it get 503 (default 20000)
  --max-wait SECONDS       longest long-poll granted (default 90)
  --read-timeout SECONDS   a request must arrive within it (default 30)
  --default-project NAME   project of the jobs API and GC AI surfaces
                           (default "default")
  --durability MODE        full, no_meta_sync or no_sync (default full)
  --map-size MIB           initial map size in MiB; it doubles as needed
                           (default 64)
  --max-map-size MIB       the database's size limit in MiB: past it writes
                           fail with storage_full (default 65536)
  --stop-timeout SECONDS   longest a stop may take: past it jobstated names
                           what it abandons and exits with status 2
                           (default 60)

On first start with a database that has no keys, jobstated creates the
account "default", prints one API key and curl commands to try it.
SIGTERM or SIGINT drains: no new connections, pending long-polls answered,
the database closed cleanly; a second signal, or --stop-timeout passing,
abandons the stop (exit status 2). The HTTP API: docs/http-api.md.
)";
}

namespace {

bool to_number(std::string_view text, unsigned long long& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size() && !text.empty();
}

}  // namespace

std::variant<flags, std::string> parse_flags(int argc, char** argv) {
  flags f;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  std::size_t i = 0;
  if (!args.empty() && args[0] == "keys") {
    if (args.size() < 2)
      return std::string("keys: expected create, revoke or list");
    if (args[1] == "create") {
      f.what = command::keys_create;
    } else if (args[1] == "revoke") {
      f.what = command::keys_revoke;
      if (args.size() < 3 || args[2].starts_with("--")) {
        return std::string("keys revoke: expected the KEY_ID to revoke");
      }
      f.key_id = std::string(args[2]);
      i = 1;
    } else if (args[1] == "list") {
      f.what = command::keys_list;
    } else {
      return "keys: unknown subcommand \"" + std::string(args[1]) +
             "\" (expected create, revoke or list)";
    }
    i += 2;
  }
  f.account = "default";
  for (; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      f.what = command::help;
      return f;
    }
    static constexpr std::string_view known[] = {
        "--db",           "--account",         "--listen",
        "--threads",      "--max-connections", "--max-wait",
        "--read-timeout", "--default-project", "--durability",
        "--map-size",     "--max-map-size",    "--stop-timeout"};
    if (std::find(std::begin(known), std::end(known), arg) == std::end(known)) {
      return "unknown option " + std::string(arg) + " (see --help)";
    }
    if (i + 1 >= args.size()) {
      return "option " + std::string(arg) + " needs a value (see --help)";
    }
    const std::string_view value = args[++i];
    unsigned long long n = 0;
    const auto number = [&](unsigned long long max) -> bool {
      return to_number(value, n) && n <= max;
    };
    const auto bad = [&] {
      return "option " + std::string(arg) + ": bad value \"" +
             std::string(value) + "\" (see --help)";
    };
    const bool serving = f.what == command::serve;
    if (arg == "--db") {
      f.db = std::string(value);
    } else if (arg == "--account" && f.what == command::keys_create) {
      f.account = std::string(value);
    } else if (arg == "--listen" && serving) {
      const auto colon = value.rfind(':');
      if (colon == std::string_view::npos || colon == 0) return bad();
      std::string_view host = value.substr(0, colon);
      if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);  // [::1]:8080
      }
      unsigned long long port = 0;
      if (!to_number(value.substr(colon + 1), port) || port > 65535) {
        return bad();
      }
      f.server.host = std::string(host);
      f.server.port = static_cast<unsigned short>(port);
    } else if (arg == "--threads" && serving) {
      if (!number(256) || n == 0) return bad();
      f.server.threads = static_cast<unsigned>(n);
    } else if (arg == "--max-connections" && serving) {
      if (!number(10'000'000) || n == 0) return bad();
      f.server.max_connections = n;
    } else if (arg == "--max-wait" && serving) {
      if (!number(24 * 3600)) return bad();
      f.server.long_poll.max_wait = std::chrono::seconds(n);
    } else if (arg == "--read-timeout" && serving) {
      if (!number(24 * 3600) || n == 0) return bad();
      f.server.read_timeout = std::chrono::seconds(n);
    } else if (arg == "--default-project" && serving) {
      if (value.empty()) return bad();
      f.server.default_project = std::string(value);
    } else if (arg == "--durability" && serving) {
      if (value == "full") {
        f.durability = jobstate::durability::full;
      } else if (value == "no_meta_sync") {
        f.durability = jobstate::durability::no_meta_sync;
      } else if (value == "no_sync") {
        f.durability = jobstate::durability::no_sync;
      } else {
        return bad();
      }
    } else if (arg == "--map-size" && serving) {
      if (!number(std::uint64_t{1} << 30) || n == 0) return bad();
      f.map_size = static_cast<std::uint64_t>(n) << 20;
    } else if (arg == "--max-map-size" && serving) {
      if (!number(std::uint64_t{1} << 30) || n == 0) return bad();
      f.max_map_size = static_cast<std::uint64_t>(n) << 20;
    } else if (arg == "--stop-timeout" && serving) {
      if (!number(24 * 3600) || n == 0) return bad();
      f.stop_timeout = std::chrono::seconds(n);
    } else {
      return "unknown option " + std::string(arg) + " (see --help)";
    }
  }
  if (f.max_map_size < f.map_size) {
    return "--max-map-size must be at least --map-size (see --help)";
  }
  return f;
}

}  // namespace jobstated
