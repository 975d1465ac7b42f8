#include "engine/commit_queue.hpp"

#include "model/time.hpp"

namespace jobstate::engine_detail {
namespace {

// Each growth doubles the map; a batch that still does not fit after this
// many retries is answered with storage_full.
constexpr int max_attempts = 8;
// Headroom granted past max_map_size to a purge that hit the limit.
constexpr std::uint64_t purge_headroom = std::uint64_t{1} << 20;

}  // namespace

commit_queue::commit_queue(store::job_store& store, const options& opts,
                           commit_listener listener)
    : store_(store),
      max_batch_(opts.max_batch),
      feed_retention_count_(opts.feed_retention_count),
      feed_retention_age_(opts.feed_retention_age),
      listener_(std::move(listener)) {
  committer_ = std::thread([this] { run(); });
}

commit_queue::~commit_queue() { close(); }

std::unique_ptr<pending_write> commit_queue::submit(
    std::unique_ptr<pending_write> w) {
  std::lock_guard lock(mutex_);
  if (closing_) return w;
  queue_.push_back(std::move(w));
  wake_.notify_one();
  return nullptr;
}

std::unique_ptr<pending_write> commit_queue::lead(
    std::unique_ptr<pending_write> w) {
  std::vector<std::unique_ptr<pending_write>> batch;
  {
    std::lock_guard lock(mutex_);
    if (closing_) return w;
    queue_.push_back(std::move(w));
    if (committing_) {
      // The commit under way wakes the committer when it ends.
      return nullptr;
    }
    committing_ = true;
    take_batch(batch);
  }
  commit_batch(batch, committed_by::caller);
  std::lock_guard lock(mutex_);
  committing_ = false;
  if (!queue_.empty() || closing_) wake_.notify_one();
  return nullptr;
}

void commit_queue::take_batch(
    std::vector<std::unique_ptr<pending_write>>& batch) {
  while (!queue_.empty() && batch.size() < max_batch_) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
}

void commit_queue::close() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
    wake_.notify_one();
  }
  if (committer_.joinable()) committer_.join();
}

void commit_queue::run() {
  std::vector<std::unique_ptr<pending_write>> batch;
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(
        lock, [this] { return (!queue_.empty() || closing_) && !committing_; });
    if (queue_.empty()) return;  // Closing, and everything is committed.
    committing_ = true;
    take_batch(batch);
    lock.unlock();
    commit_batch(batch, committed_by::committer);
    batch.clear();
    lock.lock();
    committing_ = false;
  }
}

void commit_queue::commit_batch(
    std::vector<std::unique_ptr<pending_write>>& batch, committed_by who) {
  bool headroom_granted = false;
  const auto began = std::chrono::steady_clock::now();
  for (int attempt = 1;; ++attempt) {
    const timestamp now = model::now();
    auto w = store_.begin_write();
    if (!w) {
      for (auto& p : batch) p->finish(&w.error());
      return;
    }
    bool full = false;
    bool purge_full = false;
    // A lone mutation needs no savepoint (an LMDB nested transaction, a
    // noticeable part of a small commit's cost): if it fails, the whole
    // transaction is abandoned instead.
    const bool alone = batch.size() == 1;
    bool alone_failed = false;
    for (auto& p : batch) {
      auto applied =
          alone ? p->apply(*w, now) : apply_in_savepoint(*w, *p, now);
      if (!applied && applied.code() == errc::storage_full) {
        full = true;
        purge_full = purge_full || p->frees_space();
      }
      alone_failed = alone && !applied;
    }
    // A full map: end the transaction (LMDB resizes only with none active),
    // grow, and run the whole batch again. Past the limit, the mutations that
    // did not fit fail alone with storage_full and the others commit.
    if (!w->changes().empty() && !alone_failed) trim_feed(*w, now);
    const bool may_grow =
        attempt < max_attempts &&
        (store_.can_grow() || (purge_full && !headroom_granted));
    if (alone_failed && !(full && may_grow)) {
      // Nothing of it may commit; its outcome is its own error.
      w->abort();
      batch.front()->finish(nullptr);
      return;
    }
    if (full && may_grow) {
      w->abort();
      if (make_room(purge_full, headroom_granted)) continue;
    }
    auto committed =
        full && may_grow ? result<void>(errc::storage_full) : w->commit();
    if (!committed && committed.code() == errc::storage_full && may_grow &&
        !full && make_room(purge_full, headroom_granted)) {
      continue;
    }
    if (!committed) {
      for (auto& p : batch) p->finish(&committed.error());
      return;
    }
    const auto durable = clock::now();
    last_durable_.store(durable.time_since_epoch().count(),
                        std::memory_order_relaxed);
    stats_.record(durable - began, w->changes());
    // Waiters first, then the writers: both only after the commit is
    // durable, and a waiter's wake-up does not queue behind the writers'
    // own wake-ups (on a busy machine, each can cost a time slice).
    if (listener_ && !w->changes().empty()) listener_(w->changes(), who);
    for (auto& p : batch) p->finish(nullptr);
    return;
  }
}

result<void> commit_queue::apply_in_savepoint(store::write_txn& w,
                                              pending_write& p, timestamp now) {
  auto applied = w.begin_savepoint();
  if (!applied) return applied;
  applied = p.apply(w, now);
  if (!applied) {
    w.rollback_savepoint();
    return applied;
  }
  return w.release_savepoint();
}

void commit_queue::trim_feed(store::write_txn& w, timestamp now) {
  // Trim a little more than was appended, so the feed converges on its
  // retention without any one commit paying for a long backlog. A failure
  // (a full map) only postpones trimming; it must not fail the batch. Most
  // commits have nothing to trim: they skip the savepoint.
  const timestamp cutoff = now - feed_retention_age_;
  if (auto due = w.changes_to_trim(feed_retention_count_, cutoff);
      due && !*due) {
    return;
  }
  if (!w.begin_savepoint()) return;
  const std::size_t budget = 2 * w.changes().size() + 16;
  if (w.trim_changes(feed_retention_count_, cutoff, budget) &&
      w.release_savepoint()) {
    return;
  }
  w.rollback_savepoint();
}

bool commit_queue::make_room(bool purge_full, bool& headroom_granted) {
  if (auto grew = store_.grow(); grew && *grew) return true;
  if (purge_full && !headroom_granted) {
    headroom_granted = true;
    return static_cast<bool>(store_.grow_for_purge(purge_headroom));
  }
  return false;
}

}  // namespace jobstate::engine_detail
