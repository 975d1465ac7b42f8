#include "engine/engine_impl.hpp"

#include "engine/completion.hpp"
#include "model/validation.hpp"

#include <boost/asio/post.hpp>

#include <limits>

namespace jobstate {

using namespace engine_detail;

engine::impl::impl(const jobstate::options& opts,
                   std::unique_ptr<store::job_store> s)
    : opts_(opts),
      store_(std::move(s)),
      subs_(std::make_shared<subscriptions>(*store_, io_, opts.limits)),
      keep_running_(io_.get_executor()) {
  queue_ = std::make_unique<commit_queue>(
      *store_, opts_, [this](const auto& changes) { on_commit(changes); });
  io_thread_ = std::thread([this] { io_.run(); });
}

engine::impl::~impl() {
  queue_->close();
  subs_->shutdown();
  boost::asio::post(io_, [this] {
    if (signal_) signal_->close();
  });
  keep_running_.reset();
  io_thread_.join();
}

result<void> engine::impl::start_signal() {
  if (!opts_.cross_process_notifications) return {};
  auto txn = store_->begin_read();
  if (!txn) return txn.error();
  auto last = txn->last_sequence();
  if (!last) return last.error();
  signal_seen_ = *last;
  auto s = commit_signal::open(opts_.path, io_, [this] { on_signal(); });
  if (!s) return s.error();
  signal_ = std::move(*s);
  return {};
}

// On the committer thread, after the commit is durable.
void engine::impl::on_commit(const std::vector<store::change_record>& changes) {
  if (signal_) signal_->announce(changes.back().sequence);
  if (subs_->idle()) return;
  std::vector<job_id> ids;
  ids.reserve(changes.size());
  for (const auto& c : changes) ids.push_back(c.id);
  subs_->jobs_changed(ids);
  subs_->feed_changed();
}

// On the io thread, when some process (this one too) committed: catch up
// with the change log from the last sequence seen here.
void engine::impl::on_signal() {
  // Read the position before looking for subscribers: a waiter that
  // registers after the check has read its job after this position, so
  // skipping to it loses nothing.
  if (auto txn = store_->begin_read()) {
    auto last = txn->last_sequence();
    if (last && subs_->idle()) {
      signal_seen_ = *last;
      return;
    }
  }
  std::vector<job_id> ids;
  {
    auto txn = store_->begin_read();
    if (!txn) return;
    auto page = txn->read_changes(signal_seen_, std::numeric_limits<std::size_t>::max(),
                                  store::change_filter{}, 1 << 20);
    if (!page && page.code() == errc::expired) {
      // Fell behind the feed's retention: check every waiter.
      ids = subs_->watched_jobs();
      if (auto last = txn->last_sequence()) signal_seen_ = *last;
    } else if (page) {
      for (const auto& c : page->changes) ids.push_back(c.id);
      signal_seen_ = page->last_examined;
    }
  }
  subs_->jobs_changed(ids);
  subs_->feed_changed();
}

result<created_job> engine::impl::create(const create_request& request) {
  if (auto v = model::validate(request, opts_.limits); !v) return v.error();
  return write<created_job>([request](store::write_txn& w, timestamp now) {
    return engine_detail::create(w, request, now);
  });
}

result<created_batch> engine::impl::create_batch(
    const batch_request& request) {
  if (auto v = model::validate(request, opts_.limits); !v) return v.error();
  return write<created_batch>(
      [&request](store::write_txn& w, timestamp now) {
        return engine_detail::create_batch(w, request, now);
      });
}

void engine::impl::async_create_batch(
    batch_request request,
    boost::asio::any_completion_handler<create_batch_signature> handler) {
  if (auto v = model::validate(request, opts_.limits); !v) {
    return deliver_later(io_, std::move(handler),
                         result<created_batch>(v.error()));
  }
  submit_async<created_batch>(
      [request = std::move(request)](store::write_txn& w, timestamp now) {
        return engine_detail::create_batch(w, request, now);
      },
      [pending = pending_handler(std::move(handler))](
          result<created_batch> r) mutable {
        std::move(pending).complete_result(std::move(r));
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
    return deliver_later(io_, std::move(handler),
                         result<created_job>(v.error()));
  }
  submit_async<created_job>(
      [request = std::move(request)](store::write_txn& w, timestamp now) {
        return engine_detail::create(w, request, now);
      },
      [pending = pending_handler(std::move(handler))](
          result<created_job> r) mutable {
        std::move(pending).complete_result(std::move(r));
      });
}

void engine::impl::async_mutate(job_mutation m, mutation_handler handler) {
  if (auto v = validate(m, opts_.limits); !v) {
    return deliver_later(io_, std::move(handler), result<job>(v.error()));
  }
  const job_id id = target(m).id;
  submit_async<job>(
      [m = std::move(m), this](store::write_txn& w, timestamp now) {
        return apply(w, m, now, opts_.limits);
      },
      [this, id, pending = pending_handler(std::move(handler))](
          result<job> r) mutable {
        // A mutation that lost a race (illegal_transition, conflict) answers
        // with the job as it now is, so the caller sees why at once.
        if (!r && r.error().current_status()) {
          if (auto txn = store_->begin_read()) {
            if (auto now = load_by_id(*txn, id)) {
              return std::move(pending).complete(to_error_code(r.error()),
                                                 std::move(*now));
            }
          }
        }
        std::move(pending).complete_result(std::move(r));
      });
}

}  // namespace jobstate
