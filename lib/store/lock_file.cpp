#include "store/lock_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>

namespace jobstate::store {
namespace {

error io_error(const std::string& what, int err) {
  return error(errc::io_error, what + ": " + std::strerror(err));
}

// This process's descriptor of the file `target` names, or -1.
result<int> descriptor_of(const struct stat& target) {
  DIR* fds = opendir("/proc/self/fd");
  if (fds == nullptr) return io_error("reading /proc/self/fd", errno);
  int found = -1;
  while (const dirent* entry = readdir(fds)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == dirfd(fds)) continue;
    struct stat st;
    if (fstat(static_cast<int>(fd), &st) == 0 && st.st_dev == target.st_dev &&
        st.st_ino == target.st_ino) {
      found = static_cast<int>(fd);
      break;
    }
  }
  closedir(fds);
  return found;
}

}  // namespace

result<bool> open_in_other_processes(const std::string& directory) {
  const std::string path = directory + "/lock.mdb";
  struct stat target;
  if (stat(path.c_str(), &target) != 0) {
    return io_error("stat " + path, errno);
  }
  auto fd = descriptor_of(target);
  if (!fd) return fd.error();
  if (*fd < 0) {
    return error(errc::io_error, "this process has no descriptor of " + path);
  }
  struct flock probe;
  std::memset(&probe, 0, sizeof probe);
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  probe.l_start = 0;
  probe.l_len = 1;
  // F_GETLK ignores this process's own locks: any lock it reports is
  // another process's.
  if (fcntl(*fd, F_GETLK, &probe) != 0) {
    return io_error("probing the locks of " + path, errno);
  }
  return probe.l_type != F_UNLCK;
}

}  // namespace jobstate::store
