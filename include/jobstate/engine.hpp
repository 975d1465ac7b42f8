// engine: the public façade of jobstate.
#ifndef JOBSTATE_ENGINE_HPP
#define JOBSTATE_ENGINE_HPP

#include <jobstate/export.hpp>
#include <jobstate/options.hpp>
#include <jobstate/requests.hpp>
#include <jobstate/result.hpp>
#include <jobstate/stats.hpp>
#include <jobstate/wait.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <memory>

namespace jobstate {

/// An open job database. Made by `engine::open`; closed when destroyed.
///
/// Thread-safe: any number of threads may call any member at once. Mutations
/// from concurrent callers are committed together (group commit); each call
/// returns only once its own change is durable under `options::durability`.
/// Reads never wait for writers.
///
/// Every mutation is validated before anything is written: on error nothing
/// changes. A failed mutation that concerns an existing job reports the job's
/// current status and revision in the error.
///
/// Caveats:
///  - One engine per database directory per process. LMDB forbids opening
///    one environment twice in a process (closing either would release the
///    other's locks), so a second `open` of a directory this process has
///    open fails with already_open, whatever path names it (a symlink, a
///    trailing slash, a relative path: the directory is known by device and
///    inode). Share the engine between threads instead. Its destruction
///    releases the directory. The integrity check (check_database) counts
///    as an open too. Other processes may open the same database at once.
///  - No fork() with an open engine: its threads do not exist in the child,
///    and LMDB's environment must not be used there. Open an engine in the
///    child (allowed even on a directory the parent has open).
///  - Local filesystems only: LMDB's locks and memory map do not work over
///    NFS or other network filesystems.
///  - Completion handlers of asynchronous operations (<jobstate/async.hpp>)
///    run on the handler's associated executor, or on the engine's executor
///    (get_executor()) when it has none; never on the thread that commits.
///    Do not destroy the engine from a handler running on its own executor's
///    thread: the destructor waits for that thread to finish.
class JOBSTATE_EXPORT engine {
 public:
  /// The executor type of get_executor(), as Asio's I/O objects name it.
  using executor_type = boost::asio::any_io_executor;

  /// Opens (creating when missing) the database in `opts.path`. A database
  /// of an earlier schema version (1 or 2) is migrated to this build's
  /// first, in one transaction (docs/operations.md, "Upgrades"). Leases
  /// that lapsed while no engine had the database open are expired at once
  /// (docs/workers.md).
  /// Errors: invalid_argument (bad options), unsupported_version (written by
  /// a schema this build does not know, or of an earlier version while
  /// another process has it open: close the others and open again), corrupt
  /// (the migration met a damaged record: nothing changed), storage_full (no
  /// room to migrate), already_open (this process has the directory open:
  /// see Caveats above), io_error (permissions, disk).
  static result<std::unique_ptr<engine>> open(const options& opts);

  /// Commits the mutations already queued (their handlers get their
  /// results; later ones fail with engine_closed), completes pending
  /// asynchronous waits and watches with operation_aborted, ends the
  /// blocking waits and watches in progress on other threads (they return
  /// engine_closed) and waits for them to return, runs the handlers queued
  /// on the engine's own handler thread and stops it, then closes the
  /// database. Any other call must not overlap the destruction.
  /// REQUIRES: not called from a handler running on the engine's own
  /// handler thread (it would wait for itself).
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  /// Creates a pending job. With an idempotency key already used in this
  /// project, returns the existing job (`created == false`).
  /// Errors: invalid_argument, too_large, already_exists (key used for a
  /// different kind or input), gone (key's job purged), storage_full.
  result<created_job> create(const create_request& request);

  /// Creates a batch: a pending parent (is_batch) and its pending children,
  /// atomically. The parent's status and progress.counts then follow the
  /// children (docs/batches.md). With the parent's idempotency key already
  /// used, returns the existing batch (`created == false`).
  /// Errors: as create, and invalid_argument (no children), too_large (more
  /// than limits.max_batch_children).
  result<created_batch> create_batch(const batch_request& request);

  /// The current snapshot of a job.
  /// Errors: not_found, gone (purged), corrupt, invalid_argument.
  result<job> get(const job_ref& ref) const;
  /// As get(ref), reading what `opts` asks: without its history, no history
  /// event is decoded (see read_options).
  /// Errors: as get(ref).
  result<job> get(const job_ref& ref, const read_options& opts) const;

  /// pending → running. Errors: not_found, gone, illegal_transition (also
  /// for a batch parent, whose status follows its children), conflict,
  /// storage_full. Every mutation of an existing job also fails with
  /// lease_lost, changing nothing, when opts.lease_epoch is given and the
  /// job is not running under that lease (see claim).
  result<job> start(const job_ref& ref, const mutation_options& opts = {});

  /// Records progress of a running job (replacing the previous progress).
  /// Errors: not_found, gone, illegal_transition (not running),
  /// invalid_argument (percent outside 0..100; counts that do not add up, see
  /// progress_counts), too_large, conflict.
  result<job> report_progress(const job_ref& ref, const progress& p,
                              const mutation_options& opts = {});

  /// running → succeeded, partially_succeeded or failed.
  /// Errors: not_found, gone, illegal_transition (e.g. the job was
  /// cancelled first: the error carries its status), invalid_argument,
  /// too_large, conflict.
  result<job> complete(const job_ref& ref, const completion& c,
                       const mutation_options& opts = {});

  /// pending or running → cancelled, recording `reason` as the job's error
  /// message (code "cancelled"). Cancelling a batch parent cancels every
  /// child that is not finished, in the same commit. Errors: as complete.
  result<job> cancel(const job_ref& ref, std::string_view reason = {},
                     const mutation_options& opts = {});

  /// Creates a new pending job from a terminal one: same account, project,
  /// kind, input and source; `original_job_id` = ref.id; attempt + 1. The
  /// original is untouched. Rerunning a batch parent makes a new batch of
  /// the children that did not succeed (all of them when every one did),
  /// each recording its own original_job_id; a child rerun alone becomes a
  /// standalone job. Errors: not_found, gone, illegal_transition (not
  /// terminal), storage_full.
  result<job> rerun(const job_ref& ref, const rerun_options& opts = {});

  // ------------------------------------------------------------ workers
  // docs/workers.md: the model, the race rules, what each error means.

  /// Takes the pending job of one of `request.kinds` in the project that
  /// became claimable first (at its creation, or at its run_after when
  /// later; then the oldest: first created, first claimed; a batch parent
  /// is never claimable, its children are) and moves it pending → running
  /// under a lease {worker_id, epoch, expires_at = now + lease_ttl}, with a
  /// "claimed" history event. Answers no job when none is claimable. A job
  /// found past its pending_ttl is cancelled ("expired"), not taken. Two
  /// claims never take the same job. Renew the lease with heartbeat() and
  /// pass its epoch (mutation_options::lease_epoch) on every later write of
  /// the job; a lease not renewed in time fails the job with error code
  /// "lease_expired", and so does its run_timeout ("deadline_exceeded").
  /// Errors: invalid_argument (no kinds or more than max_claim_kinds, an
  /// empty worker_id, lease_ttl outside 1 ms..max_lease_ttl, bad ids),
  /// too_large, storage_full, engine_closed.
  result<std::optional<job>> claim(const claim_request& request);

  /// Renews the lease `opts.lease_epoch` (required) names for its ttl from
  /// now, and records `p` when given (as report_progress does, in the same
  /// write). A heartbeat without progress appends no history event; it
  /// bumps the revision and shows in the change feed as step "heartbeat".
  /// When the job was cancelled while this lease held it, nothing is
  /// written and the answer says `cancelled`: stop work.
  /// Errors: lease_lost (the lease lapsed, or the job ended or is not under
  /// this epoch: the error carries its status, revision and epoch),
  /// invalid_argument (no lease_epoch; bad progress), not_found, gone,
  /// conflict, too_large, storage_full, engine_closed.
  result<heartbeat_result> heartbeat(const job_ref& ref,
                                     const mutation_options& opts,
                                     const std::optional<progress>& p = {});

  /// Ends every job that ran out of time by now, as the engine does by
  /// itself on its timers, at open and in whichever process has the
  /// database open: a running job whose lease lapsed fails with error code
  /// "lease_expired", one past its run_timeout with "deadline_exceeded"; a
  /// pending job past its pending_ttl is cancelled with code "expired".
  /// Answers how many it ended (retries it wrote are not counted). Exactly
  /// once per job, whichever processes race to do it. For tests (with
  /// options::clock) and tools. (The name predates the time limits.)
  /// Errors: storage_full, corrupt, engine_closed, io_error.
  result<std::size_t> expire_leases();

  /// One page of a project's jobs, newest first (or oldest first, per
  /// query.order).
  /// Errors: invalid_argument (bad cursor, limit, or ids).
  result<job_page> list(const list_query& query) const;

  /// Removes terminal jobs completed before now - older_than, leaving
  /// tombstones, and forgets tombstones older than the retention. A purge
  /// may use 1 MiB of map past max_map_size, so that a full database can
  /// always be purged; the next write that fits in the room it made
  /// succeeds.
  /// Errors: invalid_argument (older_than negative, max_jobs 0),
  /// storage_full (not even the headroom sufficed), corrupt (a damaged
  /// record in its way), engine_closed, io_error.
  result<purge_result> purge(const purge_request& request);

  /// Blocks until `condition` holds for the job or `timeout` passes, for
  /// hosts without Asio (see async_wait in <jobstate/async.hpp>). Returns at
  /// once when the condition already holds; a timeout is not an error (the
  /// result says timed_out). Errors: not_found, gone (also when the job is
  /// purged while waited on), invalid_argument (a malformed ref),
  /// engine_closed (the engine is being destroyed).
  result<wait_result> wait(const job_ref& ref, const wait_condition& condition,
                           std::chrono::milliseconds timeout);

  /// Up to `limit` changes with sequence > `after`, in commit order.
  /// Errors: expired (the feed no longer holds sequence after + 1: list
  /// again, then resume from the latest sequence), invalid_argument (after
  /// is beyond the latest sequence, or limit is 0).
  result<change_batch> changes(std::uint64_t after,
                               std::size_t limit = 1000) const;

  /// Blocks until changes matching `request` commit (or, after
  /// request.bookmark_after, returns an empty batch with the latest
  /// sequence). Errors: as changes, and engine_closed.
  result<change_batch> watch(const watch_request& request);

  /// The latest sequence committed to the change feed (0 before any).
  result<std::uint64_t> last_sequence() const;

  /// Counters for monitoring (see stats.hpp): jobs by status, changes by
  /// step, pending waiters and watches, commit latency.
  /// Errors: corrupt, io_error (reading the status index).
  result<engine_stats> stats() const;

  /// The options this engine was opened with.
  const jobstate::options& options() const noexcept;

  /// The error, with its detail, that the operation taking `request`
  /// would answer for its arguments alone (ids, sizes, ranges, limits),
  /// found without reading or writing anything; success says only that
  /// the arguments are valid. An asynchronous operation answers such an
  /// error with its code alone (its completion carries an error_code): a
  /// caller that shows people why, such as a server, checks first.
  /// Thread-safe; works on a closed engine too.
  result<void> check(const create_request& request) const;
  result<void> check(const batch_request& request) const;
  result<void> check(const claim_request& request) const;
  /// The progress of report_progress, or of a heartbeat.
  result<void> check(const progress& p) const;

  /// The executor on which the completion handlers of this engine's
  /// asynchronous operations run when they have no associated executor of
  /// their own, following Asio's convention for I/O objects: the one given
  /// in options::executor, or else the executor of an io_context that a
  /// thread of the engine's runs (one thread: such handlers run one at a
  /// time, in the order they were completed).
  ///
  /// A handler there may call any member, blocking ones included (a blocking
  /// wait from a handler is answered without the handler's thread). The
  /// engine never runs user code on the thread that commits, nor on the one
  /// that runs timeouts, so a handler that blocks delays neither commits nor
  /// other operations' timeouts, only the handlers queued behind it.
  ///
  /// Thread-safe; the returned executor stays valid while the engine lives
  /// (the engine's own: until its destructor has run the handlers left).
  executor_type get_executor() const noexcept;

  class impl;

 private:
  friend struct engine_access;
  explicit engine(std::unique_ptr<impl> impl);
  std::unique_ptr<impl> impl_;
};

}  // namespace jobstate

#endif  // JOBSTATE_ENGINE_HPP
