// The arguments and answers of engine operations: plain structs.
#ifndef JOBSTATE_REQUESTS_HPP
#define JOBSTATE_REQUESTS_HPP

#include <jobstate/job.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace jobstate {

/// Names a job within its tenancy. A job of another account or project is
/// not found, exactly as if it did not exist.
struct job_ref {
  std::string account_id;
  std::string project_id;
  job_id id;
};

/// What `engine::create` needs. account_id, project_id and kind are required.
struct create_request {
  std::string account_id;
  std::string project_id;
  std::string kind;
  boost::json::value input;  ///< Kept so that rerun can reproduce the job.
  std::optional<std::string> source_id;
  std::optional<std::string> correlation_id;
  /// The same key in the same project returns the job first created with it
  /// (even after it was purged, while its tombstone lasts), never a new one.
  std::optional<std::string> idempotency_key;
  boost::json::value details;  ///< Recorded on the "created" history event.
  /// Scheduling and time limits, each kept on the job (see job): not
  /// claimable before `run_after`; failed with "deadline_exceeded" after
  /// `run_timeout` running; cancelled with "expired" after `pending_ttl`
  /// unclaimed. Each limit 1 ms to max_time_limit.
  std::optional<timestamp> run_after;
  std::optional<std::chrono::milliseconds> run_timeout;
  std::optional<std::chrono::milliseconds> pending_ttl;
  /// How the engine retries the job when it fails; none: options::
  /// default_retry, if set. Refused on a batch parent (a child retried
  /// outside its batch would not count in it).
  std::optional<retry_policy> retry;
};
/// The longest run_timeout or pending_ttl, and the latest run_after from
/// now, a create may ask for.
inline constexpr std::chrono::milliseconds max_time_limit =
    std::chrono::hours(24 * 365);
/// At most this many attempts in a retry_policy.
inline constexpr std::uint32_t max_retry_attempts = 1000;
/// The longest backoff a retry_policy may ask for.
inline constexpr std::chrono::milliseconds max_retry_backoff =
    std::chrono::hours(24 * 7);
/// At most this many error codes in retry_policy::retry_on.
inline constexpr std::size_t max_retry_codes = 64;

/// The answer of `engine::create`.
struct created_job {
  jobstate::job job;
  /// False when an idempotency key matched an existing job, which is returned
  /// unchanged.
  bool created = true;
};

/// One child of a batch (see batch_request).
struct batch_child {
  std::string kind;  ///< Required, e.g. "parse".
  boost::json::value input;
  std::optional<std::string> source_id;  ///< E.g. the document to parse.
  std::optional<std::string> correlation_id;
};

/// What `engine::create_batch` needs: the parent job (account, project,
/// kind, input, idempotency key, ...) and its children, which share its
/// account and project. At least one child, at most limits.max_batch_children.
struct batch_request {
  create_request parent;
  std::vector<batch_child> children;
};

/// The answer of `engine::create_batch`.
struct created_batch {
  jobstate::job parent;
  std::vector<job_id> child_ids;  ///< In the order of batch_request::children.
  /// False when the parent's idempotency key matched an existing batch,
  /// which is returned unchanged.
  bool created = true;
};

/// Options every mutation of an existing job accepts.
struct mutation_options {
  /// Compare-and-set: when given, the mutation fails with `conflict` unless
  /// the job's revision is exactly this.
  std::optional<std::uint64_t> expected_revision;
  boost::json::value details;  ///< Recorded on the history event.
  /// What the mutation returns of the job. True (the default): the whole
  /// job, its history read in the write's transaction, so a long history
  /// costs a long read. False: the job without its history (`job::history`
  /// empty), and the write costs the same however long the history is
  /// (each event is stored under its own key; docs/storage.md). For
  /// workers that report progress and do not look at the timeline.
  bool with_history = true;
  /// A worker's fence (docs/workers.md): when given, the mutation fails
  /// with `lease_lost`, changing nothing, unless the job is running under
  /// a lease of exactly this epoch that has not lapsed. Give it on every
  /// write of a job you claimed, so that a worker whose lease lapsed can
  /// never overwrite what happened since.
  std::optional<std::uint64_t> lease_epoch;
};

/// What `engine::claim` needs: whose jobs, which kinds, who asks, and for
/// how long the lease holds without a heartbeat.
struct claim_request {
  std::string account_id;
  std::string project_id;
  /// The kinds this worker runs: 1 to max_claim_kinds, each a job kind.
  std::vector<std::string> kinds;
  std::string worker_id;  ///< Required; recorded on the job's lease.
  /// How long the lease holds after the claim and after each heartbeat:
  /// 1 ms to max_lease_ttl.
  std::chrono::milliseconds lease_ttl{std::chrono::seconds(30)};
  /// How long to wait for a claimable job when there is none: zero (the
  /// default) answers at once; up to max_claim_wait. A job created while
  /// claims wait wakes the oldest claim that could take it.
  std::chrono::milliseconds wait{0};
  boost::json::value details;  ///< Recorded on the "claimed" event.
  /// False: the claimed job comes without its history (see
  /// mutation_options::with_history).
  bool with_history = true;
};
/// The longest wait a claim may ask for.
inline constexpr std::chrono::milliseconds max_claim_wait =
    std::chrono::hours(24);
/// At most this many kinds in one claim_request.
inline constexpr std::size_t max_claim_kinds = 64;
/// The longest lease a claim may ask for.
inline constexpr std::chrono::milliseconds max_lease_ttl =
    std::chrono::hours(24 * 7);

/// The answer of `engine::heartbeat`.
struct heartbeat_result {
  /// The job after the heartbeat (its lease renewed), or as it stands when
  /// it was cancelled.
  jobstate::job job;
  /// True when the job was cancelled while the worker ran it: stop work;
  /// nothing was written.
  bool cancelled = false;
};

/// How a running job ends (see `engine::complete`).
struct completion {
  /// succeeded, partially_succeeded or failed.
  job_status status = job_status::succeeded;
  boost::json::value result;       ///< Stored as the job's result.
  std::optional<job_error> error;  ///< Required when status is failed.
};

/// Options of `engine::rerun`.
struct rerun_options {
  std::optional<std::string> correlation_id;  ///< Default: the original's.
  boost::json::value details;  ///< Recorded on the new job's "created" event.
};

/// What a read returns of each job.
struct read_options {
  /// False: the job without its history (`job::history` empty): the whole
  /// record is still read and its checksum verified, but no history event
  /// is decoded. For status polls and listings that do not show the
  /// timeline. Such a read may succeed where a full one reports the record
  /// corrupt (damage behind a valid checksum, in the events).
  bool with_history = true;
};

/// The order of `engine::list`'s pages. Ids are time-ordered, so both are
/// creation order, one way or the other.
enum class list_order {
  newest_first,  ///< The default.
  oldest_first,  ///< E.g. a batch's children in the order given.
};

/// A query for `engine::list`: the jobs of one project, newest first (or
/// oldest first), optionally filtered (filters combine with AND).
struct list_query {
  std::string account_id;
  std::string project_id;
  std::optional<job_status> status;
  std::optional<std::string> kind;
  std::optional<job_id> parent_id;
  std::optional<job_id> original_job_id;
  std::size_t limit = 50;  ///< 1 to limits::max_page_size.
  /// Empty for the first page, else a previous page's next_cursor. A cursor
  /// stays valid while jobs are created or purged: pages never repeat or skip
  /// a job that existed when the listing began. Pass it with the same order.
  std::string cursor;
  list_order order = list_order::newest_first;
  /// False: the jobs come without their histories (see read_options).
  bool with_history = true;
};

/// One page of `engine::list`.
struct job_page {
  std::vector<job> jobs;
  std::string next_cursor;  ///< Empty when this is the last page.
};

/// What `engine::purge` removes: terminal jobs completed more than
/// `older_than` ago, at most `max_jobs` of them per call.
struct purge_request {
  std::chrono::seconds older_than{0};
  std::size_t max_jobs = 10000;
};

/// The answer of `engine::purge`.
struct purge_result {
  std::uint64_t purged = 0;              ///< Jobs removed (tombstones left).
  std::uint64_t tombstones_expired = 0;  ///< Old tombstones forgotten.
  bool more = false;  ///< True when max_jobs stopped it early: call again.
};

}  // namespace jobstate

#endif  // JOBSTATE_REQUESTS_HPP
