// The LMDB backend: each table is a sub-database of one environment in the
// database directory; a snapshot is a read-only transaction, the write
// batch is the write transaction, and growing the store grows the map
// (closing the resize gate while LMDB requires that no transaction of the
// process is active).
#ifndef JOBSTATE_STORE_LMDB_BACKEND_HPP
#define JOBSTATE_STORE_LMDB_BACKEND_HPP

#include <jobstate/options.hpp>

#include "store/backend.hpp"
#include "store/directory_claim.hpp"
#include "store/environment.hpp"
#include "store/lmdb.hpp"
#include "store/map_file.hpp"
#include "store/resize_gate.hpp"

#include <atomic>

namespace jobstate::store {

class lmdb_backend final : public backend {
 public:
  /// Opens (creating) the database in `opts.path` for reading and writing
  /// (see open_environment for what is checked and the errors).
  static result<std::unique_ptr<lmdb_backend>> open(const options& opts);
  ~lmdb_backend() override;

  result<std::unique_ptr<snapshot>> begin_read() const override;
  result<std::unique_ptr<write_batch>> begin_write() override;
  bool can_grow() const override;
  result<bool> grow() override;
  result<void> grow_beyond_limit(std::uint64_t bytes) override;
  result<void> recycle_freed_space() override;
  /// From LMDB's lock on lock.mdb (lock_file.hpp).
  result<bool> open_elsewhere() const override;

  /// The map's size now (for tests and measurements).
  std::uint64_t map_size() const;
  /// LMDB writes through the map (options::write_map, where the file
  /// system could reserve it).
  bool write_map() const noexcept { return write_map_; }

 private:
  lmdb_backend() = default;
  result<void> adopt_resized_map() const;
  // Maps `wanted` bytes; with a write map, no less than the file's length
  // (another process's map may have made it longer) and reserved first,
  // under the file's exclusive lock (map_file.hpp). Inside the gate, closed.
  result<void> resize_to(std::uint64_t wanted);
  // With a write map whose last adoption could not be reserved: reserves
  // it now, or fails with storage_full. Holding a pass.
  result<void> reserve_adopted_map() const;
  // A transaction with `flags` (MDB_RDONLY or 0), holding a pass through
  // the resize gate; adopts another process's larger map on the way.
  result<std::unique_ptr<write_batch>> begin(unsigned flags) const;

  // Declared before env_, so released after the environment is closed.
  directory_claim claim_;
  map_file file_;
  bool write_map_ = false;
  lmdb::env env_;
  table_handles handles_{};
  options opts_;
  // Every transaction holds a pass; resizing the map closes the gate.
  mutable resize_gate gate_;
  // A write map adopted from another process but not reserved on disk: no
  // write transaction may begin until it is.
  mutable std::atomic<bool> unreserved_{false};
};

/// A snapshot over an LMDB transaction someone else owns and ends (the
/// integrity check's read-only one): valid while that transaction lives.
std::unique_ptr<snapshot> view_of(MDB_txn* txn, const table_handles& handles);

}  // namespace jobstate::store

#endif  // JOBSTATE_STORE_LMDB_BACKEND_HPP
