// Errors: one std::error_code category for everything jobstate reports, and
// `jobstate::error`, which adds what a caller needs to act on the failure.
#ifndef JOBSTATE_ERROR_HPP
#define JOBSTATE_ERROR_HPP

#include <jobstate/export.hpp>
#include <jobstate/status.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>

namespace jobstate {

/// Error codes of the "jobstate" category. Values are stable (the C API
/// returns them as integers); add new ones at the end.
enum class errc : int {
  invalid_argument = 1,     ///< Bad input; nothing was written.
  not_found = 2,            ///< No such job in this account and project.
  illegal_transition = 3,   ///< The state machine forbids the change.
  conflict = 4,             ///< The job's revision is not the expected one.
  already_exists = 5,       ///< An idempotency key names a different request.
  gone = 6,                 ///< The job was purged; only a tombstone is left.
  storage_full = 7,         ///< The database reached its size limit.
  corrupt = 8,              ///< Stored data failed its integrity checks.
  unsupported_version = 9,  ///< The database was written by another schema.
  too_large = 10,           ///< A value exceeds a documented limit.
  expired = 11,             ///< The change feed no longer holds that sequence.
  engine_closed = 12,       ///< The engine is shutting down or closed.
  io_error = 13,            ///< The storage layer failed (disk, permissions).
  already_open = 14,        ///< The database is already open in this process.
  lease_lost = 15,  ///< A worker's lease on the job lapsed or was superseded.
};

/// The category of `errc`. Its name is "jobstate"; its messages say what
/// happened and what to do about it.
JOBSTATE_EXPORT const std::error_category& category() noexcept;

/// Makes `errc` usable wherever a std::error_code is expected.
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), category()};
}

/// A failure with its context: the code to branch on, a detail naming the
/// job or value concerned, and, where the failure concerns a job that exists,
/// the job's current status and revision (so a worker that loses the
/// cancel/complete race learns why), and for lease_lost its lease's epoch.
class JOBSTATE_EXPORT error {
 public:
  error() = default;
  error(std::error_code code, std::string detail = {});
  error(errc code, std::string detail = {});

  /// The code to branch on (compare with `errc::...`).
  std::error_code code() const noexcept { return code_; }
  /// The particulars, e.g. "job 0190...: cannot move from cancelled to
  /// succeeded". May be empty.
  const std::string& detail() const noexcept { return detail_; }
  /// The category's message followed by the detail: ready to show a person.
  std::string message() const;

  /// Status of the job concerned at the time of the failure, when known
  /// (set for illegal_transition and conflict).
  std::optional<job_status> current_status() const noexcept { return status_; }
  /// Revision of the job concerned at the time of the failure, when known.
  std::optional<std::uint64_t> current_revision() const noexcept {
    return revision_;
  }
  /// Epoch of the job's lease at the time of the failure (set for
  /// lease_lost; 0 when the job was never claimed).
  std::optional<std::uint64_t> current_epoch() const noexcept { return epoch_; }
  /// Records the job's state alongside the failure.
  error& with_job_state(job_status status, std::uint64_t revision);
  /// Records the job's lease epoch alongside the failure.
  error& with_epoch(std::uint64_t epoch);

  explicit operator bool() const noexcept { return static_cast<bool>(code_); }

 private:
  std::error_code code_;
  std::string detail_;
  std::optional<job_status> status_;
  std::optional<std::uint64_t> revision_;
  std::optional<std::uint64_t> epoch_;
};

/// Thrown by `result<T>::value()` on a result that holds an error.
class JOBSTATE_EXPORT system_error : public std::system_error {
 public:
  explicit system_error(jobstate::error e);
  const jobstate::error& error() const noexcept { return error_; }

 private:
  jobstate::error error_;
};

}  // namespace jobstate

template <>
struct std::is_error_code_enum<jobstate::errc> : std::true_type {};

#endif  // JOBSTATE_ERROR_HPP
