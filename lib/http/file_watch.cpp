#include "http/file_watch.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sys/inotify.h>

namespace jobstate::http {
namespace {

// The events that can change what the file holds. Not IN_MODIFY: LMDB's
// writes to data.mdb in the same directory would flood the queue with it,
// and a reader acts on the close that ends a write anyway.
constexpr std::uint32_t watched_events =
    IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
    IN_DELETE_SELF | IN_MOVE_SELF;

// Events that end the watch or lose events: from then on, always "maybe".
constexpr std::uint32_t watch_lost =
    IN_Q_OVERFLOW | IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT;

}  // namespace

file_watch::file_watch(const std::filesystem::path& file)
    : name_(file.filename().string()) {
  fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) return;
  const std::filesystem::path dir =
      file.has_parent_path() ? file.parent_path() : ".";
  if (::inotify_add_watch(fd_, dir.c_str(), watched_events) < 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

file_watch::~file_watch() {
  if (fd_ >= 0) ::close(fd_);
}

bool file_watch::maybe_changed() {
  if (fd_ < 0) return true;
  bool changed = false;
  bool lost = false;
  alignas(inotify_event) char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd_, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n < 0 && errno != EAGAIN) lost = true;
      break;
    }
    for (ssize_t at = 0; at < n;) {
      inotify_event event;
      std::memcpy(&event, buffer + at, sizeof event);
      const char* name = buffer + at + sizeof event;
      if (event.mask & watch_lost) lost = true;
      if (event.len > 0 && name_ == name) changed = true;
      at += static_cast<ssize_t>(sizeof event + event.len);
    }
  }
  if (lost) {
    ::close(fd_);
    fd_ = -1;
    return true;
  }
  return changed;
}

}  // namespace jobstate::http
