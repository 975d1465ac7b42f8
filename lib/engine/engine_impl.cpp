#include "engine/engine_impl.hpp"

#include "engine/completion.hpp"
#include "model/schedules.hpp"
#include "model/time.hpp"
#include "model/validation.hpp"

#include <boost/asio/post.hpp>

#include <limits>

namespace jobstate {

using namespace engine_detail;

namespace {

// The most watches a blocking caller's commit answers on the caller's own
// thread (each reads the feed); with more pending, the notifier does it.
constexpr std::size_t watches_a_caller_serves = 8;

// The most jobs one expiry pass (one commit) ends.
constexpr std::size_t expiries_per_pass = 256;

// The jobs `changes` created, for the claims waiting for work; with their
// kinds when the commit holds them (`jobs`: this process's own commit).
std::vector<claim_waiters::created> creations(
    const std::vector<store::change_record>& changes,
    const committed_jobs* jobs = nullptr) {
  std::vector<claim_waiters::created> out;
  for (const auto& c : changes) {
    if (c.step != "created") continue;
    claim_waiters::created made{c.id, c.account_id, c.project_id, {}};
    if (const job* j = jobs ? jobs->find(c.id) : nullptr) {
      made.kind = j->status == job_status::pending && !j->is_batch
                      ? claim_waiters::known_kind{j->kind}
                      : claim_waiters::known_kind{std::nullopt};
    }
    out.push_back(std::move(made));
  }
  return out;
}

// Tells `timer` of the soonest time limit this process's commit set: only
// a creation (a pending_ttl), a start or a claim (a run_timeout, a lease)
// may add one sooner than any before (a heartbeat moves its lease later).
// A job the commit wrote without answering it, a retry with a pending_ttl,
// makes it read.
void note_new_limits(const committed_jobs& jobs, expiry_timer& timer) {
  std::optional<timestamp> soonest;
  const auto note = [&](timestamp at) {
    if (!soonest || at < *soonest) soonest = at;
  };
  bool retried = false;
  jobs.for_each_answered([&](const job& j) {
    if (j.lease && j.status == job_status::running) note(j.lease->expires_at);
    if (const auto at = model::deadline(j)) note(*at);
    // Its retry, pending under the same pending_ttl.
    retried = retried || (j.pending_ttl && model::retries(j));
  });
  if (retried) return timer.rescan();
  if (soonest) timer.consider(*soonest);
}

}  // namespace

engine::impl::impl(const jobstate::options& opts,
                   std::unique_ptr<store::job_store> s)
    : opts_(opts),
      store_(std::move(s)),
      executor_(opts.executor
                    ? opts.executor
                    : boost::asio::any_io_executor(handler_io_.get_executor())),
      handler_executor_(handler_fallback(executor_)),
      subs_(std::make_shared<subscriptions>(*store_, io_, handler_executor_,
                                            opts.limits)),
      keep_running_(io_.get_executor()),
      keep_handlers_running_(handler_io_.get_executor()) {
  queue_ = std::make_unique<commit_queue>(
      *store_, opts_, [this](const auto& changes, auto who, const auto& jobs) {
        on_commit(changes, who, jobs);
      });
  expiry_ = std::make_unique<expiry_timer>(
      io_, [this] { return now(); },
      [this]() -> result<std::optional<timestamp>> {
        auto txn = store_->begin_read();
        if (!txn) return txn.error();
        return txn->next_due();
      },
      [this](std::function<void(expiry_timer::pass_outcome)> ended) {
        submit_async<std::size_t>(
            [](store::write_txn& w, timestamp now) {
              return engine_detail::expire_due(w, now, expiries_per_pass);
            },
            [ended = std::move(ended)](result<std::size_t> r) {
              ended(!r ? expiry_timer::pass_outcome::failed
                    : *r == expiries_per_pass
                        ? expiry_timer::pass_outcome::more
                        : expiry_timer::pass_outcome::done);
            });
      });
  claims_ = std::make_shared<claim_waiters>(
      io_, handler_executor_,
      [this](const claim_request& r,
             std::function<void(claim_waiters::claim_answer)> done) {
        submit_async<claim_found>(
            [r, this](store::write_txn& w, timestamp now) {
              return engine_detail::claim(w, r, now, opts_.limits);
            },
            std::move(done));
      },
      [this](const job_id& id) -> std::optional<std::string> {
        auto txn = store_->begin_read();
        if (!txn) return std::nullopt;
        auto j = txn->find(id, /*with_history=*/false);
        if (!j || !*j || (*j)->status != job_status::pending ||
            (*j)->is_batch) {
          return std::nullopt;
        }
        return std::move((*j)->kind);
      },
      [this] { return now(); });
  io_thread_ = std::thread([this] { io_.run(); });
  if (!opts.executor)
    handler_thread_ = std::thread([this] { handler_io_.run(); });
}

engine::impl::~impl() {
  queue_->close();
  // The notifications of commits made by blocking callers wait on the
  // notifier thread: they reach their waiters before the rest are aborted.
  std::promise<void> notified;
  boost::asio::post(io_, [&notified] { notified.set_value(); });
  notified.get_future().wait();
  subs_->shutdown();
  {
    // Claims waiting for work are answered; those committing answer
    // themselves (the queue refuses their retries now).
    std::promise<void> answered;
    boost::asio::post(io_, [this, &answered] {
      claims_->shutdown();
      answered.set_value();
    });
    answered.get_future().wait();
  }
  {
    // Blocking waits and watches were just answered: let them return.
    support::mutex_lock lock(blocking_mutex_);
    while (blocking_calls_ != 0) blocking_done_.wait(blocking_mutex_);
  }
  // Every operation is answered now, but its handler may still be queued
  // on the handler thread, and a handler may start new operations (they
  // are refused with engine_closed, through the io thread). Each pending
  // handler holds work on the handler io_context, so its run() returns once
  // the last of them has run; the io thread serves them until then.
  keep_handlers_running_.reset();
  if (handler_thread_.joinable()) handler_thread_.join();
  boost::asio::post(io_, [this] {
    expiry_->close();
    if (signal_) signal_->close();
  });
  keep_running_.reset();
  io_thread_.join();
}

engine::impl::blocking_call::blocking_call(impl& owner) : owner_(owner) {
  support::mutex_lock lock(owner_.blocking_mutex_);
  ++owner_.blocking_calls_;
}

engine::impl::blocking_call::~blocking_call() {
  support::mutex_lock lock(owner_.blocking_mutex_);
  if (--owner_.blocking_calls_ == 0) owner_.blocking_done_.notify_all();
}

result<void> engine::impl::start_signal() {
  if (!opts_.cross_process_notifications) return {};
  // Listening first, then reading the position: another process's commit
  // either rings for this engine or is at or before that position.
  auto s = commit_signal::open(opts_.path, io_, [this] { on_signal(); });
  if (!s) return s.error();
  signal_ = std::move(*s);
  auto txn = store_->begin_read();
  if (!txn) return txn.error();
  auto last = txn->last_sequence();
  if (!last) return last.error();
  advance_signal_seen(*last);
  return {};
}

timestamp engine::impl::now() const {
  return opts_.clock ? opts_.clock() : model::now();
}

void engine::impl::start_leases() {
  if (opts_.automatic_lease_expiry) expiry_->rescan();
}

result<std::size_t> engine::impl::expire_leases() {
  std::size_t total = 0;
  for (;;) {
    auto pass = write<std::size_t>([](store::write_txn& w, timestamp now) {
      return engine_detail::expire_due(w, now, expiries_per_pass);
    });
    if (!pass) return pass.error();
    total += *pass;
    if (*pass < expiries_per_pass) return total;
  }
}

// On the committing thread, after the commit is durable.
void engine::impl::on_commit(const std::vector<store::change_record>& changes,
                             commit_queue::committed_by who,
                             const committed_jobs& jobs) {
  if (opts_.automatic_lease_expiry) note_new_limits(jobs, *expiry_);
  if (!claims_->idle()) {
    if (auto created = creations(changes, &jobs); !created.empty()) {
      claims_->jobs_created(std::move(created));
    }
  }
  if (signal_) {
    // Notified here: the doorbell's echo need not notify them again, unless
    // another process's changes came first, which it must still read.
    std::uint64_t follows = changes.front().sequence - 1;
    signal_seen_.compare_exchange_strong(follows, changes.back().sequence,
                                         std::memory_order_acq_rel);
    signal_->announce(changes.back().sequence);
  }
  if (subs_->idle()) return;
  // A blocking caller's thread reaches the waiters itself (see hand_over),
  // without waking the notifier thread first.
  subs_->jobs_changed(job_changes_of(changes), &jobs);
  if (who == commit_queue::committed_by::caller &&
      subs_->watches_pending() > watches_a_caller_serves) {
    // Each watch costs a read of the feed: a blocking caller does not pay
    // for many of them before its own call returns.
    boost::asio::post(io_, [this] { subs_->feed_changed(); });
    return;
  }
  subs_->feed_changed();
}

void engine::impl::advance_signal_seen(std::uint64_t to) noexcept {
  // Never backwards: the committing thread may have moved it further.
  std::uint64_t seen = signal_seen_.load(std::memory_order_acquire);
  while (seen < to && !signal_seen_.compare_exchange_weak(
                          seen, to, std::memory_order_acq_rel)) {
  }
}

// On the io thread, when some process (this one too) committed: catch up
// with the change log from the last sequence seen here.
void engine::impl::on_signal() {
  std::vector<job_change> changed;
  std::vector<job_id> recheck;
  {
    auto txn = store_->begin_read();
    if (!txn) return;
    auto last = txn->last_sequence();
    if (!last) return;
    const std::uint64_t seen = signal_seen_.load(std::memory_order_acquire);
    // This process's own commits, already notified: nothing to read.
    if (*last <= seen) return;
    // Another process committed: it may have claimed a job with a lease
    // sooner than any this engine times (and it may die holding it).
    if (opts_.automatic_lease_expiry) expiry_->rescan_here();
    // Read the position before looking for subscribers: a waiter that
    // registers after the check has read its job after this position, so
    // skipping to it loses nothing.
    if (subs_->idle() && claims_->idle()) return advance_signal_seen(*last);
    auto page = txn->read_changes(seen, std::numeric_limits<std::size_t>::max(),
                                  store::change_filter{}, 1 << 20);
    if (!page && page.code() == errc::expired) {
      // Fell behind the feed's retention: check every waiter, and let
      // every waiting claim look again.
      recheck = subs_->watched_jobs();
      advance_signal_seen(*last);
      claims_->recheck_all();
    } else if (page) {
      changed = job_changes_of(page->changes);
      if (auto created = creations(page->changes); !created.empty()) {
        claims_->jobs_created(std::move(created));
      }
      advance_signal_seen(page->last_examined);
    }
  }
  subs_->jobs_changed(changed);
  subs_->jobs_to_recheck(recheck);
  subs_->feed_changed();
}

create_request engine::impl::with_defaults(create_request request) const {
  if (!request.retry) request.retry = opts_.default_retry;
  return request;
}

result<created_job> engine::impl::create(const create_request& given) {
  if (auto v = model::validate(given, opts_.limits); !v) return v.error();
  return write<created_job>(
      [request = with_defaults(given)](store::write_txn& w, timestamp now) {
        return engine_detail::create(w, request, now);
      });
}

result<created_batch> engine::impl::create_batch(const batch_request& request) {
  if (auto v = model::validate(request, opts_.limits); !v) return v.error();
  return write<created_batch>([&request](store::write_txn& w, timestamp now) {
    return engine_detail::create_batch(w, request, now);
  });
}

void engine::impl::async_create_batch(
    batch_request request,
    boost::asio::any_completion_handler<create_batch_signature> handler) {
  if (auto v = model::validate(request, opts_.limits); !v) {
    return deliver_later(io_, handler_executor_, std::move(handler),
                         result<created_batch>(v.error()));
  }
  submit_async<created_batch>(
      [request = std::move(request)](store::write_txn& w, timestamp now) {
        return engine_detail::create_batch(w, request, now);
      },
      [this, pending = pending_handler(std::move(handler), handler_executor_)](
          result<created_batch> r) mutable {
        hand_over_result(io_, std::move(pending), std::move(r));
      });
}

result<job> engine::impl::mutate(job_mutation m) {
  if (auto v = validate(m, opts_.limits); !v) return v.error();
  return write<job>(
      [m = std::move(m), this](store::write_txn& w, timestamp now) {
        return apply(w, m, now, opts_.limits);
      });
}

void engine::impl::async_create(create_request request,
                                create_handler handler) {
  if (auto v = model::validate(request, opts_.limits); !v) {
    return deliver_later(io_, handler_executor_, std::move(handler),
                         result<created_job>(v.error()));
  }
  submit_async<created_job>(
      [request = with_defaults(std::move(request))](store::write_txn& w,
                                                    timestamp now) {
        return engine_detail::create(w, request, now);
      },
      [this, pending = pending_handler(std::move(handler), handler_executor_)](
          result<created_job> r) mutable {
        hand_over_result(io_, std::move(pending), std::move(r));
      });
}

void engine::impl::async_claim(
    claim_request request,
    boost::asio::any_completion_handler<claim_signature> handler) {
  if (auto v = model::validate(request, opts_.limits); !v) {
    return deliver_later(io_, handler_executor_, std::move(handler),
                         result<std::optional<job>>(v.error()));
  }
  claims_->add(std::move(request), std::move(handler));
}

result<void> engine::impl::validate_heartbeat(
    const job_ref& ref, const mutation_options& opts,
    const std::optional<progress>& p) const {
  if (auto v = model::validate(ref, opts_.limits); !v) return v;
  if (!opts.lease_epoch) {
    return error(errc::invalid_argument,
                 "heartbeat needs lease_epoch: the epoch of the lease that "
                 "claim returned");
  }
  if (auto v = model::validate(opts, opts_.limits); !v) return v;
  if (p) return model::validate(*p, opts_.limits);
  return {};
}

void engine::impl::async_heartbeat(
    job_ref ref, mutation_options opts, std::optional<progress> p,
    boost::asio::any_completion_handler<heartbeat_signature> handler) {
  if (auto v = validate_heartbeat(ref, opts, p); !v) {
    return deliver_later(io_, handler_executor_, std::move(handler),
                         result<heartbeat_result>(v.error()));
  }
  const job_id id = ref.id;
  const bool with_history = opts.with_history;
  submit_async<heartbeat_result>(
      [ref = std::move(ref), opts = std::move(opts), p = std::move(p), this](
          store::write_txn& w, timestamp now) {
        return engine_detail::heartbeat(w, ref, p, opts, now, opts_.limits);
      },
      [this, id, with_history,
       pending = pending_handler(std::move(handler), handler_executor_)](
          result<heartbeat_result> r) mutable {
        // As async_mutate: a lost race answers with the job as it now is.
        if (!r && r.error().current_status()) {
          if (auto txn = store_->begin_read()) {
            if (auto now = load_by_id(*txn, id, with_history)) {
              return hand_over(io_, std::move(pending),
                               to_error_code(r.error()),
                               heartbeat_result{std::move(*now), false});
            }
          }
        }
        hand_over_result(io_, std::move(pending), std::move(r));
      });
}

void engine::impl::async_mutate(job_mutation m, mutation_handler handler) {
  if (auto v = validate(m, opts_.limits); !v) {
    return deliver_later(io_, handler_executor_, std::move(handler),
                         result<job>(v.error()));
  }
  const job_id id = target(m).id;
  const bool with_history = answers_with_history(m);
  submit_async<job>(
      [m = std::move(m), this](store::write_txn& w, timestamp now) {
        return apply(w, m, now, opts_.limits);
      },
      [this, id, with_history,
       pending = pending_handler(std::move(handler), handler_executor_)](
          result<job> r) mutable {
        // A mutation that lost a race (illegal_transition, conflict) answers
        // with the job as it now is, so the caller sees why at once, read
        // as the mutation would have answered (with or without history).
        if (!r && r.error().current_status()) {
          if (auto txn = store_->begin_read()) {
            if (auto now = load_by_id(*txn, id, with_history)) {
              return hand_over(io_, std::move(pending),
                               to_error_code(r.error()), std::move(*now));
            }
          }
        }
        hand_over_result(io_, std::move(pending), std::move(r));
      });
}

}  // namespace jobstate
