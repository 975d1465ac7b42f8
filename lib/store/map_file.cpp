#include "store/map_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sys/file.h>
#include <sys/stat.h>
#include <utility>

namespace jobstate::store {
namespace {

std::string reason(int e) { return std::strerror(e); }

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

map_file::resize_lock::resize_lock(int fd) noexcept : fd_(fd) {
  // flock, not fcntl: closing any descriptor of a file drops the process's
  // fcntl locks on it, and flock locks belong to this descriptor alone.
  while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
  }
}

map_file::resize_lock::~resize_lock() { ::flock(fd_, LOCK_UN); }

result<std::uint64_t> map_file::size() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    const int e = errno;
    return error(errc::io_error, "cannot examine data.mdb: " + reason(e));
  }
  return static_cast<std::uint64_t>(st.st_size);
}

result<void> map_file::reserve(std::uint64_t bytes) const {
  int rc = 0;
  do {
    rc = ::fallocate(fd_, 0, 0, static_cast<off_t>(bytes));
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) return {};
  const int e = errno;
  const std::string detail = "cannot reserve " + std::to_string(bytes) +
                             " bytes of disk for data.mdb: " + reason(e);
  if (e == ENOSPC || e == EDQUOT || e == EFBIG) {
    return error(errc::storage_full, detail);
  }
  return error(errc::io_error, detail);
}

}  // namespace jobstate::store
