// Options for opening an engine: plain structs with in-class defaults.
#ifndef JOBSTATE_OPTIONS_HPP
#define JOBSTATE_OPTIONS_HPP

#include <jobstate/job.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace jobstate {

/// What an acknowledged mutation survives. See docs/operations.md.
enum class durability {
  /// fsync on every commit: an acknowledged change survives a crash of the
  /// process and of the machine. The default.
  full,
  /// Data is synced, the meta page is not: a machine crash may lose the last
  /// acknowledged commits but never corrupts the database.
  no_meta_sync,
  /// No fsync: survives a crash of the process, not of the machine; a
  /// machine crash may lose recent commits (the OS flushes eventually).
  no_sync,
};

/// Documented size limits, each enforced with a clear error before anything
/// is written. Sizes are in bytes of UTF-8 text.
struct limits {
  /// account, project, source, correlation, idempotency key.
  std::size_t max_id_size = 256;
  /// The job's kind.
  std::size_t max_kind_size = 128;
  /// Serialized input, result, details, progress.
  std::size_t max_json_size = 1 << 20;
  /// Error code and message, cancel reason.
  std::size_t max_text_size = 4096;
  /// Events kept per job (see data-model.md).
  std::size_t max_history = 1000;
  /// Jobs in one list page.
  std::size_t max_page_size = 1000;
  /// Children of one batch.
  std::size_t max_batch_children = 100'000;
};

/// How to open an engine.
struct options {
  // --- behaviour ---

  /// Directory holding the database; created when missing. Required.
  std::string path;
  /// How long a purged job's tombstone answers `gone` (and keeps its
  /// idempotency key) before it is forgotten.
  std::chrono::seconds tombstone_retention = std::chrono::hours(24 * 7);
  /// Limits on what callers may store.
  jobstate::limits limits;
  /// The change feed keeps at most this many of the latest changes, and
  /// none older than feed_retention_age: the rest are trimmed as new changes
  /// commit. Asking for a trimmed position fails with `expired`.
  std::uint64_t feed_retention_count = 1'000'000;
  std::chrono::seconds feed_retention_age = std::chrono::hours(24);
  /// Wake waiters in this process when another process sharing the database
  /// commits (through an inotify watch on a file in `path`, see
  /// docs/waiting.md). Off saves one small write per commit for a database
  /// only this process writes.
  bool cross_process_notifications = true;
  /// Where the completion handlers of asynchronous operations run when they
  /// have no associated executor of their own (a plain callback,
  /// use_future, ...): engine::get_executor() returns it. Empty (the
  /// default): the engine starts one thread of its own, running an
  /// io_context, for them. Either way no handler ever runs on the thread
  /// that commits, so a slow handler delays no commit.
  /// Caveats, when set: the host keeps it running while the engine is open
  /// and until the engine's destructor has returned (the destructor
  /// completes pending operations on it, but does not wait for their
  /// handlers to run); a handler blocked on another operation's answer
  /// needs a second thread running it.
  boost::asio::any_io_executor executor;

  /// The clock mutations are stamped with and leases are measured by
  /// (UTC, microseconds). Empty: the system clock. For tests that move time
  /// (leases, retention); it must not go backwards by much, and every
  /// process opening one database should agree with the others.
  std::function<timestamp()> clock;
  /// True: the engine ends the jobs that ran out of time itself (lapsed
  /// leases, run_timeout, pending_ttl), on one timer (and at open). False:
  /// only engine::expire_leases does, for tests that move `clock` and for
  /// a host that runs expiry in one process of its own.
  bool automatic_lease_expiry = true;
  /// The retry policy of a job created without one (create_request::retry);
  /// none: such a job is never retried. Not given to batch children.
  std::optional<retry_policy> default_retry;

  // --- performance ---

  /// Commit durability; weaker modes trade safety for speed.
  jobstate::durability durability = jobstate::durability::full;
  /// Initial size of the memory map. With `write_map` the file takes this
  /// much disk at once (reserved, so that a full disk fails a growth with
  /// storage_full instead of a write through the map); without, the file
  /// grows as data is written.
  std::uint64_t map_size = std::uint64_t{64} << 20;
  /// The map doubles, up to this bound, when it fills; past it mutations
  /// fail with storage_full. Set equal to map_size to disable growth.
  std::uint64_t max_map_size = std::uint64_t{64} << 30;
  /// Write through a writable memory map (LMDB's MDB_WRITEMAP) instead of
  /// copying each changed page into the file: about half the CPU of a
  /// small write (docs/performance.md). The file is then at least as long
  /// as the map and its disk is reserved at open and at each growth; where
  /// a reservation cannot be made or cannot hold (no fallocate, no room at
  /// open, a copy-on-write file system) the engine writes as with `false`.
  /// Processes with either setting may share a database. Caveats: a stray
  /// write through a wild pointer of the host process can reach the
  /// database's pages (the checksum on every value detects it on read; it
  /// cannot undo it); a database file sharing blocks with a reflink copy
  /// or snapshot on XFS needs `false` (docs/operations.md).
  bool write_map = true;
  /// Concurrent read transactions across all processes sharing the database.
  unsigned max_readers = 1024;
  /// Most mutations committed in one write transaction (group commit).
  std::size_t max_batch = 256;
};

}  // namespace jobstate

#endif  // JOBSTATE_OPTIONS_HPP
