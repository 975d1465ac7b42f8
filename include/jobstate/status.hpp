// Job status and the legal transitions between statuses.
//
// Pure functions, no I/O: usable without an engine.
#ifndef JOBSTATE_STATUS_HPP
#define JOBSTATE_STATUS_HPP

#include <jobstate/export.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace jobstate {

/// The life of a job:
///
///     pending ──► running ──► succeeded | partially_succeeded | failed | cancelled
///        └──────────────────► cancelled
///
/// The four statuses on the right are terminal: once there, a job never
/// changes again (rerun makes a new job). The numeric values are stored on
/// disk and must never be renumbered.
enum class job_status : std::uint8_t {
  pending = 0,
  running = 1,
  succeeded = 2,
  partially_succeeded = 3,
  failed = 4,
  cancelled = 5,
};

/// Every status, in numeric order.
inline constexpr std::array<job_status, 6> all_job_statuses = {
    job_status::pending,   job_status::running,
    job_status::succeeded, job_status::partially_succeeded,
    job_status::failed,    job_status::cancelled};

/// The wire name: "pending", "running", "succeeded", "partially_succeeded",
/// "failed" or "cancelled".
JOBSTATE_EXPORT std::string_view to_string(job_status status) noexcept;

/// The status named `name` (exact, lower case), or nothing.
JOBSTATE_EXPORT std::optional<job_status> parse_job_status(
    std::string_view name) noexcept;

/// True for succeeded, partially_succeeded, failed and cancelled.
JOBSTATE_EXPORT bool is_terminal(job_status status) noexcept;

/// The transition table: true when a job may move from `from` to `to`.
/// Legal: pending→running, pending→cancelled, and running→ any terminal
/// status. Everything else, including a status to itself, is illegal.
JOBSTATE_EXPORT bool is_legal_transition(job_status from,
                                         job_status to) noexcept;

}  // namespace jobstate

#endif  // JOBSTATE_STATUS_HPP
