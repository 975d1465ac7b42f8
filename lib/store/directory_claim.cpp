#include "store/directory_claim.hpp"

#include "support/mutex.hpp"

#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <sys/stat.h>
#include <utility>

namespace jobstate::store {
namespace {

// The directories claimed in this process, and by whom.
struct registry {
  support::mutex mutex;
  std::map<directory_id, const char*> holders JOBSTATE_GUARDED_BY(mutex);
};

registry& the_registry();

// Held across fork(), so that the child's copy is consistent; the child
// starts with no claims: what the parent had open is not open there. The
// mutex is taken in one handler and given back in another, which the
// analysis cannot follow.
void before_fork() JOBSTATE_NO_THREAD_SAFETY_ANALYSIS {
  the_registry().mutex.lock();
}
void after_fork_in_parent() JOBSTATE_NO_THREAD_SAFETY_ANALYSIS {
  the_registry().mutex.unlock();
}
void after_fork_in_child() JOBSTATE_NO_THREAD_SAFETY_ANALYSIS {
  registry& child = the_registry();
  child.holders.clear();
  child.mutex.unlock();
}

registry& the_registry() {
  // Never destroyed: an engine may be closed after static destruction began
  // (one held by a static, or by an interpreter that shuts down last).
  static registry* const r = [] {
    auto* made = new registry;
    ::pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
    return made;
  }();
  return *r;
}

}  // namespace

result<directory_claim> directory_claim::acquire(const std::string& path,
                                                 const char* holder) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int e = errno;
    return error(errc::io_error, "cannot examine " + path + ": " +
                                     std::string(std::strerror(e)));
  }
  if (!S_ISDIR(st.st_mode)) {
    return error(errc::invalid_argument,
                 path +
                     " is not a directory; name a directory for the "
                     "database");
  }
  const directory_id id{st.st_dev, st.st_ino};
  registry& r = the_registry();
  {
    support::mutex_lock lock(r.mutex);
    auto [it, inserted] = r.holders.emplace(id, holder);
    if (!inserted) {
      return error(errc::already_open, "the database in " + path +
                                           " is open in this process by " +
                                           it->second);
    }
  }
  directory_claim claim;
  claim.id_ = id;
  claim.owner_ = ::getpid();
  claim.held_ = true;
  return claim;
}

directory_claim::directory_claim(directory_claim&& other) noexcept
    : id_(other.id_),
      owner_(other.owner_),
      held_(std::exchange(other.held_, false)) {}

directory_claim& directory_claim::operator=(directory_claim&& other) noexcept {
  if (this != &other) {
    release();
    id_ = other.id_;
    owner_ = other.owner_;
    held_ = std::exchange(other.held_, false);
  }
  return *this;
}

directory_claim::~directory_claim() { release(); }

void directory_claim::release() noexcept {
  if (!std::exchange(held_, false)) return;
  // Inherited across fork(): the child's registry never held it, and the
  // directory may since have been claimed there by an environment of its
  // own.
  if (owner_ != ::getpid()) return;
  registry& r = the_registry();
  support::mutex_lock lock(r.mutex);
  r.holders.erase(id_);
}

}  // namespace jobstate::store
