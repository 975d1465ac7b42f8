#include "engine/commit_signal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <sys/inotify.h>

namespace jobstate::engine_detail {

result<std::unique_ptr<commit_signal>> commit_signal::open(
    const std::string& directory, boost::asio::io_context& io,
    std::function<void()> on_signal) {
  const std::string path = directory + "/" + file_name;
  const int file_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (file_fd < 0) {
    return error(errc::io_error,
                 "cannot open " + path + ": " + std::strerror(errno));
  }
  // Present before watching: a committer that misses this lock committed
  // before it was taken, hence before this engine reads its starting
  // position, so nothing is lost.
  struct flock presence {};
  presence.l_type = F_RDLCK;
  presence.l_whence = SEEK_SET;
  presence.l_start = 0;
  presence.l_len = 1;
  if (::fcntl(file_fd, F_OFD_SETLK, &presence) != 0) {
    const int saved = errno;
    ::close(file_fd);
    return error(errc::io_error, "cannot lock " + path + ": " +
                                     std::strerror(saved) +
                                     " (or open the engine with "
                                     "cross_process_notifications off)");
  }
  const int inotify_fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd < 0 ||
      ::inotify_add_watch(inotify_fd, path.c_str(), IN_MODIFY) < 0) {
    const int saved = errno;
    ::close(file_fd);
    if (inotify_fd >= 0) ::close(inotify_fd);
    return error(errc::io_error, "cannot watch " + path +
                                     " with inotify: " + std::strerror(saved) +
                                     " (or open the engine with "
                                     "cross_process_notifications off)");
  }
  std::unique_ptr<commit_signal> s(
      new commit_signal(io, file_fd, inotify_fd, std::move(on_signal)));
  s->arm();
  return s;
}

commit_signal::commit_signal(boost::asio::io_context& io, int file_fd,
                             int inotify_fd, std::function<void()> on_signal)
    : file_fd_(file_fd),
      inotify_(io, inotify_fd),
      on_signal_(std::move(on_signal)) {}

commit_signal::~commit_signal() {
  boost::system::error_code ignored;
  inotify_.close(ignored);
  ::close(file_fd_);
}

bool commit_signal::others_listening() const noexcept {
  // Would an exclusive lock conflict? Only another description's shared
  // lock can make it: this engine's own never conflicts with itself. On an
  // error, assume a listener: a needless ring costs little, a missed one a
  // waiter's wake-up.
  struct flock probe {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  probe.l_start = 0;
  probe.l_len = 1;
  if (::fcntl(file_fd_, F_OFD_GETLK, &probe) != 0) return true;
  return probe.l_type != F_UNLCK;
}

void commit_signal::announce(std::uint64_t sequence) noexcept {
  if (!others_listening()) return;
  // A pwrite that lands in the page cache: no fsync, it is only a doorbell.
  // A failure is harmless to correctness (the data is already committed);
  // waiters in other processes would learn of it with the next commit.
  std::array<unsigned char, 8> bytes;
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<unsigned char>(sequence >> (8 * i));
  }
  [[maybe_unused]] const auto n = ::pwrite(file_fd_, bytes.data(), 8, 0);
}

void commit_signal::close() {
  boost::system::error_code ignored;
  inotify_.cancel(ignored);
  inotify_.close(ignored);
}

void commit_signal::arm() {
  inotify_.async_wait(
      boost::asio::posix::stream_descriptor::wait_read,
      [this](const boost::system::error_code& ec) {
        if (ec) return;  // Closed.
        // Drain every queued event: one callback covers them all.
        alignas(inotify_event) char buf[4096];
        while (::read(inotify_.native_handle(), buf, sizeof buf) > 0) {
        }
        on_signal_();
        arm();
      });
}

}  // namespace jobstate::engine_detail
