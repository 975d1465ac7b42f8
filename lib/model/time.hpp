// Timestamps: the clock the engine stamps mutations with, and RFC 3339 text.
#ifndef JOBSTATE_MODEL_TIME_HPP
#define JOBSTATE_MODEL_TIME_HPP

#include <jobstate/job.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace jobstate::model {

/// The current UTC time, truncated to microseconds.
timestamp now() noexcept;

/// "2026-11-24T23:30:39.123456Z": always UTC, always six fraction digits.
std::string format_rfc3339(timestamp t);

/// Parses RFC 3339 date-time text (any fraction length, "Z" or an offset).
/// Returns nothing for malformed text.
std::optional<timestamp> parse_rfc3339(std::string_view text) noexcept;

}  // namespace jobstate::model

#endif  // JOBSTATE_MODEL_TIME_HPP
