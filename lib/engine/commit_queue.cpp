#include "engine/commit_queue.hpp"

#include "engine/completion.hpp"
#include "model/time.hpp"

#include <algorithm>

namespace jobstate::engine_detail {
namespace {

// Each growth doubles the map; a batch that still does not fit after this
// many retries is answered with storage_full.
constexpr int max_attempts = 8;
// Headroom granted past max_map_size to a purge that hit the limit.
constexpr std::uint64_t purge_headroom = std::uint64_t{1} << 20;

// The batch's jobs as its commit left them. A job's state counts only when
// the write that holds it made the job's last change of the commit (same
// revision): a job changed again later in the batch as a side effect (a
// batch parent's counters, rolled up by a child's write) or purged is read
// instead.
class batch_jobs final : public committed_jobs {
 public:
  batch_jobs(const std::vector<store::change_record>& changes,
             const std::vector<std::unique_ptr<pending_write>>& batch)
      : changes_(changes), batch_(batch) {}

  const job* find(const job_id& id) const override {
    const auto last = std::find_if(changes_.rbegin(), changes_.rend(),
                                   [&](const auto& c) { return c.id == id; });
    if (last == changes_.rend() || last->step == "purged") return nullptr;
    for (auto w = batch_.rbegin(); w != batch_.rend(); ++w) {
      const job* j = (*w)->written_job();
      if (j != nullptr && j->id == id) {
        return j->revision == last->revision ? j : nullptr;
      }
    }
    return nullptr;
  }

  void for_each_answered(
      const std::function<void(const job&)>& f) const override {
    for (const auto& w : batch_) {
      if (const job* j = w->answered_job()) f(*j);
    }
  }

 private:
  const std::vector<store::change_record>& changes_;
  const std::vector<std::unique_ptr<pending_write>>& batch_;
};

}  // namespace

commit_queue::commit_queue(store::job_store& store, const options& opts,
                           commit_listener listener)
    : store_(store),
      max_batch_(opts.max_batch),
      feed_retention_count_(opts.feed_retention_count),
      feed_retention_age_(opts.feed_retention_age),
      clock_(opts.clock),
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
  {
    // The batch may hold other callers' asynchronous writes: their handlers
    // must not run inside this call.
    blocking_call_scope inside;
    commit_batch(batch, committed_by::caller);
  }
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
  batch_state state(batch.size());
  const auto began = clock::now();
  for (int attempt = 1;;) {
    const bool may_ask_room = attempt < max_attempts;
    const auto next = try_commit(batch, state, who, began, may_ask_room);
    if (next == attempt_outcome::done) return;
    if (next == attempt_outcome::retry_without_dropped) continue;
    // The write transaction has ended: the map may be resized now. When no
    // room can be made, the next attempt commits what fits.
    attempt = make_room(state) ? attempt + 1 : max_attempts;
  }
}

bool commit_queue::batch_state::any_frees_space(
    const std::vector<std::unique_ptr<pending_write>>& batch) const {
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (!dropped[i] && batch[i]->frees_space()) return true;
  }
  return false;
}

namespace {

// Whether a mutation that failed without writing may still have left the
// transaction unusable: LMDB puts a transaction into an error state when a
// read meets a damaged page (MDB_CORRUPTED, MDB_PAGE_NOTFOUND: corrupt) or
// fails otherwise (io_error). A damaged record's checksum is also corrupt;
// abandoning the transaction for it only costs one more attempt.
bool may_have_broken_the_transaction(std::error_code code) {
  return code == errc::corrupt || code == errc::io_error;
}

}  // namespace

commit_queue::attempt_outcome commit_queue::try_commit(
    std::vector<std::unique_ptr<pending_write>>& batch, batch_state& state,
    committed_by who, clock::time_point began, bool may_ask_room) {
  const timestamp now = clock_ ? clock_() : model::now();
  // What an abandoned attempt answered does not stand: this one decides.
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (!state.dropped[i]) batch[i]->forget_outcome();
  }
  auto w = store_.begin_write();
  if (!w) {
    for (auto& p : batch) p->finish(&w.error());
    return attempt_outcome::done;
  }
  // Each mutation computes its effects from what the transaction holds
  // (earlier mutations of the batch included) and writes them only when
  // it succeeds, so a mutation that fails writes nothing and needs no
  // savepoint. A write that fails part-way (a full map, an I/O error)
  // leaves the transaction half-written: it is abandoned, and the batch
  // runs again, without that mutation unless room can be made.
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (state.dropped[i]) continue;
    auto& p = *batch[i];
    const auto applied = p.apply(*w, now);
    if (applied ||
        (!w->tainted() && !may_have_broken_the_transaction(applied.code()))) {
      continue;
    }
    w->abort();
    if (applied.code() == errc::storage_full && may_ask_room) {
      state.for_purge = state.any_frees_space(batch);
      return attempt_outcome::need_room;
    }
    state.dropped[i] = true;  // It keeps its error as its outcome,
    if (applied.code() == errc::storage_full && state.growth_error) {
      p.explain_failure(*state.growth_error);  // or the growth's.
    }
    return attempt_outcome::retry_without_dropped;
  }
  if (!w->written()) {
    // Nothing to commit: every mutation failed or found its answer stored
    // (an idempotent create). Their outcomes stand as they are.
    w->abort();
    for (auto& p : batch) p->finish(nullptr);
    return attempt_outcome::done;
  }
  if (!state.skip_trim) {
    if (!trim_feed(*w, now)) {
      // Trimming failed part-way (deleting needs pages too): run the batch
      // again without trimming; the next commit trims instead.
      w->abort();
      state.skip_trim = true;
      return attempt_outcome::retry_without_dropped;
    }
  }
  auto committed = w->commit();
  if (!committed && committed.code() == errc::storage_full && may_ask_room) {
    // Writing the meta or free pages found the map full.
    state.for_purge = state.any_frees_space(batch);
    return attempt_outcome::need_room;
  }
  if (!committed) {
    const error& why =
        committed.code() == errc::storage_full && state.growth_error
            ? *state.growth_error
            : committed.error();
    for (auto& p : batch) p->finish(&why);
    return attempt_outcome::done;
  }
  const auto durable = clock::now();
  last_durable_.store(durable.time_since_epoch().count(),
                      std::memory_order_relaxed);
  stats_.record(durable - began, w->changes());
  // Waiters first, then the writers: both only after the commit is
  // durable, and a waiter's wake-up does not queue behind the writers' own
  // wake-ups (on a busy machine, each can cost a time slice).
  if (listener_ && !w->changes().empty()) {
    listener_(w->changes(), who, batch_jobs(w->changes(), batch));
  }
  for (auto& p : batch) p->finish(nullptr);
  return attempt_outcome::done;
}

bool commit_queue::trim_feed(store::write_txn& w, timestamp now) {
  // Trim a little more than was appended, so the feed converges on its
  // retention without any one commit paying for a long backlog. Most
  // commits have nothing to trim. A read that fails only postpones
  // trimming; false only when a delete failed and tainted the transaction.
  const timestamp cutoff = now - feed_retention_age_;
  // Changes leave the log only from its oldest end, and the oldest left
  // is no older, in sequence or commit time, than the one read last: while
  // that one is not due, none is, and the log need not be read.
  if (oldest_change_ &&
      w.last_appended() - oldest_change_->sequence < feed_retention_count_ &&
      oldest_change_->at >= cutoff) {
    return true;
  }
  oldest_change_.reset();
  if (auto due =
          w.changes_to_trim(feed_retention_count_, cutoff, &oldest_change_);
      !due || !*due) {
    return true;
  }
  const std::size_t budget = 2 * w.changes().size() + 16;
  return w.trim_changes(feed_retention_count_, cutoff, budget) || !w.tainted();
}

bool commit_queue::make_room(batch_state& room) {
  if (store_.can_grow()) {
    auto grew = store_.grow();
    if (!grew) {
      room.growth_error = grew.error();  // A full disk, say: tell callers.
      return false;
    }
    return *grew;
  }
  // At the limit. Pages freed by the last commit (a purge, say) become
  // reusable only two transactions after it: one empty commit makes them
  // available to the retry.
  if (!room.recycled) {
    room.recycled = true;
    if (store_.advance_transaction_id()) return true;
  }
  if (room.for_purge && !room.headroom_granted) {
    room.headroom_granted = true;
    return static_cast<bool>(store_.grow_for_purge(purge_headroom));
  }
  return false;
}

}  // namespace jobstate::engine_detail
