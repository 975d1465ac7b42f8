#include "engine/claim_waiters.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <utility>

namespace jobstate::engine_detail {

namespace asio = boost::asio;

claim_waiters::claim_waiters(asio::io_context& io,
                             asio::any_io_executor fallback, attempt_fn attempt,
                             claimable_kind_fn claimable_kind,
                             std::function<timestamp()> clock)
    : io_(io),
      fallback_(std::move(fallback)),
      attempt_(std::move(attempt)),
      claimable_kind_(std::move(claimable_kind)),
      clock_(std::move(clock)) {}

void claim_waiters::add(claim_request request, handler h) {
  // Counted before the hop, so that a job created meanwhile is reported.
  active_.fetch_add(1, std::memory_order_acq_rel);
  // On the caller's thread, as every asynchronous operation of the engine
  // does it: the slot is connected, and the handler's work tracked, before
  // the initiating function returns (a cancel emitted from then on counts,
  // and the caller's io_context does not run out of work meanwhile).
  const std::uint64_t key = next_key_.fetch_add(1, std::memory_order_relaxed);
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  auto slot = h.get_cancellation_slot();
  if (slot.is_connected()) {
    slot.assign(
        [weak = weak_from_this(), key, cancelled](asio::cancellation_type) {
          cancelled->store(true, std::memory_order_release);
          if (auto self = weak.lock()) {
            asio::post(self->io_, [self, key] { self->cancel(key); });
          }
        });
  }
  asio::post(
      io_,
      [self = shared_from_this(), key, cancelled, r = std::move(request),
       answer = pending_handler<handler>(std::move(h), fallback_)]() mutable {
        self->start(key, std::move(r), std::move(answer), *cancelled);
      });
}

void claim_waiters::start(std::uint64_t key, claim_request request,
                          pending_handler<handler> answer,
                          const std::atomic<bool>& cancelled) {
  const auto refuse = [&](boost::system::error_code ec) {
    active_.fetch_sub(1, std::memory_order_acq_rel);
    std::move(answer).complete(ec, std::optional<job>{});
  };
  if (closed_) {
    return refuse(
        boost::system::error_code(make_error_code(errc::engine_closed)));
  }
  // Cancelled before it got here (its cancel(key) found no entry).
  if (cancelled.load(std::memory_order_acquire)) {
    return refuse(asio::error::operation_aborted);
  }
  const auto wait = request.wait;
  entry& e = entries_
                 .emplace(key, entry{std::move(request), std::move(answer),
                                     nullptr, nullptr, std::nullopt})
                 .first->second;
  if (wait > std::chrono::milliseconds::zero()) {
    e.deadline = std::make_unique<asio::steady_timer>(io_, wait);
    e.deadline->async_wait(
        [weak = weak_from_this(), key](boost::system::error_code ec) {
          if (auto self = weak.lock(); self && !ec) self->expire(key);
        });
  }
  attempt(key);
}

void claim_waiters::attempt(std::uint64_t key) {
  entry& e = entries_.at(key);
  e.now = state::attempting;
  e.missed_a_job = false;
  attempt_(e.request, [self = shared_from_this(), key](claim_answer a) {
    asio::post(self->io_, [self, key, a = std::move(a)]() mutable {
      self->attempted(key, std::move(a));
    });
  });
}

void claim_waiters::attempted(std::uint64_t key, claim_answer answer) {
  const auto it = entries_.find(key);
  entry& e = it->second;
  if (!answer) {
    // The engine closed under a claim started before: aborted, as a
    // waiting one is (engine_closed is for operations started after).
    if (answer.code() == errc::engine_closed) {
      return finish(it, asio::error::operation_aborted, {});
    }
    return finish(it, boost::system::error_code(answer.error().code()), {});
  }
  if (answer->claimed) {
    if (answer->more_ready) {
      hand_on(key, e, std::nullopt);
    } else if (answer->next_eligible) {
      hand_on(key, e, answer->next_eligible);
    }
    return finish(it, {}, std::move(answer->claimed));
  }
  if (e.cancelled) return finish(it, asio::error::operation_aborted, {});
  if (closed_) return finish(it, asio::error::operation_aborted, {});
  // Stopped early (it ended jobs past their pending_ttl first): look again.
  if (answer->more_ready && !e.timed_out) return attempt(key);
  if (e.missed_a_job && !e.timed_out) return attempt(key);
  if (e.timed_out || !e.deadline) return finish(it, {}, std::nullopt);
  e.now = state::waiting;
  if (answer->next_eligible) sleep_until(e, key, *answer->next_eligible);
}

void claim_waiters::sleep_until(entry& e, std::uint64_t key, timestamp at) {
  // Read again after an hour at most: a steady timer's nanoseconds cannot
  // hold a wait of centuries, and the clock may have been moved.
  const auto delay = std::clamp<timestamp::duration>(
      at - clock_(), timestamp::duration::zero(), std::chrono::hours(1));
  if (!e.eligible) e.eligible = std::make_unique<asio::steady_timer>(io_);
  e.eligible_at = at;
  e.eligible->expires_after(delay);
  e.eligible->async_wait(
      [weak = weak_from_this(), key](boost::system::error_code ec) {
        auto self = weak.lock();
        if (!self || ec) return;
        const auto it = self->entries_.find(key);
        if (it == self->entries_.end()) return;
        it->second.eligible_at.reset();
        if (it->second.now == state::waiting) self->attempt(key);
      });
}

claim_waiters::entries::iterator claim_waiters::next_sleeper(
    std::uint64_t key, const entry& from) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    const entry& e = it->second;
    if (it->first == key || e.now != state::waiting ||
        e.request.account_id != from.request.account_id ||
        e.request.project_id != from.request.project_id) {
      continue;
    }
    const auto& kinds = e.request.kinds;
    for (const std::string& kind : from.request.kinds) {
      if (std::find(kinds.begin(), kinds.end(), kind) != kinds.end()) {
        return it;
      }
    }
  }
  return entries_.end();
}

void claim_waiters::hand_on(std::uint64_t key, const entry& from,
                            std::optional<timestamp> at) {
  const auto next = next_sleeper(key, from);
  if (next == entries_.end()) return;
  entry& e = next->second;
  if (!at) {
    if (e.eligible) e.eligible->cancel();
    e.eligible_at.reset();
    return attempt(next->first);
  }
  // Already woken by then: it hands on in turn.
  if (e.eligible_at && *e.eligible_at <= *at) return;
  sleep_until(e, next->first, *at);
}

void claim_waiters::expire(std::uint64_t key) {
  const auto it = entries_.find(key);
  if (it == entries_.end()) return;
  if (it->second.now == state::waiting) return finish(it, {}, std::nullopt);
  it->second.timed_out = true;  // The attempt under way answers.
}

void claim_waiters::cancel(std::uint64_t key) {
  const auto it = entries_.find(key);
  if (it == entries_.end()) return;
  if (it->second.now == state::waiting) {
    return finish(it, asio::error::operation_aborted, {});
  }
  it->second.cancelled = true;
}

void claim_waiters::finish(entries::iterator it, boost::system::error_code ec,
                           std::optional<job> claimed) {
  // Ending (timed out, cancelled, failed) while woken for a job to come:
  // another claim asleep is woken for it instead.
  if (!claimed && !closed_ && it->second.eligible_at) {
    hand_on(it->first, it->second, it->second.eligible_at);
  }
  entry e = std::move(it->second);
  entries_.erase(it);
  active_.fetch_sub(1, std::memory_order_acq_rel);
  if (e.deadline) e.deadline->cancel();
  if (e.eligible) e.eligible->cancel();
  std::move(e.answer).complete(ec, std::move(claimed));
}

bool claim_waiters::wants(const entry& e, const created& c,
                          const std::string& kind) {
  return e.request.account_id == c.account_id &&
         e.request.project_id == c.project_id &&
         std::find(e.request.kinds.begin(), e.request.kinds.end(), kind) !=
             e.request.kinds.end();
}

void claim_waiters::jobs_created(std::vector<created> jobs) {
  asio::post(io_, [self = shared_from_this(), jobs = std::move(jobs)] {
    for (const created& c : jobs) {
      if (self->entries_.empty()) return;
      // A claim under way in the project may have looked before the job
      // was there: it looks again (without reading the job, so that a big
      // batch costs no read per child once nobody sleeps).
      bool someone_asleep = false;
      for (auto& [key, e] : self->entries_) {
        if (e.request.account_id != c.account_id ||
            e.request.project_id != c.project_id) {
          continue;
        }
        if (e.now == state::attempting) {
          e.missed_a_job = true;
        } else {
          someone_asleep = true;
        }
      }
      if (!someone_asleep) continue;
      // The oldest claim asleep that could take the job wakes for it.
      const auto kind = c.kind ? *c.kind : self->claimable_kind_(c.id);
      if (!kind) continue;
      for (auto& [key, e] : self->entries_) {
        if (e.now == state::waiting && wants(e, c, *kind)) {
          self->attempt(key);
          break;
        }
      }
    }
  });
}

void claim_waiters::recheck_all() {
  asio::post(io_, [self = shared_from_this()] {
    for (auto& [key, e] : self->entries_) {
      if (e.now == state::attempting) {
        e.missed_a_job = true;
      } else {
        self->attempt(key);
      }
    }
  });
}

void claim_waiters::shutdown() {
  closed_ = true;
  for (auto it = entries_.begin(); it != entries_.end();) {
    const auto next = std::next(it);
    if (it->second.now == state::waiting) {
      finish(it, asio::error::operation_aborted, {});
    }
    it = next;
  }
}

}  // namespace jobstate::engine_detail
