// What a waiter waits for, and what the change feed reports. Asio-free: the
// blocking calls on `engine` use these, and so do the asynchronous ones in
// <jobstate/async.hpp>.
#ifndef JOBSTATE_WAIT_HPP
#define JOBSTATE_WAIT_HPP

#include <jobstate/export.hpp>
#include <jobstate/job.hpp>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace jobstate {

/// The condition a wait completes on. Make one with `terminal()`,
/// `changed_after(revision)` or `status_in({...})`.
class JOBSTATE_EXPORT wait_condition {
 public:
  /// The job reached a terminal status.
  static wait_condition terminal() noexcept;
  /// The job's revision is greater than `revision` (it changed since the
  /// caller's snapshot). A worker waits on this to learn of cancellation.
  static wait_condition changed_after(std::uint64_t revision) noexcept;
  /// The job's status is one of `statuses`.
  static wait_condition status_in(
      std::initializer_list<job_status> statuses) noexcept;
  /// The same, for a list known only at run time (repeats change nothing).
  static wait_condition status_in(
      std::span<const job_status> statuses) noexcept;

  /// Whether `j` satisfies the condition.
  bool satisfied_by(const job& j) const noexcept;
  /// Whether a job in `status` at `revision` satisfies the condition: how a
  /// wait judges each committed change, including states that a later
  /// commit already left.
  bool satisfied_by(job_status status, std::uint64_t revision) const noexcept;

  friend bool operator==(const wait_condition&,
                         const wait_condition&) = default;

 private:
  wait_condition() = default;
  std::uint8_t status_mask_ = 0;  // bit n: job_status n satisfies
  std::optional<std::uint64_t> after_revision_;
};

/// Wait for as long as it takes.
inline constexpr std::chrono::milliseconds wait_forever =
    std::chrono::milliseconds::max();

/// The answer of a wait: the job's latest snapshot, and whether the timeout
/// passed before the condition held. A timeout is not an error: `job` is
/// then the latest snapshot, exactly as a get would return it.
///
/// A wait is satisfied by any change committed after it began whose status
/// and revision meet the condition, even when a later commit has already
/// moved the job on (a wait for `running` on a job that started and
/// finished at once): `job` is then the job as it is now, and
/// `satisfied_revision` the revision of the change that satisfied the
/// condition (equal to job.revision when nothing moved it on since).
struct wait_result {
  jobstate::job job;
  bool timed_out = false;
  /// The revision whose change satisfied the condition; 0 when timed out.
  std::uint64_t satisfied_revision = 0;
};

/// One committed mutation, as the change feed reports it.
struct change {
  std::uint64_t sequence = 0;  ///< Global, gap-free, in commit order.
  timestamp at{};              ///< Commit time.
  job_id id;
  std::string account_id;
  std::string project_id;
  job_status status = job_status::pending;  ///< Status after the change.
  std::uint64_t revision = 0;               ///< Revision after the change.
  std::string step;  ///< History step: "created", "started", ..., "purged".
  friend bool operator==(const change&, const change&) = default;
};

/// A page of the change feed.
struct change_batch {
  std::vector<change> changes;
  /// Resume from here (pass it as `after` next time): the sequence of the
  /// last change examined, which may be past the last change returned when a
  /// filter skipped some. On an empty batch it is a bookmark: the latest
  /// sequence committed, so an idle consumer's position stays current.
  std::uint64_t last_sequence = 0;
};

/// Which changes a watch wants, and how it behaves.
struct watch_request {
  std::uint64_t after = 0;   ///< Deliver changes with sequence > after.
  std::size_t limit = 1000;  ///< Most changes in one batch: 1 to 10,000.
  /// Only changes of this account (and of this project, which requires the
  /// account: project ids are unique only within an account).
  std::optional<std::string> account_id;
  std::optional<std::string> project_id;
  /// Complete with an empty batch (a bookmark) when nothing matching has
  /// committed for this long.
  std::chrono::milliseconds bookmark_after{std::chrono::seconds(30)};
};

}  // namespace jobstate

#endif  // JOBSTATE_WAIT_HPP
