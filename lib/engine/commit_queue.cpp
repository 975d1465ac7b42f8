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
  support::mutex_lock lock(mutex_);
  if (closing_) return w;
  queue_.push_back(std::move(w));
  wake_.notify_one();
  return nullptr;
}

std::unique_ptr<pending_write> commit_queue::lead(
    std::unique_ptr<pending_write> w) {
  std::vector<std::unique_ptr<pending_write>> batch;
  {
    support::mutex_lock lock(mutex_);
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
  support::mutex_lock lock(mutex_);
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
    support::mutex_lock lock(mutex_);
    closing_ = true;
    wake_.notify_one();
  }
  if (committer_.joinable()) committer_.join();
}

void commit_queue::run() {
  std::vector<std::unique_ptr<pending_write>> batch;
  while (true) {
    {
      support::mutex_lock lock(mutex_);
      while ((queue_.empty() && !closing_) || committing_) wake_.wait(mutex_);
      if (queue_.empty()) return;  // Closing, and everything is committed.
      committing_ = true;
      take_batch(batch);
    }
    commit_batch(batch, committed_by::committer);
    batch.clear();
    support::mutex_lock lock(mutex_);
    committing_ = false;
  }
}

void commit_queue::commit_batch(
    std::vector<std::unique_ptr<pending_write>>& batch, committed_by who) {
  room_state room;
  const auto began = clock::now();
  for (int attempt = 1;; ++attempt) {
    const bool may_ask_room = attempt < max_attempts;
    const auto needed = try_commit(batch, who, began, may_ask_room);
    if (!needed) return;
    // The write transaction has ended: the map may be resized now. When no
    // room can be made, the next attempt commits what fits.
    if (!make_room(*needed, room)) {
      try_commit(batch, who, began, /*may_ask_room=*/false);
      return;
    }
  }
}

std::optional<commit_queue::room_request> commit_queue::try_commit(
    std::vector<std::unique_ptr<pending_write>>& batch, committed_by who,
    clock::time_point began, bool may_ask_room) {
  const timestamp now = model::now();
  auto w = store_.begin_write();
  if (!w) {
    for (auto& p : batch) p->finish(&w.error());
    return std::nullopt;
  }
  bool full = false;
  room_request needed;
  // A lone mutation needs no savepoint (an LMDB nested transaction, a
  // noticeable part of a small commit's cost): if it fails, the whole
  // transaction is abandoned instead.
  const bool alone = batch.size() == 1;
  bool alone_failed = false;
  for (auto& p : batch) {
    auto applied = alone ? p->apply(*w, now) : apply_in_savepoint(*w, *p, now);
    if (!applied && applied.code() == errc::storage_full) {
      full = true;
      needed.for_purge = needed.for_purge || p->frees_space();
    }
    alone_failed = alone && !applied;
  }
  // A full map: end the transaction (LMDB resizes only with none active)
  // and ask for room; the whole batch runs again. Past the limit, the
  // mutations that did not fit fail alone with storage_full and the others
  // commit.
  if (full && may_ask_room) {
    w->abort();
    return needed;
  }
  if (alone_failed) {
    // Nothing of it may commit; its outcome is its own error.
    w->abort();
    batch.front()->finish(nullptr);
    return std::nullopt;
  }
  if (!w->changes().empty()) trim_feed(*w, now);
  auto committed = w->commit();
  if (!committed && committed.code() == errc::storage_full && may_ask_room) {
    return needed;  // Writing the meta or free pages found the map full.
  }
  if (!committed) {
    for (auto& p : batch) p->finish(&committed.error());
    return std::nullopt;
  }
  const auto durable = clock::now();
  last_durable_.store(durable.time_since_epoch().count(),
                      std::memory_order_relaxed);
  stats_.record(durable - began, w->changes());
  // Waiters first, then the writers: both only after the commit is
  // durable, and a waiter's wake-up does not queue behind the writers' own
  // wake-ups (on a busy machine, each can cost a time slice).
  if (listener_ && !w->changes().empty()) listener_(w->changes(), who);
  for (auto& p : batch) p->finish(nullptr);
  return std::nullopt;
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

bool commit_queue::make_room(const room_request& needed, room_state& room) {
  if (store_.can_grow()) {
    auto grew = store_.grow();
    return grew && *grew;
  }
  // At the limit. Pages freed by the last commit (a purge, say) become
  // reusable only two transactions after it: one empty commit makes them
  // available to the retry.
  if (!room.recycled) {
    room.recycled = true;
    if (store_.advance_transaction_id()) return true;
  }
  if (needed.for_purge && !room.headroom_granted) {
    room.headroom_granted = true;
    return static_cast<bool>(store_.grow_for_purge(purge_headroom));
  }
  return false;
}

}  // namespace jobstate::engine_detail
