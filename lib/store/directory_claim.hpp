// One LMDB environment per database directory per process.
//
// LMDB forbids opening one environment twice in a process: its locks are
// POSIX record locks, which belong to the process, so closing either
// environment releases the other's, and two environments in one process do
// not exclude each other's writers. Every open of a database directory in
// this library (an engine, the integrity check) first claims the directory
// here, and holds the claim until its environment is closed.
#ifndef JOBSTATE_STORE_DIRECTORY_CLAIM_HPP
#define JOBSTATE_STORE_DIRECTORY_CLAIM_HPP

#include <jobstate/result.hpp>

#include <compare>
#include <string>
#include <sys/types.h>

namespace jobstate::store {

/// A directory's identity: its device and inode, so that every path leading
/// to it (through a symlink, with a trailing slash, relative to the working
/// directory) names the same one.
struct directory_id {
  dev_t device = 0;
  ino_t inode = 0;
  friend auto operator<=>(const directory_id&, const directory_id&) = default;
};

/// This process's claim on a database directory. Move-only; destroying it
/// (from any thread) releases the directory, which may then be claimed
/// again. An empty claim (default-constructed or moved from) holds nothing.
///
/// Thread-safe: the registry of claims is process-wide, under a mutex. In
/// the child of fork() the registry starts empty (an environment inherited
/// across fork() must not be used there; the child opens its own), and
/// claims inherited from the parent release nothing.
class directory_claim {
 public:
  directory_claim() = default;
  /// Claims the existing directory `path` for `holder` (how an error names
  /// whoever has it: "an engine", "an integrity check").
  /// Errors:
  ///   already_open      this process has a claim on the directory.
  ///   invalid_argument  `path` is not a directory.
  ///   io_error          `path` cannot be examined (stat fails).
  static result<directory_claim> acquire(const std::string& path,
                                         const char* holder);

  directory_claim(directory_claim&& other) noexcept;
  directory_claim& operator=(directory_claim&& other) noexcept;
  directory_claim(const directory_claim&) = delete;
  directory_claim& operator=(const directory_claim&) = delete;
  ~directory_claim();

  /// Releases the directory now (no-op when empty).
  void release() noexcept;
  bool holds() const noexcept { return held_; }

 private:
  directory_id id_;
  pid_t owner_ = 0;  // The process that claimed it.
  bool held_ = false;
};

}  // namespace jobstate::store

#endif  // JOBSTATE_STORE_DIRECTORY_CLAIM_HPP
