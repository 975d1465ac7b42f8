#include "engine/subscriptions.hpp"

#include "engine/completion.hpp"
#include "engine/mutations.hpp"
#include "model/validation.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <limits>

namespace jobstate::engine_detail {
namespace {

namespace asio = boost::asio;

// Most changes examined to answer one watch: bounds the work a filtered
// watch can cost a commit.
constexpr std::size_t feed_scan_limit = 65536;
constexpr std::size_t max_watch_limit = 10000;

change to_change(store::change_record&& c) {
  return change{c.sequence,
                c.at,
                c.id,
                std::move(c.account_id),
                std::move(c.project_id),
                c.status,
                c.revision,
                std::move(c.step)};
}

const boost::system::error_code aborted = asio::error::operation_aborted;

// now + timeout, saturating: a timeout of centuries means no timeout, not
// an overflow that fires at once.
std::chrono::steady_clock::time_point deadline_after(
    std::chrono::milliseconds timeout) {
  const auto now = std::chrono::steady_clock::now();
  const auto room = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::time_point::max() - now);
  return timeout >= room ? std::chrono::steady_clock::time_point::max()
                         : now + timeout;
}

}  // namespace

subscriptions::subscriptions(const store::job_store& store,
                             asio::io_context& io,
                             asio::any_io_executor fallback, const limits& lim)
    : store_(store),
      io_(io),
      fallback_(std::move(fallback)),
      limits_(lim),
      timer_(io) {}

// ------------------------------------------------------------------ waits

void subscriptions::add_wait(job_ref ref, wait_condition condition,
                             std::chrono::milliseconds timeout,
                             wait_handler handler) {
  // Answers known at once still go through the io_context: the handler must
  // never run inside the initiating function.
  auto answer_later = [this](wait_handler h, result<wait_result> r) {
    deliver_later(io_, fallback_, std::move(h), std::move(r));
  };
  if (auto v = model::validate_scope(ref.account_id, ref.project_id, limits_);
      !v || ref.id.is_nil()) {
    return answer_later(
        std::move(handler),
        v ? error(errc::invalid_argument, "nil job id") : v.error());
  }

  // A zero timeout is a plain read.
  if (timeout <= std::chrono::milliseconds::zero()) {
    auto txn = store_.begin_read();
    if (!txn) return answer_later(std::move(handler), txn.error());
    auto j = load(*txn, ref);
    if (!j) return answer_later(std::move(handler), j.error());
    const bool holds = condition.satisfied_by(*j);
    const std::uint64_t satisfied = holds ? j->revision : 0;
    return answer_later(std::move(handler),
                        wait_result{std::move(*j), !holds, satisfied});
  }

  // Read first, noting the feed position the job is current at; then
  // register to be judged on every later change; then catch up with the
  // changes that committed in between (their notifications may have gone
  // out before the registration).
  job j0;
  std::uint64_t read_at = 0;  // The feed position j0 is current at.
  {
    auto txn = store_.begin_read();
    if (!txn) return answer_later(std::move(handler), txn.error());
    auto position = txn->last_sequence();
    if (!position) return answer_later(std::move(handler), position.error());
    auto j = load(*txn, ref);
    if (!j) return answer_later(std::move(handler), j.error());
    j0 = std::move(*j);
    read_at = *position;
  }
  if (condition.satisfied_by(j0)) {
    const std::uint64_t revision = j0.revision;
    return answer_later(std::move(handler),
                        wait_result{std::move(j0), false, revision});
  }

  std::uint64_t key;
  bool rearm = false;
  {
    support::mutex_lock lock(mutex_);
    if (closed_) {
      answer_later(std::move(handler),
                   error(errc::engine_closed, "the engine is closing"));
      return;
    }
    key = next_key_++;
    auto slot = handler.get_cancellation_slot();
    if (slot.is_connected()) {
      slot.assign([weak = weak_from_this(), key](asio::cancellation_type) {
        if (auto self = weak.lock()) self->cancel(key);
      });
    }
    // Constructed in place: Boost 1.81's any_completion_handler move
    // assignment recurses without end, so handlers are only ever
    // move-constructed.
    wait_entry& e =
        waits_
            .emplace(key,
                     wait_entry{ref.id, ref.account_id, ref.project_id,
                                condition, read_at,
                                pending_handler(std::move(handler), fallback_)})
            .first->second;
    if (timeout != wait_forever) {
      const auto when = deadline_after(timeout);
      set_deadline(e.deadline, key, when);
      e.has_deadline = true;
      if (when < armed_) {
        armed_ = when;
        rearm = true;
      }
    }
    by_job_.emplace(ref.id, key);
    waits_pending_.fetch_add(1, std::memory_order_release);
  }
  if (rearm)
    asio::post(io_, [self = shared_from_this()] { self->rearm_timer(); });
  catch_up(key, ref, condition, j0, read_at);
}

void subscriptions::catch_up(std::uint64_t key, const job_ref& ref,
                             const wait_condition& condition, const job& first,
                             std::uint64_t after_sequence) {
  auto txn = store_.begin_read();
  result<job> now = txn ? load(*txn, ref) : result<job>(txn.error());
  std::optional<std::uint64_t> satisfied;
  if (now && now->revision != first.revision) {
    // The job changed since the first read: look at each change, oldest
    // first, for a state that met the condition and is gone already.
    const store::change_filter filter{ref.account_id, ref.project_id};
    auto page = txn->read_changes(after_sequence,
                                  std::numeric_limits<std::size_t>::max(),
                                  filter, feed_scan_limit);
    if (page) {
      for (const auto& c : page->changes) {
        if (c.id == ref.id && condition.satisfied_by(c.status, c.revision)) {
          satisfied = c.revision;
          break;
        }
      }
    }
    if (!satisfied && condition.satisfied_by(*now)) satisfied = now->revision;
  }
  if (now && !satisfied) return;  // Registered: a later change answers.
  if (auto e = take_wait(key)) {
    complete_later(io_, std::move(e->handler),
                   now ? result<wait_result>(
                             wait_result{std::move(*now), false, *satisfied})
                       : result<wait_result>(now.error()));
  }
}

std::optional<subscriptions::wait_entry> subscriptions::take_wait(
    std::uint64_t key) {
  support::mutex_lock lock(mutex_);
  auto it = waits_.find(key);
  if (it == waits_.end()) return std::nullopt;
  wait_entry e = std::move(it->second);
  waits_.erase(it);
  auto [first, last] = by_job_.equal_range(e.id);
  for (auto b = first; b != last; ++b) {
    if (b->second == key) {
      by_job_.erase(b);
      break;
    }
  }
  if (e.has_deadline) deadlines_.erase(e.deadline);
  waits_pending_.fetch_sub(1, std::memory_order_release);
  return e;
}

result<wait_result> subscriptions::snapshot(const wait_entry& e,
                                            bool timed_out) const {
  auto txn = store_.begin_read();
  if (!txn) return txn.error();
  auto j = load(*txn, job_ref{e.account_id, e.project_id, e.id});
  if (!j) return j.error();
  return wait_result{std::move(*j), timed_out, 0};
}

std::vector<job_change> job_changes_of(
    const std::vector<store::change_record>& records) {
  std::vector<job_change> out;
  out.reserve(records.size());
  for (const auto& c : records) {
    out.push_back(job_change{c.id, c.sequence, c.status, c.revision});
  }
  return out;
}

void subscriptions::jobs_changed(const std::vector<job_change>& changes,
                                 const committed_jobs* known) {
  complete_satisfied(changes, {}, known);
}

void subscriptions::jobs_to_recheck(const std::vector<job_id>& ids) {
  complete_satisfied({}, ids, nullptr);
}

void subscriptions::complete_satisfied(const std::vector<job_change>& changes,
                                       const std::vector<job_id>& recheck,
                                       const committed_jobs* known) {
  if (waits_pending_.load(std::memory_order_acquire) == 0) return;
  // The changes of each job that has waiters, oldest first.
  std::unordered_map<job_id, std::vector<const job_change*>> watched;
  {
    support::mutex_lock lock(mutex_);
    for (const job_change& c : changes) {
      if (by_job_.count(c.id) != 0) watched[c.id].push_back(&c);
    }
    for (const job_id& id : recheck) {
      if (by_job_.count(id) != 0) watched.try_emplace(id);
    }
  }
  if (watched.empty()) return;

  // Read outside the lock, decide under it, deliver outside it. A job the
  // commit holds in memory as it left it needs no read.
  std::vector<std::pair<job_id, result<job>>> read;
  std::vector<std::pair<job_id, const job*>> in_memory;
  for (const auto& [id, job_changes] : watched) {
    if (const job* j = known != nullptr ? known->find(id) : nullptr) {
      in_memory.emplace_back(id, j);
    } else {
      read.emplace_back(id, error(errc::not_found, "not read yet"));
    }
  }
  if (!read.empty()) {
    auto txn = store_.begin_read();
    if (!txn) return;  // The waiters stay; a later change or timeout answers.
    for (auto& [id, j] : read) j = load_by_id(*txn, id);
  }
  std::vector<std::pair<job_id, result<const job*>>> snapshots;
  snapshots.reserve(watched.size());
  for (const auto& [id, j] : in_memory) snapshots.emplace_back(id, j);
  for (const auto& [id, j] : read) {
    if (j) {
      snapshots.emplace_back(id, &*j);
    } else {
      snapshots.emplace_back(id, j.error());
    }
  }
  // Entries leave the registry whole: their handlers carry their tracked
  // work to the handler's executor, or run() could return in between.
  std::vector<std::pair<wait_entry, result<wait_result>>> ready;
  {
    support::mutex_lock lock(mutex_);
    for (auto& [id, found] : snapshots) {
      const auto& job_changes = watched[id];
      auto [first, last] = by_job_.equal_range(id);
      for (auto b = first; b != last;) {
        auto w = waits_.find(b->second);
        wait_entry& e = w->second;
        std::optional<result<wait_result>> answer;
        if (!found) {
          answer.emplace(found.error());
        } else if (const job& j = **found; !e.in_scope(j)) {
          answer.emplace(error(errc::not_found, "job " + id.to_string()));
        } else {
          std::optional<std::uint64_t> satisfied;
          for (const job_change* c : job_changes) {
            if (c->sequence > e.after_sequence &&
                e.condition.satisfied_by(c->status, c->revision)) {
              satisfied = c->revision;
              break;
            }
          }
          // The job as it is now was committed after the wait began (its
          // first read would have answered otherwise).
          if (!satisfied && e.condition.satisfied_by(j)) satisfied = j.revision;
          if (satisfied) answer.emplace(wait_result{j, false, *satisfied});
        }
        if (!answer) {
          ++b;
          continue;
        }
        if (e.has_deadline) deadlines_.erase(e.deadline);
        ready.emplace_back(std::move(e), std::move(*answer));
        waits_.erase(w);
        b = by_job_.erase(b);
        waits_pending_.fetch_sub(1, std::memory_order_release);
      }
    }
  }
  for (auto& [e, r] : ready)
    hand_over_result(io_, std::move(e.handler), std::move(r));
}

std::vector<job_id> subscriptions::watched_jobs() const {
  support::mutex_lock lock(mutex_);
  std::vector<job_id> ids;
  ids.reserve(by_job_.size());
  for (const auto& [id, key] : by_job_) ids.push_back(id);
  return ids;
}

// ---------------------------------------------------------------- watches

result<change_batch> subscriptions::read_feed(const watch_request& r) const {
  auto txn = store_.begin_read();
  if (!txn) return txn.error();
  const store::change_filter filter{r.account_id, r.project_id};
  auto page = txn->read_changes(r.after, r.limit, filter, feed_scan_limit);
  if (!page) return page.error();
  change_batch batch;
  batch.last_sequence = page->last_examined;
  batch.changes.reserve(page->changes.size());
  for (auto& c : page->changes)
    batch.changes.push_back(to_change(std::move(c)));
  return batch;
}

void subscriptions::add_watch(watch_request request, watch_handler handler) {
  auto answer_later = [this](watch_handler h, result<change_batch> r) {
    deliver_later(io_, fallback_, std::move(h), std::move(r));
  };
  if (request.project_id && !request.account_id) {
    return answer_later(std::move(handler),
                        error(errc::invalid_argument,
                              "a watch's project_id filter needs its "
                              "account_id: projects are named per account"));
  }
  if (request.limit == 0 || request.limit > max_watch_limit) {
    return answer_later(
        std::move(handler),
        error(errc::invalid_argument,
              "watch limit must be 1 to " + std::to_string(max_watch_limit)));
  }
  std::uint64_t key;
  bool rearm = false;
  {
    support::mutex_lock lock(mutex_);
    if (closed_) {
      answer_later(std::move(handler),
                   error(errc::engine_closed, "the engine is closing"));
      return;
    }
    key = next_key_++;
    auto slot = handler.get_cancellation_slot();
    if (slot.is_connected()) {
      slot.assign([weak = weak_from_this(), key](asio::cancellation_type) {
        if (auto self = weak.lock()) self->cancel(key);
      });
    }
    const auto when = deadline_after(request.bookmark_after);
    watch_entry& e =
        watches_
            .emplace(key,
                     watch_entry{request, pending_handler(std::move(handler),
                                                          fallback_)})
            .first->second;
    set_deadline(e.deadline, key, when);
    if (when < armed_) {
      armed_ = when;
      rearm = true;
    }
    watches_pending_.fetch_add(1, std::memory_order_release);
  }
  if (rearm)
    asio::post(io_, [self = shared_from_this()] { self->rearm_timer(); });

  auto batch = read_feed(request);
  if (!batch || !batch->changes.empty()) {
    if (auto e = take_watch(key)) {
      complete_later(io_, std::move(e->handler), std::move(batch));
    }
  } else {
    advance_watch(key, batch->last_sequence);
  }
}

std::optional<subscriptions::watch_entry> subscriptions::take_watch(
    std::uint64_t key) {
  support::mutex_lock lock(mutex_);
  auto it = watches_.find(key);
  if (it == watches_.end()) return std::nullopt;
  watch_entry e = std::move(it->second);
  watches_.erase(it);
  deadlines_.erase(e.deadline);
  watches_pending_.fetch_sub(1, std::memory_order_release);
  return e;
}

void subscriptions::advance_watch(std::uint64_t key, std::uint64_t examined) {
  // Nothing matched up to `examined`: never scan those changes again, so a
  // filtered watch costs each commit only the new changes.
  support::mutex_lock lock(mutex_);
  if (auto it = watches_.find(key); it != watches_.end()) {
    it->second.request.after = std::max(it->second.request.after, examined);
  }
}

void subscriptions::feed_changed() {
  if (watches_pending_.load(std::memory_order_acquire) == 0) return;
  std::vector<std::pair<std::uint64_t, watch_request>> pending;
  {
    support::mutex_lock lock(mutex_);
    for (const auto& [key, e] : watches_) pending.emplace_back(key, e.request);
  }
  for (const auto& [key, request] : pending) {
    auto batch = read_feed(request);
    if (batch && batch->changes.empty()) {
      advance_watch(key, batch->last_sequence);
      continue;
    }
    if (auto e = take_watch(key)) {
      hand_over_result(io_, std::move(e->handler), std::move(batch));
    }
  }
}

// ------------------------------------------------- timeouts and shutdown

void subscriptions::set_deadline(deadline_map::iterator& slot,
                                 std::uint64_t key, clock::time_point when) {
  slot = deadlines_.emplace(when, key);
}

void subscriptions::cancel(std::uint64_t key) {
  // Answered from the io thread: the caller may be emitting from inside the
  // handler's executor. The handler travels with its work tracked.
  if (auto w = take_wait(key)) {
    asio::post(io_, [h = std::move(w->handler)]() mutable {
      std::move(h).complete(aborted, wait_result{});
    });
  } else if (auto c = take_watch(key)) {
    asio::post(io_, [h = std::move(c->handler)]() mutable {
      std::move(h).complete(aborted, change_batch{});
    });
  }
}

void subscriptions::rearm_timer() {
  clock::time_point next;
  {
    support::mutex_lock lock(mutex_);
    next = deadlines_.empty() ? clock::time_point::max()
                              : deadlines_.begin()->first;
    armed_ = next;
  }
  if (next == clock::time_point::max()) {
    timer_.cancel();
    return;
  }
  timer_.expires_at(next);
  timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    if (ec) return;  // Re-armed or shut down.
    if (auto self = weak.lock()) self->on_timer();
  });
}

void subscriptions::on_timer() {
  std::vector<std::uint64_t> due;
  {
    support::mutex_lock lock(mutex_);
    const auto now = clock::now();
    for (auto it = deadlines_.begin();
         it != deadlines_.end() && it->first <= now; ++it) {
      due.push_back(it->second);
    }
  }
  for (std::uint64_t key : due) {
    if (auto w = take_wait(key)) {
      auto answer = snapshot(*w, /*timed_out=*/true);
      std::move(w->handler).complete_result(std::move(answer));
    } else if (auto c = take_watch(key)) {
      // A bookmark: nothing matched, but the position moves on.
      std::move(c->handler).complete_result(read_feed(c->request));
    }
  }
  rearm_timer();
}

void subscriptions::shutdown() {
  std::vector<wait_entry> waits;
  std::vector<watch_entry> watches;
  {
    support::mutex_lock lock(mutex_);
    closed_ = true;
    for (auto& [key, e] : waits_) waits.push_back(std::move(e));
    for (auto& [key, e] : watches_) watches.push_back(std::move(e));
    waits_.clear();
    by_job_.clear();
    watches_.clear();
    deadlines_.clear();
    waits_pending_.store(0, std::memory_order_release);
    watches_pending_.store(0, std::memory_order_release);
  }
  for (auto& e : waits) std::move(e.handler).complete(aborted, wait_result{});
  for (auto& e : watches)
    std::move(e.handler).complete(aborted, change_batch{});
  asio::post(io_, [self = shared_from_this()] { self->timer_.cancel(); });
}

}  // namespace jobstate::engine_detail
