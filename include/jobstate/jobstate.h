/* jobstate.h: the C API of jobstate.
 *
 * jobstate keeps the state of asynchronous jobs (pending, running,
 * succeeded, partially_succeeded, failed, cancelled), their progress,
 * results, errors and history, durably, in an LMDB database that several
 * threads and processes may share. This header is the whole C interface: it
 * is plain C11, and no C++ type crosses it. It is a thin layer over the C++
 * engine (<jobstate/engine.hpp>); the guarantees described there hold here:
 * a call that changes a job returns only once the change is durable (under
 * the "durability" option), and on error nothing was written.
 *
 * Conventions
 *
 *  - Opaque handles. jobstate_engine is an open database; jobstate_wait is
 *    an asynchronous wait. Their contents are private.
 *  - Names are jobstate_<noun>_<verb>. A function that makes a handle is
 *    paired with the one that frees it: jobstate_engine_open with
 *    jobstate_engine_close, jobstate_wait_create with jobstate_wait_destroy.
 *    jobstate_job_* functions act on stored jobs, not on handles:
 *    jobstate_job_create writes a job to the database and makes no handle.
 *  - Status codes. Every function that can fail returns an int: JOBSTATE_OK
 *    (0) or a JOBSTATE_* code below, whose values are those of the C++
 *    jobstate::errc (plus JOBSTATE_CANCELLED, for asynchronous waits only).
 *    jobstate_strerror() names a code. After a failed call,
 *    jobstate_error_message() says what went wrong, and
 *    jobstate_error_job_state() gives the job's status and revision when the
 *    failure concerns an existing job (illegal_transition, conflict).
 *  - Text. Strings are NUL-terminated UTF-8. JSON goes in and out as text:
 *    jobs in jobstate's native shape (docs/c-api.md, <jobstate/json.hpp>),
 *    requests as JSON objects whose members are listed with each function.
 *    Unknown members are rejected (JOBSTATE_INVALID_ARGUMENT), absent or null
 *    members take their defaults.
 *  - Ownership. Input strings are only read during the call. A `char **`
 *    out-parameter receives a new buffer that the caller owns and frees with
 *    jobstate_free(); it is set to NULL when the call fails, and may itself
 *    be NULL when the caller does not want the answer. `const char *` return
 *    values are owned by the library, for the lifetime given with each
 *    function.
 *  - Thread safety. Every function may be called from any thread, at the
 *    same time, on the same engine, except jobstate_engine_close (see
 *    there). Error messages are per thread.
 *  - No C++ exception ever crosses this API: an unexpected failure (such as
 *    running out of memory) is reported as JOBSTATE_IO_ERROR, with a message.
 *
 * Caveats
 *
 *  - Wait callbacks run on the engine's callback thread: one thread per
 *    engine that runs nothing else, never the thread that commits. A
 *    callback may call any function, blocking ones included (create, start,
 *    jobstate_job_wait, purge, ...), and may take as long as it needs
 *    without delaying any commit or timeout; it delays only the engine's
 *    other callbacks, which run one at a time. Exception:
 *    jobstate_engine_close of the callback's own engine fails with
 *    JOBSTATE_INVALID_ARGUMENT (it would wait for the callback's thread).
 *  - Numbers in JSON text are parsed by Boost.JSON 1.81, which may read a
 *    fractional number one unit in the last place off (boostorg/json#599);
 *    integers are exact up to 2^64 - 1.
 *  - Job ids are UUID text, e.g. "01932c07-8a1b-7c3d-9e4f-0123456789ab".
 *  - One engine per database directory per process (LMDB forbids opening
 *    one environment twice in a process): a second jobstate_engine_open of
 *    the same directory fails with JOBSTATE_ALREADY_OPEN. Do not use an
 *    engine across fork(): open it in the child. The directory must be on a
 *    local filesystem (LMDB's locks and memory map do not work over NFS).
 */
#ifndef JOBSTATE_JOBSTATE_H
#define JOBSTATE_JOBSTATE_H

#include <jobstate/export.hpp>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup status Status codes
 * The values of the C++ enum jobstate::errc; 0 is success.
 * @{ */
/** Success. */
#define JOBSTATE_OK 0
/** Bad input; nothing was written. */
#define JOBSTATE_INVALID_ARGUMENT 1
/** No such job in this account and project. */
#define JOBSTATE_NOT_FOUND 2
/** The state machine forbids the change. */
#define JOBSTATE_ILLEGAL_TRANSITION 3
/** The job's revision is not the expected one. */
#define JOBSTATE_CONFLICT 4
/** An idempotency key names a different request. */
#define JOBSTATE_ALREADY_EXISTS 5
/** The job was purged; only a tombstone is left. */
#define JOBSTATE_GONE 6
/** The database reached its size limit. */
#define JOBSTATE_STORAGE_FULL 7
/** Stored data failed its integrity checks. */
#define JOBSTATE_CORRUPT 8
/** The database was written by another schema. */
#define JOBSTATE_UNSUPPORTED_VERSION 9
/** A value exceeds a documented limit. */
#define JOBSTATE_TOO_LARGE 10
/** The change feed no longer holds that sequence. */
#define JOBSTATE_EXPIRED 11
/** The engine is closing or closed. */
#define JOBSTATE_ENGINE_CLOSED 12
/** The storage layer (or the library) failed. */
#define JOBSTATE_IO_ERROR 13
/** The database is already open in this process (by another engine, or by
 * an integrity check). */
#define JOBSTATE_ALREADY_OPEN 14
/** A worker's lease on the job lapsed, or the job ended or is not under
 * that lease (see jobstate_job_claim). */
#define JOBSTATE_LEASE_LOST 15
/** An asynchronous wait was cancelled with jobstate_wait_cancel(). C API
 * only: never returned by a function, only passed to a wait callback. */
#define JOBSTATE_CANCELLED 100
/** @} */

/** Pass as a timeout to wait for as long as it takes. */
#define JOBSTATE_WAIT_FOREVER (-1)

/** An open job database. Thread-safe. */
typedef struct jobstate_engine jobstate_engine;

/** A pending or finished asynchronous wait (jobstate_wait_create). */
typedef struct jobstate_wait jobstate_wait;

/* ------------------------------------------------------------------ */
/** @defgroup errors Errors and memory
 * @{ */

/** @brief The name and meaning of a status code.
 * @param[in] code A status code (any int).
 * @return A static string, e.g. "not_found: no such job in this account and
 * project"; "unknown jobstate status code" for codes not listed above.
 * Never NULL.
 */
JOBSTATE_EXPORT const char* jobstate_strerror(int code);

/** @brief What went wrong in the calling thread's last failed call.
 *
 * Every function that returns a status resets this; after a failure it
 * holds the full message (the code's meaning and the particulars, e.g. the
 * member of a request that was rejected). Inside a wait callback, it
 * describes the callback's status.
 * @return A string owned by the library, valid until the calling thread's
 * next jobstate call; "" when the last call succeeded. Never NULL.
 */
JOBSTATE_EXPORT const char* jobstate_error_message(void);

/** @brief The state of the job concerned by the calling thread's last
 * failure, when known (illegal_transition and conflict report it: e.g. a
 * worker whose complete lost to a cancel learns that the job is cancelled).
 * @param[out] status Receives the status name ("cancelled", ...), a static
 * string; may be NULL.
 * @param[out] revision Receives the job's revision; may be NULL.
 * @return JOBSTATE_OK when known (outputs set), JOBSTATE_NOT_FOUND when not
 * (outputs untouched). Does not change jobstate_error_message().
 */
JOBSTATE_EXPORT int jobstate_error_job_state(const char** status,
                                             uint64_t* revision);

/** @brief Frees a buffer returned through a `char **` out-parameter.
 * @param[in] buffer The buffer, or NULL (then nothing happens).
 */
JOBSTATE_EXPORT void jobstate_free(void* buffer);

/** @} */
/* ------------------------------------------------------------------ */
/** @defgroup engine Engine
 * @{ */

/** @brief Opens (creating when missing) the database in directory `path`.
 *
 * The directory is created when missing. The same database may be open in
 * several processes; within one process, open it once and share the handle:
 * a second open of the same directory (by any path that leads to it) fails
 * with JOBSTATE_ALREADY_OPEN until the first handle is closed.
 * @param[in] path The database directory.
 * @param[in] options_json NULL for the defaults, or an object with any of:
 *   "durability" ("full", the default: fsync every commit; "no_meta_sync";
 *   "no_sync": survives a crash of the process, not of the machine),
 *   "map_size", "max_map_size" (bytes), "max_readers", "max_batch",
 *   "tombstone_retention_seconds", "feed_retention_count",
 *   "feed_retention_age_seconds", "cross_process_notifications" (boolean),
 *   "write_map" (boolean), "automatic_lease_expiry" (boolean),
 *   "default_retry" (a retry policy, as jobstate_job_create's "retry"),
 *   "limits": {"max_id_size", "max_kind_size", "max_json_size",
 *   "max_text_size", "max_history", "max_page_size",
 *   "max_batch_children"}. See
 *   <jobstate/options.hpp> for each.
 * @param[out] engine Receives the handle, to be closed with
 *   jobstate_engine_close(); set to NULL on failure.
 * @return A status code:
 *   JOBSTATE_INVALID_ARGUMENT - a NULL argument, malformed options.
 *   JOBSTATE_UNSUPPORTED_VERSION - the database was written by another schema.
 *   JOBSTATE_CORRUPT - the database failed its integrity checks.
 *   JOBSTATE_IO_ERROR - the directory or files cannot be made or opened.
 *   JOBSTATE_ALREADY_OPEN - this process has the database open already.
 */
JOBSTATE_EXPORT int jobstate_engine_open(const char* path,
                                         const char* options_json,
                                         jobstate_engine** engine);

/** @brief Closes the database and frees the handle.
 *
 * Calls in progress on other threads finish first: blocked
 * jobstate_job_wait calls return JOBSTATE_ENGINE_CLOSED, pending
 * asynchronous waits get their callback with JOBSTATE_ENGINE_CLOSED (on the
 * engine's callback thread, before this returns), changes already
 * acknowledged are durable. Calls that begin while
 * it runs fail with JOBSTATE_ENGINE_CLOSED. No call may begin once it has
 * returned, and only one thread may call it. Wait handles stay valid.
 * @param[in] engine The handle; NULL does nothing.
 * @return A status code:
 *   JOBSTATE_INVALID_ARGUMENT - called from a wait callback of this engine
 *     (nothing done). Closing another engine from a callback is allowed.
 */
JOBSTATE_EXPORT int jobstate_engine_close(jobstate_engine* engine);

/** @brief Ends every job that ran out of time, as the engine does by itself
 * on its timers; for tools and tests: a lapsed lease fails its job
 * ("lease_expired"), a passed run_timeout too ("deadline_exceeded"), a
 * passed pending_ttl cancels it ("expired").
 * @param[in] engine The engine.
 * @param[out] expired Receives how many jobs it ended; may be NULL.
 * @return A status code:
 *   JOBSTATE_INVALID_ARGUMENT - a NULL engine.
 *   JOBSTATE_ENGINE_CLOSED, JOBSTATE_STORAGE_FULL, JOBSTATE_IO_ERROR.
 */
JOBSTATE_EXPORT int jobstate_engine_expire_leases(jobstate_engine* engine,
                                                  uint64_t* expired);

/** @brief Removes terminal jobs completed more than a given time ago,
 * leaving tombstones, and forgets expired tombstones.
 * @param[in] engine The engine.
 * @param[in] request_json NULL, or {"older_than_seconds" (default 0),
 *   "max_jobs" (default 10000)}.
 * @param[out] result_json Receives {"purged", "tombstones_expired", "more"}
 *   (more: true when max_jobs stopped it: call again); may be NULL.
 * @return A status code:
 *   JOBSTATE_INVALID_ARGUMENT - a NULL engine, a malformed request.
 *   JOBSTATE_ENGINE_CLOSED - the engine is closing.
 *   JOBSTATE_IO_ERROR - the storage layer failed.
 */
JOBSTATE_EXPORT int jobstate_engine_purge(jobstate_engine* engine,
                                          const char* request_json,
                                          char** result_json);

/** @brief Reads the change feed: up to `limit` changes with sequence
 * greater than `after`, in commit order.
 * @param[in] engine The engine.
 * @param[in] after The last sequence already seen (0 for the beginning).
 * @param[in] limit The most changes to return, at least 1.
 * @param[out] batch_json Receives {"changes": [{"sequence", "at", "id",
 *   "account_id", "project_id", "status", "revision", "step"}, ...],
 *   "last_sequence"}: resume from last_sequence.
 * @return A status code:
 *   JOBSTATE_INVALID_ARGUMENT - NULL arguments, limit 0, or after beyond the
 *     latest sequence.
 *   JOBSTATE_EXPIRED - the feed no longer holds sequence after + 1: list the
 *     jobs again, then resume from jobstate_engine_last_sequence().
 *   JOBSTATE_ENGINE_CLOSED - the engine is closing.
 */
JOBSTATE_EXPORT int jobstate_engine_changes(jobstate_engine* engine,
                                            uint64_t after, size_t limit,
                                            char** batch_json);

/** @brief The latest sequence committed to the change feed (0 before any).
 * @param[in] engine The engine.
 * @param[out] sequence Receives the sequence.
 * @return A status code:
 *   JOBSTATE_INVALID_ARGUMENT - a NULL argument.
 *   JOBSTATE_ENGINE_CLOSED - the engine is closing.
 *   JOBSTATE_IO_ERROR - the storage layer failed.
 */
JOBSTATE_EXPORT int jobstate_engine_last_sequence(jobstate_engine* engine,
                                                  uint64_t* sequence);

/** @} */
/* ------------------------------------------------------------------ */
/** @defgroup jobs Jobs
 *
 * A job is named by its account, project and id (a job of another account
 * or project is not found). Functions that change a job take `options_json`:
 * NULL, or {"expected_revision": n (compare-and-set: fail with
 * JOBSTATE_CONFLICT unless the job's revision is n), "lease_epoch": n (a
 * worker's fence: fail with JOBSTATE_LEASE_LOST, changing nothing, unless
 * the job is running under the lease of that epoch which jobstate_job_claim
 * gave), "details": any JSON (recorded on the history event),
 * "with_history": false (the snapshot without its history, so that the
 * write costs the same however long the history is; default true)}. They return
 * the job's new snapshot in `job_json` (may be NULL), and fail, besides the
 * errors listed, with JOBSTATE_ENGINE_CLOSED when the engine is closing,
 * JOBSTATE_STORAGE_FULL and JOBSTATE_IO_ERROR.
 * @{ */

/** @brief Claims the pending job of one of the request's kinds in a
 * project that became claimable first (at creation, or at its "run_after";
 * then the oldest) and moves it to running under a lease
 * (docs/workers.md).
 * Renew the lease with jobstate_job_heartbeat() and pass its epoch as
 * "lease_epoch" in the options of every later write of the job; a lease not
 * renewed in time fails the job with error code "lease_expired".
 * @param[in] engine The engine.
 * @param[in] request_json {"account_id", "project_id", "kinds": ["parse",
 *   ...], "worker_id" (required), "lease_ttl_ms" (default 30000),
 *   "wait_ms" (how long to wait for a claimable job when there is none;
 *   default 0: answer at once), "details" (recorded on the "claimed"
 *   event), "with_history" (default true)}.
 * @param[out] job_json Receives the claimed job (its "lease" holds
 *   "worker_id", "epoch", "expires_at", "ttl_ms"), or NULL when none was
 *   claimable. Required: a claimed job must be finished by its taker.
 * @param[out] claimed Receives 1 when a job was claimed, else 0; may be NULL.
 * @return A status code:
 *   JOBSTATE_INVALID_ARGUMENT - NULL arguments (job_json included), a
 *     malformed request (no kinds, an empty worker_id, a lease_ttl_ms or
 *     wait_ms out of range).
 *   JOBSTATE_TOO_LARGE - a value exceeds a limit.
 */
JOBSTATE_EXPORT int jobstate_job_claim(jobstate_engine* engine,
                                       const char* request_json,
                                       char** job_json, int* claimed);

/** @brief Renews a claimed job's lease for its ttl from now, recording
 * progress in the same write when given. Without progress no history event
 * is added (the revision moves on; the change feed shows step
 * "heartbeat"). When the job was cancelled under this lease nothing is
 * written and `cancelled` says so: stop work.
 * @param[in] engine The engine.
 * @param[in] account_id, project_id, job_id The job.
 * @param[in] progress_json NULL, or progress as jobstate_job_progress takes.
 * @param[in] options_json Mutation options (above) with "lease_epoch"
 *   (required).
 * @param[out] job_json Receives the job; may be NULL.
 * @param[out] cancelled Receives 1 when the job was cancelled, else 0; may
 *   be NULL.
 * @return A status code:
 *   JOBSTATE_INVALID_ARGUMENT - NULL arguments, no lease_epoch, malformed
 *     progress.
 *   JOBSTATE_LEASE_LOST - the lease lapsed, or the job ended or is not under
 *     that epoch (jobstate_error_job_state() says its status).
 *   JOBSTATE_NOT_FOUND, JOBSTATE_GONE, JOBSTATE_CONFLICT, JOBSTATE_TOO_LARGE.
 */
JOBSTATE_EXPORT int jobstate_job_heartbeat(
    jobstate_engine* engine, const char* account_id, const char* project_id,
    const char* job_id, const char* progress_json, const char* options_json,
    char** job_json, int* cancelled);

/** @brief Creates a pending job.
 * @param[in] engine The engine.
 * @param[in] request_json {"account_id", "project_id", "kind" (required
 *   strings), "input" (any JSON, kept for rerun), "source_id",
 *   "correlation_id", "idempotency_key" (strings), "details" (any JSON),
 *   "run_after" (a timestamp: not claimable before), "run_timeout_ms",
 *   "pending_ttl_ms" (time limits), "retry": {"max_attempts",
 *   "initial_backoff_ms", "max_backoff_ms", "multiplier", "jitter",
 *   "retry_on": [error codes]} (docs/workers.md)}.
 * @param[out] job_json Receives the job; may be NULL.
 * @param[out] created Receives 1 when the job was created, 0 when an
 *   idempotency key matched an existing job (returned unchanged); may be NULL.
 * @return A status code:
 *   JOBSTATE_INVALID_ARGUMENT - NULL arguments, a malformed request.
 *   JOBSTATE_TOO_LARGE - a value exceeds a limit.
 *   JOBSTATE_ALREADY_EXISTS - the idempotency key was used for another kind
 *     or input.
 *   JOBSTATE_GONE - the idempotency key's job was purged.
 */
JOBSTATE_EXPORT int jobstate_job_create(jobstate_engine* engine,
                                        const char* request_json,
                                        char** job_json, int* created);

/** @brief Creates a batch: a pending parent job and its pending children,
 * in one commit (docs/batches.md).
 *
 * The children are ordinary jobs of the parent's account and project, with
 * "parent_id" set: get, start, complete, cancel and wait on each of them.
 * The parent has "is_batch": true; its status and progress.counts follow
 * its children (it cannot be started or completed by hand: that is
 * JOBSTATE_ILLEGAL_TRANSITION), a wait on it wakes as its children change,
 * cancelling it cancels its unfinished children, and rerunning it makes a
 * new batch of the children that did not succeed. Page through the children
 * with jobstate_job_list and {"parent_id": ...} (and "status").
 * @param[in] engine The engine.
 * @param[in] request_json The parent's create request (as
 *   jobstate_job_create's: "account_id", "project_id", "kind" required;
 *   "input", "source_id", "correlation_id", "idempotency_key", "details"),
 *   plus "children" (required): [{"kind" (required string), "input" (any
 *   JSON), "source_id", "correlation_id" (strings)}, ...], at least one, at
 *   most the "max_batch_children" limit (default 100000).
 * @param[out] batch_json Receives {"parent": job, "child_ids": [id, ...] (in
 *   the order of the request's children), "created": bool}; may be NULL.
 * @param[out] created Receives 1 when the batch was created, 0 when the
 *   parent's idempotency key matched an existing batch (returned unchanged:
 *   the key stands for the whole batch, children included); may be NULL.
 * @return A status code:
 *   JOBSTATE_INVALID_ARGUMENT - NULL arguments, a malformed request (the
 *     message names the member, e.g. "children[3]"), no children.
 *   JOBSTATE_TOO_LARGE - more children than max_batch_children, or a value
 *     exceeds a limit.
 *   JOBSTATE_ALREADY_EXISTS - the idempotency key was used for another kind
 *     or input.
 *   JOBSTATE_GONE - the idempotency key's job was purged.
 */
JOBSTATE_EXPORT int jobstate_job_create_batch(jobstate_engine* engine,
                                              const char* request_json,
                                              char** batch_json, int* created);

/** @brief The current snapshot of a job.
 * @param[in] engine The engine.
 * @param[in] account_id, project_id, job_id The job.
 * @param[out] job_json Receives the job.
 * @return A status code:
 *   JOBSTATE_INVALID_ARGUMENT - NULL arguments, a malformed id.
 *   JOBSTATE_NOT_FOUND - no such job.
 *   JOBSTATE_GONE - the job was purged.
 *   JOBSTATE_CORRUPT - the stored job failed its checks.
 *   JOBSTATE_ENGINE_CLOSED - the engine is closing.
 */
JOBSTATE_EXPORT int jobstate_job_get(jobstate_engine* engine,
                                     const char* account_id,
                                     const char* project_id, const char* job_id,
                                     char** job_json);

/** @brief pending → running.
 * @param[in] engine The engine.
 * @param[in] account_id, project_id, job_id The job.
 * @param[in] options_json NULL or mutation options (above).
 * @param[out] job_json Receives the job; may be NULL.
 * @return A status code:
 *   JOBSTATE_INVALID_ARGUMENT - NULL arguments, malformed options.
 *   JOBSTATE_NOT_FOUND - no such job.
 *   JOBSTATE_GONE - the job was purged.
 *   JOBSTATE_ILLEGAL_TRANSITION - the job is not pending.
 *   JOBSTATE_CONFLICT - the revision is not the expected one.
 */
JOBSTATE_EXPORT int jobstate_job_start(
    jobstate_engine* engine, const char* account_id, const char* project_id,
    const char* job_id, const char* options_json, char** job_json);

/** @brief Records the progress of a running job, replacing the previous.
 * @param[in] engine The engine.
 * @param[in] account_id, project_id, job_id The job.
 * @param[in] progress_json {"percent": 0 to 100, "counts": {"total",
 *   "succeeded", "failed", "cancelled", "pending"}, "details": any JSON},
 *   each part optional (the job's "progress" shape).
 * @param[in] options_json NULL or mutation options (above).
 * @param[out] job_json Receives the job; may be NULL.
 * @return A status code:
 *   JOBSTATE_INVALID_ARGUMENT - NULL arguments, malformed progress (e.g. a
 *     percent outside 0..100).
 *   JOBSTATE_TOO_LARGE - the details exceed the size limit.
 *   JOBSTATE_NOT_FOUND - no such job.
 *   JOBSTATE_GONE - the job was purged.
 *   JOBSTATE_ILLEGAL_TRANSITION - the job is not running.
 *   JOBSTATE_CONFLICT - the revision is not the expected one.
 */
JOBSTATE_EXPORT int jobstate_job_progress(
    jobstate_engine* engine, const char* account_id, const char* project_id,
    const char* job_id, const char* progress_json, const char* options_json,
    char** job_json);

/** @brief running → succeeded, partially_succeeded or failed.
 * @param[in] engine The engine.
 * @param[in] account_id, project_id, job_id The job.
 * @param[in] completion_json {"status": "succeeded" (the default),
 *   "partially_succeeded" or "failed", "result": any JSON, "error":
 *   {"code", "message"} (required when failed)}.
 * @param[in] options_json NULL or mutation options (above).
 * @param[out] job_json Receives the job; may be NULL.
 * @return A status code:
 *   JOBSTATE_INVALID_ARGUMENT - NULL arguments, a malformed completion.
 *   JOBSTATE_TOO_LARGE - the result or error exceeds a limit.
 *   JOBSTATE_NOT_FOUND - no such job.
 *   JOBSTATE_GONE - the job was purged.
 *   JOBSTATE_ILLEGAL_TRANSITION - the job is not running (e.g. it was
 *     cancelled: see jobstate_error_job_state()).
 *   JOBSTATE_CONFLICT - the revision is not the expected one.
 */
JOBSTATE_EXPORT int jobstate_job_complete(
    jobstate_engine* engine, const char* account_id, const char* project_id,
    const char* job_id, const char* completion_json, const char* options_json,
    char** job_json);

/** @brief pending or running → cancelled; the reason becomes the job's
 * error message (code "cancelled").
 * @param[in] engine The engine.
 * @param[in] account_id, project_id, job_id The job.
 * @param[in] reason Why; NULL or "" for none.
 * @param[in] options_json NULL or mutation options (above).
 * @param[out] job_json Receives the job; may be NULL.
 * @return A status code:
 *   JOBSTATE_INVALID_ARGUMENT - NULL arguments, malformed options.
 *   JOBSTATE_TOO_LARGE - the reason exceeds the text limit.
 *   JOBSTATE_NOT_FOUND - no such job.
 *   JOBSTATE_GONE - the job was purged.
 *   JOBSTATE_ILLEGAL_TRANSITION - the job is terminal already.
 *   JOBSTATE_CONFLICT - the revision is not the expected one.
 */
JOBSTATE_EXPORT int jobstate_job_cancel(jobstate_engine* engine,
                                        const char* account_id,
                                        const char* project_id,
                                        const char* job_id, const char* reason,
                                        const char* options_json,
                                        char** job_json);

/** @brief Creates a new pending job from a terminal one (same account,
 * project, kind, input and source; original_job_id set; attempt + 1).
 * @param[in] engine The engine.
 * @param[in] account_id, project_id, job_id The terminal job.
 * @param[in] options_json NULL, or {"correlation_id" (default: the
 *   original's), "details": any JSON (on the new job's "created" event)}.
 * @param[out] job_json Receives the new job; may be NULL.
 * @return A status code:
 *   JOBSTATE_INVALID_ARGUMENT - NULL arguments, malformed options.
 *   JOBSTATE_NOT_FOUND - no such job.
 *   JOBSTATE_GONE - the job was purged.
 *   JOBSTATE_ILLEGAL_TRANSITION - the job is not terminal.
 */
JOBSTATE_EXPORT int jobstate_job_rerun(
    jobstate_engine* engine, const char* account_id, const char* project_id,
    const char* job_id, const char* options_json, char** job_json);

/** @brief One page of a project's jobs, newest first. With "parent_id",
 * the children of that batch (and with "status" too, those of its children
 * that have that status, read through their own index): a batch of any size
 * is read a page at a time. A parent_id that names no batch gives an empty
 * page; jobstate_job_list_children tells them apart.
 * @param[in] engine The engine.
 * @param[in] query_json {"account_id", "project_id" (required), "status",
 *   "kind", "parent_id", "original_job_id" (filters, combined with AND),
 *   "limit" (default 50), "cursor" (a previous page's next_cursor)}.
 * @param[out] page_json Receives {"jobs": [job, ...], "next_cursor": string,
 *   or null on the last page}.
 * @return A status code:
 *   JOBSTATE_INVALID_ARGUMENT - NULL arguments, a malformed query or cursor,
 *     a limit outside 1..max_page_size.
 *   JOBSTATE_ENGINE_CLOSED - the engine is closing.
 */
JOBSTATE_EXPORT int jobstate_job_list(jobstate_engine* engine,
                                      const char* query_json, char** page_json);

/** @brief One page of a batch's children, newest first: jobstate_job_list
 * with "parent_id", after checking that the parent is a batch of this
 * account and project.
 * @param[in] engine The engine.
 * @param[in] account_id, project_id, parent_id The batch's parent job.
 * @param[in] query_json NULL, or {"status" (only the children with this
 *   status), "limit" (default 50), "cursor" (a previous page's
 *   next_cursor)}.
 * @param[out] page_json Receives {"jobs": [job, ...], "next_cursor": string,
 *   or null on the last page}.
 * @return A status code:
 *   JOBSTATE_INVALID_ARGUMENT - NULL arguments, a malformed id, query or
 *     cursor, a limit outside 1..max_page_size, or a parent that is not a
 *     batch.
 *   JOBSTATE_NOT_FOUND - no such parent job.
 *   JOBSTATE_GONE - the parent was purged.
 *   JOBSTATE_ENGINE_CLOSED - the engine is closing.
 */
JOBSTATE_EXPORT int jobstate_job_list_children(
    jobstate_engine* engine, const char* account_id, const char* project_id,
    const char* parent_id, const char* query_json, char** page_json);

/** @} */
/* ------------------------------------------------------------------ */
/** @defgroup waits Waiting
 *
 * A wait completes when its condition holds for the job, or when its
 * timeout passes (not an error: the job is then the latest snapshot and
 * `timed_out` is 1). `condition_json` is NULL or {} (the job is terminal),
 * {"changed_after": revision} (the job changed since that revision: a worker
 * waits on this to learn of cancellation), or {"status_in": ["running",
 * ...]}. A timeout in milliseconds: JOBSTATE_WAIT_FOREVER (any negative
 * value, or one beyond 100 years) for none, 0 to check once. Waits cost no
 * thread: a pending wait is an entry in the engine's registry, answered by the
 * commit that satisfies it.
 * @{ */

/** @brief Blocks until the condition holds for the job or the timeout
 * passes. Returns at once when it already holds.
 * @param[in] engine The engine.
 * @param[in] account_id, project_id, job_id The job.
 * @param[in] condition_json NULL or a condition (above).
 * @param[in] timeout_ms Milliseconds; JOBSTATE_WAIT_FOREVER for none.
 * @param[out] job_json Receives the job; may be NULL.
 * @param[out] timed_out Receives 1 when the timeout passed first, else 0;
 *   may be NULL.
 * @return A status code:
 *   JOBSTATE_INVALID_ARGUMENT - NULL arguments, a malformed id or condition.
 *   JOBSTATE_NOT_FOUND - no such job.
 *   JOBSTATE_GONE - the job was (or has just been) purged.
 *   JOBSTATE_ENGINE_CLOSED - the engine is closing (also when it closes
 *     during the wait).
 */
JOBSTATE_EXPORT int jobstate_job_wait(
    jobstate_engine* engine, const char* account_id, const char* project_id,
    const char* job_id, const char* condition_json, int64_t timeout_ms,
    char** job_json, int* timed_out);

/** @brief The callback of an asynchronous wait.
 *
 * Called exactly once per successful jobstate_wait_create, never from
 * within jobstate_wait_create itself, on the engine's callback thread (also
 * for waits that jobstate_engine_close aborts).
 * jobstate_error_message() and jobstate_error_job_state() describe a
 * failure for the duration of the call. See the caveats above for what a
 * callback may call.
 * @param[in] user_data The pointer given to jobstate_wait_create.
 * @param[in] status JOBSTATE_OK; JOBSTATE_CANCELLED after
 *   jobstate_wait_cancel; JOBSTATE_ENGINE_CLOSED when the engine closed
 *   first; JOBSTATE_NOT_FOUND, JOBSTATE_GONE (the job was purged),
 *   JOBSTATE_INVALID_ARGUMENT (the account or project is malformed), ...
 * @param[in] job_json The job (the latest snapshot), valid during the call
 *   only and owned by the library; NULL unless status is JOBSTATE_OK.
 * @param[in] timed_out 1 when the timeout passed before the condition held.
 */
typedef void (*jobstate_wait_callback)(void* user_data, int status,
                                       const char* job_json, int timed_out);

/** @brief Starts an asynchronous wait: `callback` runs once the condition
 * holds, the timeout passes, the wait is cancelled or the engine closes.
 * @param[in] engine The engine.
 * @param[in] account_id, project_id, job_id The job.
 * @param[in] condition_json NULL or a condition (above).
 * @param[in] timeout_ms Milliseconds; JOBSTATE_WAIT_FOREVER for none.
 * @param[in] callback Called exactly once if this returns JOBSTATE_OK,
 *   never otherwise.
 * @param[in] user_data Passed to the callback as it is.
 * @param[out] wait Receives a handle for jobstate_wait_cancel, which the
 *   caller must free with jobstate_wait_destroy; or NULL for no handle (the
 *   wait can then not be cancelled, and the library frees everything after
 *   the callback).
 * @return A status code:
 *   JOBSTATE_INVALID_ARGUMENT - NULL arguments, a malformed id or condition.
 *   JOBSTATE_ENGINE_CLOSED - the engine is closing.
 * Errors found later (no such job, ...) go to the callback.
 */
JOBSTATE_EXPORT int jobstate_wait_create(
    jobstate_engine* engine, const char* account_id, const char* project_id,
    const char* job_id, const char* condition_json, int64_t timeout_ms,
    jobstate_wait_callback callback, void* user_data, jobstate_wait** wait);

/** @brief Cancels a pending asynchronous wait: its callback then runs with
 * JOBSTATE_CANCELLED, soon, on the engine's notifier thread. When the wait
 * has completed already (or completes at the same moment), the callback
 * runs (or ran) with that outcome instead: the callback still runs exactly
 * once. Any number of times, from any thread, also from the callback.
 * @param[in] wait The handle (not yet destroyed).
 * @return A status code:
 *   JOBSTATE_INVALID_ARGUMENT - a NULL handle.
 */
JOBSTATE_EXPORT int jobstate_wait_cancel(jobstate_wait* wait);

/** @brief Frees a wait handle. It does not cancel the wait: a pending wait
 * goes on, and its callback still runs. Call it exactly once per handle, at
 * any time (before or after the callback, from any thread, also from the
 * callback itself, and after jobstate_engine_close); the handle is invalid
 * afterwards.
 * @param[in] wait The handle, or NULL (then nothing happens).
 */
JOBSTATE_EXPORT void jobstate_wait_destroy(jobstate_wait* wait);

/** @} */

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* JOBSTATE_JOBSTATE_H */
