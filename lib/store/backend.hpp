// The storage a job store runs on: a fixed set of ordered key spaces
// (tables) of byte strings, read through consistent snapshots and written
// through one atomic batch at a time. The job store (records, indexes,
// tombstones, the change log: job_store.hpp) is written once against this
// interface; a backend decides only how bytes are kept. LMDB
// (lmdb_backend.hpp) is the embedded default. The interface is shaped so
// that a replicated store fits behind it: a write batch reads its own
// writes and commits all or nothing with one durability point, which a
// store with optimistic transactions provides by comparing the versions of
// what the batch read (etcd's mod_revision) when it commits.
//
// Every backend passes the conformance suite in tests/store/.
#ifndef JOBSTATE_STORE_BACKEND_HPP
#define JOBSTATE_STORE_BACKEND_HPP

#include <jobstate/result.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

namespace jobstate::store {

/// The key spaces of the job layout (docs/storage.md). Keys sort bytewise
/// (unsigned, shorter first on a common prefix) within a table; tables are
/// independent of each other. A key is 1 byte long at least and at most
/// what the backend allows (LMDB: 511); an empty or longer one is refused
/// with too_large. Values may be empty. The meta table belongs to the job
/// store, but a backend may keep its own stamp there (LMDB's recycling
/// rewrites the schema key with its value).
enum class table : std::uint8_t {
  meta,
  jobs,
  by_scope,
  by_status,
  by_kind,
  by_parent,
  by_parent_status,
  by_original,
  idempotency,
  by_completed,
  tombstones,
  by_tombstone_age,
  changes,
  by_claimable,     ///< Since schema 3 (its key changed in 4).
  by_lease_expiry,  ///< Since schema 3.
  by_deadline,      ///< Since schema 4.
};
inline constexpr std::size_t table_count = 16;
/// Every table, in the order of the enumeration.
inline constexpr table all_tables[table_count] = {table::meta,
                                                  table::jobs,
                                                  table::by_scope,
                                                  table::by_status,
                                                  table::by_kind,
                                                  table::by_parent,
                                                  table::by_parent_status,
                                                  table::by_original,
                                                  table::idempotency,
                                                  table::by_completed,
                                                  table::tombstones,
                                                  table::by_tombstone_age,
                                                  table::changes,
                                                  table::by_claimable,
                                                  table::by_lease_expiry,
                                                  table::by_deadline};
/// The table's name in storage and in docs/storage.md ("idx_scope").
std::string_view table_name(table t) noexcept;

/// How put treats the key it writes.
enum class put_mode : std::uint8_t {
  /// Replaces any value the key has.
  upsert,
  /// Fails with already_exists when the key has a value; writes nothing.
  insert_new,
  /// The key sorts after every key of the table (the change log's next
  /// sequence): a backend may write it faster. Errors: already_exists when
  /// it does not sort last.
  append,
};

/// An ordered walk over one table of a snapshot. Positioning calls answer
/// whether the cursor is on an entry (false: past either end). Errors:
/// corrupt, io_error.
class cursor {
 public:
  virtual ~cursor() = default;
  /// Positions at the first key >= `key` (the first key for "").
  virtual result<bool> seek(std::string_view key) = 0;
  virtual result<bool> first() = 0;
  virtual result<bool> last() = 0;
  virtual result<bool> next() = 0;
  virtual result<bool> prev() = 0;
  /// The entry the cursor is on: valid until the cursor moves, the batch
  /// it reads writes, or its snapshot ends. REQUIRES: on an entry.
  virtual std::string_view key() const noexcept = 0;
  virtual std::string_view value() const noexcept = 0;
};

/// A consistent view of every table as of one commit: later commits are
/// not seen. Thread-safety: one thread at a time; a thread holds at most
/// one snapshot or batch at a time (the LMDB backend's map growth waits
/// for every transaction of the process to end). Hold it briefly.
class snapshot {
 public:
  virtual ~snapshot() = default;
  /// The value at `key`, or nothing; the view is valid until the snapshot
  /// ends or (in a batch) until the batch writes again. Errors: corrupt,
  /// io_error.
  virtual result<std::optional<std::string_view>> get(
      table t, std::string_view key) const = 0;
  /// A cursor over `t`, not positioned yet (call first, last or seek).
  virtual result<std::unique_ptr<cursor>> open_cursor(table t) const = 0;
  /// The number of keys in `t`.
  virtual result<std::uint64_t> count(table t) const = 0;
};

/// The one write batch of a store: reads (inherited) see the batch's own
/// writes. Nothing is visible to any snapshot until commit(), which applies
/// every write or none and returns once durable as options::durability
/// says. After a write fails (storage_full, io_error, corrupt; a put_mode
/// refusal excepted), part of the batch may be written: the batch must be
/// aborted. Destroying a batch that was not committed aborts it.
/// Thread-safety: one thread; REQUIRES: at most one batch per store at a
/// time (a second begin_write, in another process too, waits).
class write_batch : public snapshot {
 public:
  /// Errors: already_exists (see put_mode), storage_full (the map is full:
  /// abort, make room, run the batch again), too_large (a key longer than
  /// the backend allows), io_error.
  virtual result<void> put(table t, std::string_view key,
                           std::string_view value,
                           put_mode mode = put_mode::upsert) = 0;
  /// Deletes `key`; deleting a missing key is not an error. Errors: as put.
  virtual result<void> del(table t, std::string_view key) = 0;
  /// Applies every write at once. The batch is finished either way.
  /// Errors: storage_full, io_error.
  virtual result<void> commit() = 0;
  /// Drops every write; the batch is finished (the store may grow once
  /// this returns). Idempotent.
  virtual void abort() noexcept = 0;
};

/// An open store. Thread-safe: any thread may begin a snapshot; one batch
/// at a time is written (a second begin_write waits for the first to end).
class backend {
 public:
  virtual ~backend() = default;
  /// Errors: io_error, corrupt. REQUIRES: no snapshot or batch alive in
  /// the calling thread.
  virtual result<std::unique_ptr<snapshot>> begin_read() const = 0;
  /// REQUIRES: as begin_read.
  virtual result<std::unique_ptr<write_batch>> begin_write() = 0;

  /// Room for a batch that failed with storage_full, in the order the
  /// commit queue tries them. Each REQUIRES: no snapshot or batch alive in
  /// the calling thread.
  /// True while the store may still grow within its configured limit.
  virtual bool can_grow() const = 0;
  /// Grows the store (LMDB: doubles the map, up to options::max_map_size);
  /// false when already at the limit.
  virtual result<bool> grow() = 0;
  /// Grows `bytes` past the limit: the headroom that lets a purge run in a
  /// full store (deleting needs room too).
  virtual result<void> grow_beyond_limit(std::uint64_t bytes) = 0;
  /// Makes the room the last commit freed usable by the next batch (LMDB
  /// reuses a page only two transactions after the one that freed it).
  virtual result<void> recycle_freed_space() = 0;

  /// Whether another process has this store open now: a change of layout
  /// (a schema migration) must not happen under a process of an older
  /// build. Errors: io_error.
  virtual result<bool> open_elsewhere() const = 0;
};

}  // namespace jobstate::store

#endif  // JOBSTATE_STORE_BACKEND_HPP
