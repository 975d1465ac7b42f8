// Group commit: mutations from any number of threads queue here; one
// thread at a time applies as many as are waiting in one LMDB write
// transaction (each computes its effects, then writes them: one that fails
// writes nothing), and acknowledges each after the transaction is durable. A
// lone mutation is committed at once: nobody waits for company.
//
// Who commits: a blocking caller that finds no commit under way commits the
// queue itself (lead()), which spares it two thread hand-offs; otherwise the
// committer thread takes what queued up during the commit in progress.
#ifndef JOBSTATE_ENGINE_COMMIT_QUEUE_HPP
#define JOBSTATE_ENGINE_COMMIT_QUEUE_HPP

#include "engine/commit_stats.hpp"
#include "engine/committed_jobs.hpp"
#include "engine/mutations.hpp"
#include "store/job_store.hpp"
#include "support/mutex.hpp"

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

namespace jobstate::engine_detail {

/// One queued mutation. `apply` may run more than once (a batch is retried
/// after the map grows); `finish` runs exactly once, after the commit.
class pending_write {
 public:
  virtual ~pending_write() = default;
  /// Applies the change inside `w`: computes it, then writes it. An error
  /// before the writes leaves `w` untouched; one during them taints `w`.
  virtual result<void> apply(store::write_txn& w, timestamp now) = 0;
  /// Forgets the outcome of an abandoned attempt, before the next one.
  virtual void forget_outcome() = 0;
  /// Delivers the outcome: the applied result, or `batch_error` when the
  /// transaction as a whole failed to commit.
  virtual void finish(const error* batch_error) = 0;
  /// Replaces a failed outcome's error with `why` (a full map, explained
  /// by why it could not grow: a full disk, say).
  virtual void explain_failure(const error& why) = 0;
  /// Purges may use headroom past the map limit: they free space.
  virtual bool frees_space() const { return false; }
  /// The job this write left, whole, once applied successfully (a
  /// single-job mutation or a create); null for other writes, before or
  /// after that, and when the job was answered without its history.
  virtual const job* written_job() const { return nullptr; }
  /// The job this write answered with, with or without its history, once
  /// applied successfully (a create, a single-job mutation, a claim that
  /// took a job, a heartbeat); null for other writes.
  virtual const job* answered_job() const { return nullptr; }
};

/// A pending_write around a function `result<T>(write_txn&, timestamp)` and
/// a completion `void(result<T>)`.
template <class T, class Apply, class Done>
class write_op final : public pending_write {
 public:
  write_op(Apply apply, Done done, bool frees_space)
      : apply_(std::move(apply)),
        done_(std::move(done)),
        frees_space_(frees_space) {}

  result<void> apply(store::write_txn& w, timestamp now) override {
    outcome_.emplace(apply_(w, now));
    if (!*outcome_) return outcome_->error();
    return {};
  }
  void forget_outcome() override { outcome_.reset(); }
  void explain_failure(const error& why) override {
    if (outcome_ && !*outcome_) outcome_.emplace(why);
  }
  void finish(const error* batch_error) override {
    if (batch_error != nullptr && outcome_ && *outcome_) {
      done_(result<T>(*batch_error));
    } else if (outcome_) {
      done_(std::move(*outcome_));
    } else {
      done_(result<T>(batch_error ? *batch_error : error(errc::io_error)));
    }
  }
  bool frees_space() const override { return frees_space_; }
  const job* written_job() const override {
    if (!outcome_ || !*outcome_) return nullptr;
    // Every job has its "created" event: an empty history was left out
    // (mutation_options::with_history), and a waiter must read the job.
    const auto whole = [](const job& j) {
      return j.history.empty() ? nullptr : &j;
    };
    if constexpr (std::is_same_v<T, job>) {
      return whole(**outcome_);
    } else if constexpr (std::is_same_v<T, created_job>) {
      return whole((*outcome_)->job);
    } else {
      return nullptr;
    }
  }
  const job* answered_job() const override {
    if (!outcome_ || !*outcome_) return nullptr;
    const T& answer = **outcome_;
    if constexpr (std::is_same_v<T, job>) {
      return &answer;
    } else if constexpr (std::is_same_v<T, created_job> ||
                         std::is_same_v<T, heartbeat_result>) {
      return &answer.job;
    } else if constexpr (std::is_same_v<T, claim_found>) {
      return answer.claimed ? &*answer.claimed : nullptr;
    } else {
      return nullptr;
    }
  }

 private:
  Apply apply_;
  Done done_;
  bool frees_space_;
  std::optional<result<T>> outcome_;
};

template <class T, class Apply, class Done>
std::unique_ptr<pending_write> make_write(Apply apply, Done done,
                                          bool frees_space = false) {
  return std::make_unique<write_op<T, Apply, Done>>(
      std::move(apply), std::move(done), frees_space);
}

class commit_queue {
 public:
  /// Which thread made a commit: the committer, or a blocking caller in
  /// lead(), which must not run other operations' handlers.
  enum class committed_by { committer, caller };
  /// Called on the committing thread after each successful commit with the
  /// changes it made durable (in sequence order) and the jobs as the batch's
  /// writes left them, before the writers of the batch are acknowledged.
  using commit_listener =
      std::function<void(const std::vector<store::change_record>&, committed_by,
                         const committed_jobs&)>;

  commit_queue(store::job_store& store, const options& opts,
               commit_listener listener);
  /// Commits what is queued, then stops the committer.
  ~commit_queue();

  /// Queues `w` and returns null; after close(), refuses it: returns it
  /// unfinished, for the caller to finish outside any lock it holds.
  [[nodiscard]] std::unique_ptr<pending_write> submit(
      std::unique_ptr<pending_write> w);
  /// As submit(), but when no commit is under way the calling thread
  /// commits the queue (`w` included) before returning. For callers that
  /// block until `w` is durable anyway: never from an Asio handler.
  [[nodiscard]] std::unique_ptr<pending_write> lead(
      std::unique_ptr<pending_write> w);
  /// Commits everything queued so far and stops accepting more.
  void close();

  using clock = std::chrono::steady_clock;
  /// When the latest commit became durable: read from a write's completion,
  /// it is that write's commit (for latency measurements).
  clock::time_point last_durable() const noexcept {
    return clock::time_point(
        clock::duration(last_durable_.load(std::memory_order_relaxed)));
  }
  /// Latency and step counters of the commits made so far.
  const commit_stats& stats() const noexcept { return stats_; }

 private:
  void run();
  /// Moves up to max_batch_ queued writes into `batch`.
  void take_batch(std::vector<std::unique_ptr<pending_write>>& batch)
      JOBSTATE_REQUIRES(mutex_);
  // What one batch has learnt and been granted over its attempts.
  struct batch_state {
    explicit batch_state(std::size_t size) : dropped(size, false) {}
    std::vector<bool> dropped;  // Failed part-way through a write: left out.
    /// Whether a write not dropped frees space (a purge).
    bool any_frees_space(
        const std::vector<std::unique_ptr<pending_write>>& batch) const;
    bool skip_trim = false;  // Trimming the feed failed part-way.
    bool for_purge = false;  // A purge (which frees space) did not fit.
    bool recycled = false;   // advance_transaction_id() ran.
    bool headroom_granted = false;
    /// Why the map could not grow, when growing it failed.
    std::optional<error> growth_error;
  };
  enum class attempt_outcome {
    done,                   // Every write is finished.
    need_room,              // The map is full: make room, then run again.
    retry_without_dropped,  // Run again, leaving out what state drops.
  };

  void commit_batch(std::vector<std::unique_ptr<pending_write>>& batch,
                    committed_by who);
  /// One attempt in one write transaction, ended before this returns.
  attempt_outcome try_commit(std::vector<std::unique_ptr<pending_write>>& batch,
                             batch_state& state, committed_by who,
                             clock::time_point began, bool may_ask_room);
  /// False when trimming tainted the transaction.
  bool trim_feed(store::write_txn& w, timestamp now);
  /// Grows the map, makes freed pages reusable, or grants a purge its
  /// headroom, in that order; false when none is left to try.
  /// REQUIRES: no transaction alive in the calling thread.
  bool make_room(batch_state& room);

  store::job_store& store_;
  const std::size_t max_batch_;
  const std::uint64_t feed_retention_count_;
  const std::chrono::seconds feed_retention_age_;
  // options::clock: what each batch is stamped with (empty: model::now).
  const std::function<timestamp()> clock_;
  commit_listener listener_;
  commit_stats stats_;

  support::mutex mutex_;
  support::condition_variable wake_;
  std::deque<std::unique_ptr<pending_write>> queue_ JOBSTATE_GUARDED_BY(mutex_);
  bool closing_ JOBSTATE_GUARDED_BY(mutex_) = false;
  bool committing_ JOBSTATE_GUARDED_BY(mutex_) = false;
  std::atomic<clock::rep> last_durable_{0};
  // The change log's oldest entry as trim_feed last read it (see there).
  // Used by whichever thread commits, one at a time (committing_).
  std::optional<store::change_position> oldest_change_;
  std::thread committer_;
};

}  // namespace jobstate::engine_detail

#endif  // JOBSTATE_ENGINE_COMMIT_QUEUE_HPP
