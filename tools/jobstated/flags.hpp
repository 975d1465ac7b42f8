// jobstated's command line: the serve options and the `keys` subcommands.
#ifndef JOBSTATE_TOOLS_JOBSTATED_FLAGS_HPP
#define JOBSTATE_TOOLS_JOBSTATED_FLAGS_HPP

#include <jobstate/options.hpp>

#include "http/server_options.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <variant>

namespace jobstated {

/// What the command line asks for.
enum class command { serve, help, keys_create, keys_revoke, keys_list };

struct flags {
  command what = command::serve;
  std::string db = "jobstated-data";  ///< Relative to the working directory.
  jobstate::http::server_options server;
  jobstate::durability durability = jobstate::durability::full;
  std::uint64_t map_size = std::uint64_t{64} << 20;      ///< --map-size
  std::uint64_t max_map_size = std::uint64_t{64} << 30;  ///< --max-map-size
  /// Longest a stop (drain, then closing the database) may take before
  /// jobstated says what it abandons and exits with status 2.
  std::chrono::seconds stop_timeout{60};
  std::string account;  ///< keys create --account (default: "default").
  std::string key_id;   ///< keys revoke KEY_ID
};

/// Parses argv; on error returns a message naming the bad argument.
std::variant<flags, std::string> parse_flags(int argc, char** argv);

/// The --help text.
const char* usage();

}  // namespace jobstated

#endif  // JOBSTATE_TOOLS_JOBSTATED_FLAGS_HPP
