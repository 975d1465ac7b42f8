// The database file (data.mdb) as a writable memory map needs it.
//
// With MDB_WRITEMAP, LMDB writes pages straight through the map instead of
// copying each dirty page into the file with pwrite (which cost about half
// of a small write's CPU: docs/performance.md). Three things then differ:
//  - a page of a sparse file gets disk blocks only when first written
//    through the map; on a full disk that write cannot fail, the kernel
//    ends the process with SIGBUS. So the whole map is reserved (fallocate)
//    before any transaction may write there, and a map that cannot be
//    reserved is not written through at all. On a copy-on-write file system
//    (btrfs, ZFS, bcachefs) overwriting a reserved block needs new blocks,
//    so no reservation holds: there the map is never writable.
//  - LMDB sets the file's length to the map's whenever it maps it
//    (ftruncate), so a process opening with a smaller map would cut the
//    file under another process's larger one. So every resize of a
//    writable map holds this file's exclusive lock and never asks for less
//    than the file's length.
//  - a process writing with pwrite extends the file past its length while
//    it commits, so it holds the shared lock for each write transaction:
//    a writable map's resize never measures the file in the middle of it.
#ifndef JOBSTATE_STORE_MAP_FILE_HPP
#define JOBSTATE_STORE_MAP_FILE_HPP

#include <jobstate/result.hpp>

#include <cstdint>
#include <string>

namespace jobstate::store {

class map_file {
 public:
  /// Opens (creating it empty, as LMDB would) `directory`/data.mdb.
  /// Errors: io_error.
  static result<map_file> open(const std::string& directory);

  map_file() = default;
  map_file(map_file&& other) noexcept;
  map_file& operator=(map_file&& other) noexcept;
  map_file(const map_file&) = delete;
  map_file& operator=(const map_file&) = delete;
  ~map_file();

  /// A held lock on the file (flock: across processes; threads of one
  /// process share it, which the callers' resize gate makes harmless).
  /// Released when destroyed; movable.
  class lock {
   public:
    lock() = default;
    explicit lock(int fd) noexcept : fd_(fd) {}
    lock(lock&& other) noexcept;
    lock& operator=(lock&& other) noexcept;
    lock(const lock&) = delete;
    lock& operator=(const lock&) = delete;
    ~lock();

   private:
    int fd_ = -1;
  };
  /// Waits for the exclusive lock: taken to resize a writable map.
  /// Errors: io_error (the lock could not be taken).
  result<lock> lock_exclusively() const;
  /// Waits for the shared lock: held by a pwrite writer while it commits.
  /// Errors: io_error.
  result<lock> lock_shared() const;

  /// The file's length now. Errors: io_error.
  result<std::uint64_t> size() const;

  /// Whether a reservation keeps holding for later overwrites: false on a
  /// copy-on-write file system, where writing a block again needs a new
  /// one.
  bool reservation_holds() const;

  /// Gives the file disk blocks for its first `bytes` (extending it to that
  /// length if shorter), so that writing them through a map cannot fail.
  /// When that fails part-way, the file is cut back to `keep` bytes (when
  /// longer), so a full disk keeps what little room it had.
  /// Errors: storage_full (ENOSPC, EDQUOT, EFBIG: the disk, a quota or the
  /// process's file-size limit), io_error (the file system cannot reserve:
  /// EOPNOTSUPP and others).
  result<void> reserve(std::uint64_t bytes, std::uint64_t keep) const;

  bool is_open() const noexcept { return fd_ >= 0; }

 private:
  explicit map_file(int fd) noexcept : fd_(fd) {}
  result<lock> take(int operation) const;
  int fd_ = -1;
};

}  // namespace jobstate::store

#endif  // JOBSTATE_STORE_MAP_FILE_HPP
