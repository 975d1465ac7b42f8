// The database file (data.mdb) as a writable memory map needs it.
//
// With MDB_WRITEMAP, LMDB writes pages straight through the map instead of
// copying each dirty page into the file with pwrite (which cost about half
// of a small write's CPU: docs/performance.md). Two things then differ:
//  - a page of a sparse file is given disk blocks only when first written
//    through the map; on a full disk the write cannot fail, the kernel
//    kills the process with SIGBUS. So every byte of the map is reserved
//    (fallocate) before any transaction may write there, and a map that
//    cannot be reserved is not written through at all.
//  - LMDB sets the file's length to the map's whenever it maps it
//    (ftruncate), so a process opening with a smaller map would cut the
//    file under another process's larger one. So every resize takes this
//    file's exclusive lock (flock, across processes) and never asks for a
//    map smaller than the file.
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

  /// Holds the file's exclusive lock (shared by nothing: every holder, in
  /// any process, resizes or reserves) until destroyed. A thread of this
  /// process waiting for it waits for the other process.
  class resize_lock {
   public:
    explicit resize_lock(int fd) noexcept;
    resize_lock(const resize_lock&) = delete;
    resize_lock& operator=(const resize_lock&) = delete;
    ~resize_lock();

   private:
    int fd_;
  };
  [[nodiscard]] resize_lock lock_for_resize() const noexcept {
    return resize_lock(fd_);
  }

  /// The file's length now. Errors: io_error.
  result<std::uint64_t> size() const;

  /// Gives the file disk blocks for its first `bytes` (extending it to that
  /// length if shorter), so that writing them through a map cannot fail.
  /// Errors: storage_full (ENOSPC, EDQUOT, EFBIG: the disk, a quota or the
  /// process's file-size limit), io_error (the file system cannot reserve:
  /// EOPNOTSUPP and others).
  result<void> reserve(std::uint64_t bytes) const;

  bool is_open() const noexcept { return fd_ >= 0; }

 private:
  explicit map_file(int fd) noexcept : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace jobstate::store

#endif  // JOBSTATE_STORE_MAP_FILE_HPP
