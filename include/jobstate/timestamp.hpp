// Timestamps as text: RFC 3339 in UTC, the one format every surface of
// jobstate writes (the JSON of jobs and changes, the HTTP APIs, the C API,
// Python, key files) and reads.
//
// Written: "2026-11-24T23:30:39.123456Z": UTC, exactly six fraction digits,
// a "Z". Fixed width (27 characters), so text order is time order for every
// year from 0000 to 9999.
//
// Read: any RFC 3339 date-time: "T" or "t", any number of fraction digits
// (those after the sixth are dropped), "Z", "z" or a numeric offset
// ("+02:00").
// Pure functions, no I/O; thread-safe.
#ifndef JOBSTATE_TIMESTAMP_HPP
#define JOBSTATE_TIMESTAMP_HPP

#include <jobstate/export.hpp>
#include <jobstate/job.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace jobstate {

/// The length of format_timestamp's text.
inline constexpr std::size_t timestamp_text_size = 27;

/// "2026-11-24T23:30:39.123456Z". Years outside 0000-9999 are clamped to
/// them (jobstate never stamps such times; a caller-made timestamp may be
/// anything). Never fails.
JOBSTATE_EXPORT std::string format_timestamp(timestamp t);

/// The same text written into `out`, which must hold timestamp_text_size
/// characters (no terminating NUL is written): for renderers that keep
/// their own buffer. Returns `out + timestamp_text_size`.
JOBSTATE_EXPORT char* format_timestamp(timestamp t, char* out) noexcept;

/// The time that RFC 3339 date-time `text` names, or nothing when `text` is
/// malformed (a bad field, an impossible date such as February 30, trailing
/// characters). Leap seconds (":60") are refused: timestamps have none.
JOBSTATE_EXPORT std::optional<timestamp> parse_timestamp(
    std::string_view text) noexcept;

}  // namespace jobstate

#endif  // JOBSTATE_TIMESTAMP_HPP
