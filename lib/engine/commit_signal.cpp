#include "engine/commit_signal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>

namespace jobstate::engine_detail {

namespace {

// The file's layout: the doorbell (the latest sequence announced, written
// with pwrite so that inotify reports it) and, in its own 8 bytes, the count
// of engines listening (changed through a shared mapping, which inotify does
// not report).
constexpr off_t listeners_offset = 8;
constexpr off_t file_size = 16;

std::atomic_ref<std::uint64_t> listeners_at(void* mapping) {
  return std::atomic_ref<std::uint64_t>(
      static_cast<std::uint64_t*>(mapping)[listeners_offset / 8]);
}

}  // namespace

result<std::unique_ptr<commit_signal>> commit_signal::open(
    const std::string& directory, boost::asio::io_context& io,
    std::function<void()> on_signal) {
  const std::string path = directory + "/" + file_name;
  int file_fd = -1;
  int inotify_fd = -1;
  void* mapping = MAP_FAILED;
  auto fail = [&](const std::string& what) {
    const int saved = errno;
    if (mapping != MAP_FAILED) ::munmap(mapping, file_size);
    if (inotify_fd >= 0) ::close(inotify_fd);
    if (file_fd >= 0) ::close(file_fd);
    return error(errc::io_error, "cannot " + what + " " + path + ": " +
                                     std::strerror(saved) +
                                     " (or open the engine with "
                                     "cross_process_notifications off)");
  };
  file_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (file_fd < 0) return fail("open");
  struct stat st {};
  if (::fstat(file_fd, &st) != 0) return fail("stat");
  // Only ever grown (a file of an earlier version holds 8 bytes), never
  // shrunk: two engines growing it at once both leave 16 bytes.
  if (st.st_size < file_size && ::ftruncate(file_fd, file_size) != 0) {
    return fail("extend");
  }
  mapping = ::mmap(nullptr, file_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                   file_fd, 0);
  if (mapping == MAP_FAILED) return fail("map");
  // Present before watching and before reading the starting position: a
  // committer that finds no other listener committed before this engine
  // counted itself, hence before it reads that position, so nothing is lost.
  // The count is a fast hint; the lock confirms it (a crashed process's
  // count stays, its lock goes).
  struct flock presence {};
  presence.l_type = F_RDLCK;
  presence.l_whence = SEEK_SET;
  presence.l_start = 0;
  presence.l_len = 1;
  if (::fcntl(file_fd, F_OFD_SETLK, &presence) != 0) return fail("lock");
  listeners_at(mapping).fetch_add(1, std::memory_order_seq_cst);
  inotify_fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd < 0 ||
      ::inotify_add_watch(inotify_fd, path.c_str(), IN_MODIFY) < 0) {
    listeners_at(mapping).fetch_sub(1, std::memory_order_seq_cst);
    return fail("watch with inotify");
  }
  std::unique_ptr<commit_signal> s(new commit_signal(
      io, file_fd, mapping, inotify_fd, std::move(on_signal)));
  s->arm();
  return s;
}

commit_signal::commit_signal(boost::asio::io_context& io, int file_fd,
                             void* mapping, int inotify_fd,
                             std::function<void()> on_signal)
    : file_fd_(file_fd),
      mapping_(mapping),
      inotify_(io, inotify_fd),
      on_signal_(std::move(on_signal)) {}

commit_signal::~commit_signal() {
  boost::system::error_code ignored;
  inotify_.close(ignored);
  listeners_at(mapping_).fetch_sub(1, std::memory_order_seq_cst);
  ::munmap(mapping_, file_size);
  ::close(file_fd_);
}

bool commit_signal::others_listening() const noexcept {
  // The count first: alone (the common case), no system call at all. The
  // fence orders the commit just made before the load: a listener whose
  // count this load misses reads its starting position after the commit.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (listeners_at(mapping_).load(std::memory_order_seq_cst) <= 1) {
    return false;
  }
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
