// The job record: everything jobstate knows about one asynchronous job.
// Field by field documentation: docs/data-model.md.
#ifndef JOBSTATE_JOB_HPP
#define JOBSTATE_JOB_HPP

#include <jobstate/job_id.hpp>
#include <jobstate/status.hpp>

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace jobstate {

/// UTC time with microsecond precision, as stored and rendered.
using timestamp = std::chrono::sys_time<std::chrono::microseconds>;

/// Why a job failed (or was cancelled): a machine-readable code and a message
/// for people. Both are free-form text chosen by whoever ends the job.
struct job_error {
  std::string code;
  std::string message;
  friend bool operator==(const job_error&, const job_error&) = default;
};

/// Counters of a job made of parts (a batch's children, a file's pages):
/// the published APIs' {total, succeeded, failed, cancelled, pending}, and
/// two refinements jobstate keeps for batches. Each part is counted once:
/// succeeded + failed + cancelled + pending == total, running <= pending,
/// partially_succeeded <= succeeded (report_progress refuses other counts).
struct progress_counts {
  std::uint64_t total = 0;
  std::uint64_t succeeded = 0;  ///< Includes partially_succeeded.
  std::uint64_t failed = 0;
  std::uint64_t cancelled = 0;
  std::uint64_t pending = 0;  ///< Not finished yet: includes running.
  std::uint64_t running = 0;  ///< Of pending, those running.
  std::uint64_t partially_succeeded = 0;  ///< Of succeeded, the partial ones.
  friend bool operator==(const progress_counts&,
                         const progress_counts&) = default;
};

/// How far a job has come. Every part is optional: a percentage, counters,
/// and free-form JSON details (null when absent).
struct progress {
  std::optional<double> percent;  ///< 0 to 100.
  std::optional<progress_counts> counts;
  boost::json::value details;
  friend bool operator==(const progress&, const progress&) = default;
};

/// One event of a job's timeline; every mutation appends one.
struct history_event {
  std::string step;  ///< "created", "started", "progress", "succeeded", ...
  timestamp at;      ///< When the mutation committed.
  std::int64_t duration_ms = 0;  ///< Time since the previous event (0 first).
  job_status status = job_status::pending;  ///< Status after the event.
  boost::json::value details;  ///< Caller-supplied JSON, null when none.
  /// The epoch of the lease the job was under when the event was written
  /// (its claim, heartbeats, its end); 0 when it was under none.
  std::uint64_t epoch = 0;
  friend bool operator==(const history_event&, const history_event&) = default;
};

/// A worker's hold on a running job, taken by `engine::claim` and renewed
/// by `engine::heartbeat` (docs/workers.md). A lease not renewed by
/// `expires_at` ends the job as failed with error code "lease_expired".
struct lease {
  std::string worker_id;  ///< As the worker named itself when claiming.
  /// The claim's number for this job: 1, since a job leaves pending once
  /// and so is claimed at most once (retry is a rerun: a new job). A
  /// worker passes it back (mutation_options::lease_epoch) so that a write
  /// from a worker whose lease is lost changes nothing.
  std::uint64_t epoch = 0;
  timestamp expires_at{};            ///< Past it, the lease has lapsed.
  std::chrono::milliseconds ttl{0};  ///< How far each heartbeat extends it.
  friend bool operator==(const lease&, const lease&) = default;
};

/// When and how the engine reruns a job that failed (docs/workers.md):
/// each retry is a rerun (a new pending job with original_job_id and
/// attempt + 1), claimable after a backoff that grows per attempt.
struct retry_policy {
  /// Attempts in all, the first included: 1 never retries. 1 to
  /// max_retry_attempts.
  std::uint32_t max_attempts = 1;
  /// The wait before the first retry; each later one waits `multiplier`
  /// times longer, up to max_backoff. 0 to max_retry_backoff.
  std::chrono::milliseconds initial_backoff{std::chrono::seconds(1)};
  std::chrono::milliseconds max_backoff{std::chrono::minutes(5)};
  double multiplier = 2.0;  ///< 1 to 100.
  /// Each wait is moved by up to this fraction of itself, at random, so
  /// that jobs that failed together are not retried together. 0 to 1.
  double jitter = 0.2;
  /// The error codes that retry ("lease_expired", "deadline_exceeded", or
  /// a worker's own); empty: every failure retries. A cancelled job never
  /// retries. At most max_retry_codes.
  std::vector<std::string> retry_on;
  friend bool operator==(const retry_policy&, const retry_policy&) = default;
};

/// A snapshot of a job. A plain value: copy it, keep it, it never changes
/// under you; the engine hands out a new snapshot after every mutation.
struct job {
  job_id id;
  std::string account_id;  ///< Tenancy: lookups in other accounts miss it.
  std::string project_id;  ///< Tenancy within the account.
  std::string kind;        ///< The operation, e.g. "parse", "chat/completions".
  job_status status = job_status::pending;

  timestamp created_at{};
  std::optional<timestamp> started_at;  ///< Set by start.
  std::optional<timestamp>
      completed_at;  ///< Set on reaching a terminal status.

  std::optional<std::string> source_id;  ///< The document or object worked on.
  std::optional<std::string> correlation_id;   ///< The caller's own tracing id.
  std::optional<std::string> idempotency_key;  ///< As given to create.
  std::optional<job_id> original_job_id;  ///< Set on a rerun: the job rerun.
  std::optional<job_id> parent_id;        ///< Set on a batch's child.
  std::uint32_t attempt = 1;              ///< 1 for a new job, +1 per rerun.
  /// True for a batch's parent: its status and progress.counts follow its
  /// children (docs/batches.md); it cannot be started or completed by hand.
  bool is_batch = false;

  boost::json::value input;        ///< As given to create; reused by rerun.
  boost::json::value result;       ///< Set on success (null otherwise).
  std::optional<job_error> error;  ///< Set on failure or cancellation.
  jobstate::progress progress;

  /// Not claimable before this time (set at create, or by a retry's
  /// backoff). `start` is not held back by it: it is a worker's rule.
  std::optional<timestamp> run_after;
  /// Running longer than this (from started_at) fails the job with error
  /// code "deadline_exceeded".
  std::optional<std::chrono::milliseconds> run_timeout;
  /// Still pending this long after it became claimable (created_at, or
  /// run_after when later), the job is cancelled with code "expired".
  std::optional<std::chrono::milliseconds> pending_ttl;
  /// Set: a failure the policy names reruns the job automatically.
  std::optional<retry_policy> retry;

  /// Set by claim. Kept when the job ends, naming the worker that held it
  /// last; it binds only while the job is running.
  std::optional<jobstate::lease> lease;

  std::vector<history_event> history;
  std::uint64_t revision = 0;  ///< 1 when created, +1 per mutation.

  friend bool operator==(const job&, const job&) = default;
};

}  // namespace jobstate

#endif  // JOBSTATE_JOB_HPP
