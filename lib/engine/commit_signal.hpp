// Cross-process commit signal: every commit writes its latest sequence to a
// small file beside the database, and every process sharing the database
// watches that file with inotify. A process learns of another's commit as
// soon as the kernel delivers the event: no polling, no busy loop.
//
// Each watching engine counts itself in the file (through a shared
// mapping) and holds a shared lock on its first byte (an open-file-
// description lock, which a crashed process's count cannot outlive). A
// commit rings only when the count says another engine listens and a lock
// confirms it: an engine alone with its database pays one load from memory
// per commit, not a write and the wake-up of its own notifier thread.
#ifndef JOBSTATE_ENGINE_COMMIT_SIGNAL_HPP
#define JOBSTATE_ENGINE_COMMIT_SIGNAL_HPP

#include <jobstate/result.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <cstdint>
#include <functional>
#include <string>

namespace jobstate::engine_detail {

class commit_signal {
 public:
  /// The file that carries the signal, inside the database directory.
  static constexpr const char* file_name = "commit-signal";

  /// Opens (creating) the signal file in `directory` and starts watching it
  /// on `io`; `on_signal` runs on `io`'s thread after commits, coalesced.
  static result<std::unique_ptr<commit_signal>> open(
      const std::string& directory, boost::asio::io_context& io,
      std::function<void()> on_signal);
  ~commit_signal();

  /// Tells every other watching engine (and, when there is one, this one
  /// too) that `sequence` committed. Thread-safe.
  void announce(std::uint64_t sequence) noexcept;
  /// True when another engine watches the file.
  bool others_listening() const noexcept;
  /// Stops watching. Call on the io_context's thread, or after it stopped.
  void close();

 private:
  commit_signal(boost::asio::io_context& io, int file_fd, void* mapping,
                int inotify_fd, std::function<void()> on_signal);
  void arm();

  int file_fd_;
  void* mapping_;  // The file's 16 bytes, shared with every process.
  boost::asio::posix::stream_descriptor inotify_;
  std::function<void()> on_signal_;
};

}  // namespace jobstate::engine_detail

#endif  // JOBSTATE_ENGINE_COMMIT_SIGNAL_HPP
