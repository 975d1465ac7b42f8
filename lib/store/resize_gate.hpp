// The gate between the transactions of one process and a resize of its map.
// LMDB resizes a map only while no transaction of the process is active
// (mdb_env_set_mapsize), so every transaction holds a pass through the gate
// and a resize closes it. A resize that is waiting closes the gate to new
// transactions at once: a steady stream of readers cannot starve the growth
// that the writer needs (std::shared_mutex on glibc prefers readers and
// would).
//
// REQUIRES of callers: a thread never holds two passes at once, and never
// resizes while holding one (either would wait on itself for ever).
#ifndef JOBSTATE_STORE_RESIZE_GATE_HPP
#define JOBSTATE_STORE_RESIZE_GATE_HPP

#include "support/mutex.hpp"

#include <utility>

namespace jobstate::store {

class resize_gate {
 public:
  /// Held by a transaction for its whole life. Movable; an empty pass holds
  /// nothing.
  class pass {
   public:
    pass() = default;
    explicit pass(resize_gate& g) noexcept : gate_(&g) {}
    pass(pass&& o) noexcept : gate_(std::exchange(o.gate_, nullptr)) {}
    pass& operator=(pass&& o) noexcept {
      if (this != &o) {
        release();
        gate_ = std::exchange(o.gate_, nullptr);
      }
      return *this;
    }
    ~pass() { release(); }
    /// Gives the pass back early (idempotent).
    void release() noexcept {
      if (gate_ != nullptr) std::exchange(gate_, nullptr)->leave();
    }

   private:
    resize_gate* gate_ = nullptr;
  };

  /// Waits while a resize runs or waits to run, then lets the caller in.
  pass enter() {
    support::mutex_lock lock(mutex_);
    while (resizers_ != 0) changed_.wait(mutex_);
    ++inside_;
    return pass(*this);
  }

  /// Runs `resize()` with no transaction inside: closes the gate to new
  /// ones, waits for those inside to leave, runs it, reopens. Resizes run
  /// one at a time. Returns what `resize()` returns (a value: the callers
  /// return result<T>).
  template <class Resize>
  auto exclusively(Resize&& resize) {
    support::mutex_lock lock(mutex_);
    ++resizers_;
    while (inside_ != 0) changed_.wait(mutex_);
    // Under the mutex: nobody enters or leaves meanwhile (nobody is
    // inside), and the next resize waits its turn. Reopened however
    // resize() ends, or every later transaction would wait for ever.
    try {
      auto done = std::forward<Resize>(resize)();
      reopen();
      return done;
    } catch (...) {
      reopen();
      throw;
    }
  }

 private:
  void leave() noexcept {
    support::mutex_lock lock(mutex_);
    if (--inside_ == 0 && resizers_ > 0) changed_.notify_all();
  }
  void reopen() JOBSTATE_REQUIRES(mutex_) {
    --resizers_;
    changed_.notify_all();
  }

  support::mutex mutex_;
  support::condition_variable changed_;
  int inside_ JOBSTATE_GUARDED_BY(mutex_) = 0;    // passes held
  int resizers_ JOBSTATE_GUARDED_BY(mutex_) = 0;  // resizes running or waiting
};

}  // namespace jobstate::store

#endif  // JOBSTATE_STORE_RESIZE_GATE_HPP
