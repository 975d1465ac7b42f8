#include "store/map_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <utility>

namespace jobstate::store {
namespace {

std::string reason(int e) { return std::strerror(e); }

// statfs(2) f_type of the copy-on-write file systems.
constexpr long btrfs_magic = 0x9123683E;
constexpr long zfs_magic = 0x2FC12FC1;
constexpr long bcachefs_magic = 0xCA451A4E;

}  // namespace

result<map_file> map_file::open(const std::string& directory) {
  const std::string path = directory + "/data.mdb";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int e = errno;
    return error(errc::io_error, "cannot open " + path + ": " + reason(e));
  }
  return map_file(fd);
}

map_file::map_file(map_file&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)) {}

map_file& map_file::operator=(map_file&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

map_file::~map_file() {
  if (fd_ >= 0) ::close(fd_);
}

map_file::lock::lock(lock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)) {}

map_file::lock& map_file::lock::operator=(lock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::flock(fd_, LOCK_UN);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

map_file::lock::~lock() {
  if (fd_ >= 0) ::flock(fd_, LOCK_UN);
}

result<map_file::lock> map_file::take(int operation) const {
  // flock, not fcntl: closing any descriptor of a file drops the process's
  // fcntl locks on it, and flock locks belong to this descriptor alone.
  int rc = 0;
  do {
    rc = ::flock(fd_, operation);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int e = errno;
    return error(errc::io_error, "cannot lock data.mdb: " + reason(e));
  }
  return lock(fd_);
}

result<map_file::lock> map_file::lock_exclusively() const {
  return take(LOCK_EX);
}

result<map_file::lock> map_file::lock_shared() const { return take(LOCK_SH); }

result<std::uint64_t> map_file::size() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    const int e = errno;
    return error(errc::io_error, "cannot examine data.mdb: " + reason(e));
  }
  return static_cast<std::uint64_t>(st.st_size);
}

bool map_file::reservation_holds() const {
  struct statfs fs {};
  if (::fstatfs(fd_, &fs) != 0) return false;
  const long type = static_cast<long>(fs.f_type);
  return type != btrfs_magic && type != zfs_magic && type != bcachefs_magic;
}

result<void> map_file::reserve(std::uint64_t bytes, std::uint64_t keep) const {
  int rc = 0;
  do {
    rc = ::fallocate(fd_, 0, 0, static_cast<off_t>(bytes));
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) return {};
  const int e = errno;
  // A file system may keep the blocks it found before running out, and the
  // length it reached: give them back.
  if (auto now = size(); now && *now > keep) {
    (void)::ftruncate(fd_, static_cast<off_t>(keep));
  }
  const std::string detail = "cannot reserve " + std::to_string(bytes) +
                             " bytes of disk for data.mdb: " + reason(e);
  if (e == ENOSPC || e == EDQUOT || e == EFBIG) {
    return error(errc::storage_full, detail);
  }
  return error(errc::io_error, detail);
}

}  // namespace jobstate::store
