// Pending waits and change-feed watches: the registry that turns committed
// changes into completions on Asio executors. No thread per waiter: a waiter
// is a map entry; one timer on the engine's io_context serves every timeout.
//
// Exactly-once: a subscription is completed by whoever removes it from the
// registry under the mutex (a change, its timeout, its cancellation, or
// shutdown), and completions are delivered outside the lock.
#ifndef JOBSTATE_ENGINE_SUBSCRIPTIONS_HPP
#define JOBSTATE_ENGINE_SUBSCRIPTIONS_HPP

#include <jobstate/async.hpp>

#include "engine/committed_jobs.hpp"
#include "engine/completion.hpp"
#include "store/job_store.hpp"
#include "support/mutex.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

namespace jobstate::engine_detail {

using wait_handler = boost::asio::any_completion_handler<wait_signature>;
using watch_handler = boost::asio::any_completion_handler<watch_signature>;

/// A committed change as waiters judge it.
struct job_change {
  job_id id;
  std::uint64_t sequence = 0;
  job_status status = job_status::pending;
  std::uint64_t revision = 0;
};
/// The changes of a commit (or of the feed), in sequence order.
std::vector<job_change> job_changes_of(
    const std::vector<store::change_record>& records);

class subscriptions : public std::enable_shared_from_this<subscriptions> {
 public:
  /// Timeouts run on `io`'s thread; handlers without an associated executor
  /// complete on `fallback` (see handler_fallback in completion.hpp).
  subscriptions(const store::job_store& store, boost::asio::io_context& io,
                boost::asio::any_io_executor fallback, const limits& lim);

  /// Registers a wait (see async_wait). Never completes it inline.
  void add_wait(job_ref ref, wait_condition condition,
                std::chrono::milliseconds timeout, wait_handler handler);
  /// Registers a watch (see async_watch). Never completes it inline.
  void add_watch(watch_request request, watch_handler handler);

  /// After a commit (here or in another process): these changes committed,
  /// in sequence order. A wait is satisfied by any of them that meets its
  /// condition and committed after the wait began.
  /// `known`, when given, holds the jobs as the commit left them: their
  /// waiters are answered without reading them again.
  void jobs_changed(const std::vector<job_change>& changes,
                    const committed_jobs* known = nullptr);
  /// `ids` changed in ways no longer known (the feed was trimmed past them):
  /// their waits are judged by the jobs as they are now.
  void jobs_to_recheck(const std::vector<job_id>& ids);
  /// After a commit: the change feed grew.
  void feed_changed();
  /// True when nothing is pending: commits can skip notification work.
  bool idle() const noexcept {
    return waits_pending_.load(std::memory_order_acquire) == 0 &&
           watches_pending_.load(std::memory_order_acquire) == 0;
  }
  /// Ids of the jobs with waits pending.
  std::vector<job_id> watched_jobs() const;
  std::size_t waits_pending() const noexcept {
    return waits_pending_.load(std::memory_order_relaxed);
  }
  std::size_t watches_pending() const noexcept {
    return watches_pending_.load(std::memory_order_relaxed);
  }

  /// Completes every pending subscription with operation_aborted; later
  /// ones complete at once with engine_closed. Call on the engine's
  /// destruction, before its io_context stops.
  void shutdown();

 private:
  using clock = std::chrono::steady_clock;
  using deadline_map = std::multimap<clock::time_point, std::uint64_t>;

  struct wait_entry {
    job_id id;
    // The waiter's tenancy: checked on every answer, so a wait in another
    // account or project can never see the job, even when a commit lands
    // between its registration and its first read.
    std::string account_id;
    std::string project_id;
    wait_condition condition = wait_condition::terminal();
    // Changes up to this feed position committed before the wait began (its
    // first read saw their outcome): only later ones may satisfy it.
    std::uint64_t after_sequence = 0;
    pending_handler<wait_handler> handler;
    deadline_map::iterator deadline{};
    bool has_deadline = false;
    bool in_scope(const job& j) const {
      return j.account_id == account_id && j.project_id == project_id;
    }
  };
  struct watch_entry {
    watch_request request;
    pending_handler<watch_handler> handler;
    deadline_map::iterator deadline{};
  };

  // Removal under mutex_: the single point that decides who completes.
  std::optional<wait_entry> take_wait(std::uint64_t key);
  std::optional<watch_entry> take_watch(std::uint64_t key);
  void set_deadline(deadline_map::iterator& slot, std::uint64_t key,
                    clock::time_point when) JOBSTATE_REQUIRES(mutex_);

  void cancel(std::uint64_t key);
  void advance_watch(std::uint64_t key, std::uint64_t examined);
  void rearm_timer();  // on the io thread
  void on_timer();     // on the io thread
  result<wait_result> snapshot(const wait_entry& e, bool timed_out) const;
  // The waits on `changes`' jobs (or on `recheck`, judged by their current
  // state) that are now satisfied, taken from the registry and completed.
  void complete_satisfied(const std::vector<job_change>& changes,
                          const std::vector<job_id>& recheck,
                          const committed_jobs* known);
  // A registered wait's second read: changes that committed between its
  // first read and its registration may have been notified before it was
  // registered; the feed still tells them.
  void catch_up(std::uint64_t key, const job_ref& ref,
                const wait_condition& condition, const job& first,
                std::uint64_t after_sequence);
  result<change_batch> read_feed(const watch_request& r) const;

  const store::job_store& store_;
  boost::asio::io_context& io_;
  const boost::asio::any_io_executor fallback_;
  const limits limits_;
  boost::asio::steady_timer timer_;  // used on the io thread only

  mutable support::mutex mutex_;
  std::uint64_t next_key_ JOBSTATE_GUARDED_BY(mutex_) = 1;
  std::unordered_map<std::uint64_t, wait_entry> waits_
      JOBSTATE_GUARDED_BY(mutex_);
  std::unordered_multimap<job_id, std::uint64_t> by_job_
      JOBSTATE_GUARDED_BY(mutex_);
  std::unordered_map<std::uint64_t, watch_entry> watches_
      JOBSTATE_GUARDED_BY(mutex_);
  deadline_map deadlines_ JOBSTATE_GUARDED_BY(mutex_);
  clock::time_point armed_ JOBSTATE_GUARDED_BY(mutex_) =
      clock::time_point::max();
  bool closed_ JOBSTATE_GUARDED_BY(mutex_) = false;
  std::atomic<std::size_t> waits_pending_{0};
  std::atomic<std::size_t> watches_pending_{0};
};

}  // namespace jobstate::engine_detail

#endif  // JOBSTATE_ENGINE_SUBSCRIPTIONS_HPP
