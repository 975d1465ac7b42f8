// The mutex, lock and condition variable of lib/: std::mutex and
// std::condition_variable with the annotations clang's thread-safety
// analysis needs. libstdc++'s std::mutex carries no capability attribute,
// so the analysis cannot see it; these thin wrappers (leveldb's port::Mutex,
// MutexLock and CondVar) can, and cost nothing at run time.
//
// Waiting takes the mutex itself rather than a lock object, and its callers
// test their condition in a loop: a predicate lambda would be analysed as a
// function of its own, which does not hold the mutex.
#ifndef JOBSTATE_SUPPORT_MUTEX_HPP
#define JOBSTATE_SUPPORT_MUTEX_HPP

#include "support/thread_annotations.hpp"

#include <condition_variable>
#include <mutex>

namespace jobstate::support {

class condition_variable;

/// A std::mutex the analysis knows. Meets BasicLockable, so std::unique_lock
/// takes it where a lock must change hands (the analysis does not follow
/// those).
class JOBSTATE_CAPABILITY("mutex") mutex {
 public:
  mutex() = default;
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;

  void lock() JOBSTATE_ACQUIRE() { m_.lock(); }
  void unlock() JOBSTATE_RELEASE() { m_.unlock(); }

 private:
  friend class condition_variable;
  std::mutex m_;
};

/// Holds a mutex from its construction to the end of its scope.
class JOBSTATE_SCOPED_CAPABILITY mutex_lock {
 public:
  explicit mutex_lock(mutex& m) JOBSTATE_ACQUIRE(m) : m_(m) { m_.lock(); }
  ~mutex_lock() JOBSTATE_RELEASE() { m_.unlock(); }
  mutex_lock(const mutex_lock&) = delete;
  mutex_lock& operator=(const mutex_lock&) = delete;

 private:
  mutex& m_;
};

/// A std::condition_variable waited on with a support::mutex held.
class condition_variable {
 public:
  /// Releases `m`, waits for a notification (or a spurious wake-up), and
  /// takes `m` again before returning.
  void wait(mutex& m) JOBSTATE_REQUIRES(m) {
    // Borrows the std::mutex this thread already holds, and gives it back
    // still held.
    std::unique_lock<std::mutex> lock(m.m_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  void notify_one() noexcept { cv_.notify_one(); }
  void notify_all() noexcept { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace jobstate::support

#endif  // JOBSTATE_SUPPORT_MUTEX_HPP
