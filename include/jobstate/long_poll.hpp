// Long-poll semantics for "get job" endpoints: how long a request asks to wait
// for the job to change before the server answers.
//
// A client asks in one of two ways, or both:
//   - the query parameter `?wait=N`, seconds;
//   - the RFC 7240 preference `Prefer: wait=N`.
// This header turns them into one decision that any HTTP layer can apply, so
// that every surface answers the same requests the same way. Pure functions,
// no I/O.
//
// The rules:
//   - N is a number of seconds: digits, optionally followed by a fraction
//     ("2.5"), which is rounded to the nearest millisecond. No sign, no
//     exponent, no surrounding spaces. The same grammar applies to both forms
//     (RFC 7240's delta-seconds is the integer subset of it).
//   - Neither given: a wait of 0, i.e. answer at once.
//   - 0 means answer at once (fire and forget).
//   - A request longer than `long_poll_options::max_wait` is clamped to it,
//     never refused.
//   - Both given: they must ask for the same wait ("5" and "5.0" do);
//     otherwise the request is refused with invalid_argument. Equal values
//     are fine.
//   - In `Prefer`, preferences other than `wait` are ignored, preference names
//     are case-insensitive, whitespace is allowed around `=` and `;`, the
//     value may be quoted (`wait="5"`), and a header may be repeated. When
//     `wait` appears more than once, across all the headers in order, the
//     first one counts and the others are ignored, even if malformed
//     (RFC 7240 section 2).
#ifndef JOBSTATE_LONG_POLL_HPP
#define JOBSTATE_LONG_POLL_HPP

#include <jobstate/export.hpp>
#include <jobstate/result.hpp>

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace jobstate {

/// How a server long-polls.
struct long_poll_options {
  // --- behaviour ---

  /// The longest wait granted; longer requests are clamped to it. A value
  /// below zero acts as zero (never wait).
  std::chrono::seconds max_wait{90};
};

/// The wait a request asked for, decided. A plain value.
struct long_poll_wait {
  /// How long to wait for a change before answering: `requested`, clamped to
  /// `long_poll_options::max_wait`. 0 means answer at once.
  std::chrono::milliseconds wait{0};
  /// What the request asked for, before clamping (0 when it asked nothing).
  std::chrono::milliseconds requested{0};
  /// True when `wait` is shorter than `requested` because of max_wait.
  bool clamped = false;
  /// True when a `Prefer` header carried the wait (whether or not the query
  /// parameter also did): the server should then send
  /// `Preference-Applied: <preference_applied(*this)>`.
  bool from_prefer = false;

  friend bool operator==(const long_poll_wait&,
                         const long_poll_wait&) = default;
};

/// Decides the wait of one request.
///
/// @param[in] wait_param      The `wait` query parameter, already
///                            percent-decoded; nullopt when absent. Present
///                            but empty (`?wait=`) is an error.
/// @param[in] prefer_headers  The values of every `Prefer` header of the
///                            request, in the order received; empty when none.
/// @param[in] opts            The server's limits.
///
/// Errors (each detail names the offending text and says what to send):
///   invalid_argument  a malformed or negative value, a value too large to
///                     represent, or a query parameter and a `Prefer: wait`
///                     that disagree.
///
/// Thread-safe (a pure function).
JOBSTATE_EXPORT result<long_poll_wait> parse_long_poll(
    std::optional<std::string_view> wait_param,
    std::span<const std::string_view> prefer_headers,
    const long_poll_options& opts = {});

/// The value of the `Preference-Applied` response header for `w`, e.g.
/// "wait=10": the wait actually applied (after clamping), in seconds, with up
/// to three decimals when it is not whole ("wait=2.5"). Empty when the wait
/// did not come from a `Prefer` header (`!w.from_prefer`): then send no
/// header.
JOBSTATE_EXPORT std::string preference_applied(const long_poll_wait& w);

}  // namespace jobstate

#endif  // JOBSTATE_LONG_POLL_HPP
