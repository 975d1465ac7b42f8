// Knowing cheaply whether a file may have changed: the key store checks its
// file before every authenticated request, and a stat(2) of the path on
// each one cost more than the rest of authenticating.
#ifndef JOBSTATE_HTTP_FILE_WATCH_HPP
#define JOBSTATE_HTTP_FILE_WATCH_HPP

#include <filesystem>
#include <string>

namespace jobstate::http {

/// An inotify watch on the directory of one file, read without blocking.
///
/// The kernel queues an event before the system call that changed the file
/// returns (rename, close after writing, unlink), so a change made by any
/// process is seen by the next call to maybe_changed, with no delay.
/// Where no watch can be set (no inotify, no directory yet, the watch limit
/// reached) or events were lost, maybe_changed answers true: the caller then
/// looks at the file itself, as it would without a watch.
///
/// Not thread-safe: callers serialize calls (the key store, under its lock).
class file_watch {
 public:
  explicit file_watch(const std::filesystem::path& file);
  ~file_watch();
  file_watch(const file_watch&) = delete;
  file_watch& operator=(const file_watch&) = delete;

  /// True when the file may have changed since the previous call: it was
  /// created, written and closed, moved in or out, or removed; or its
  /// directory went away; or there is no working watch.
  bool maybe_changed();

 private:
  std::string name_;  // the file's name in its directory
  int fd_ = -1;       // the inotify instance; -1 when there is none
};

}  // namespace jobstate::http

#endif  // JOBSTATE_HTTP_FILE_WATCH_HPP
