// The engine façade: validates in the caller's thread, reads through LMDB
// snapshots, and sends mutations through the group-commit queue.
#include <jobstate/engine.hpp>

#include "engine/engine_impl.hpp"
#include "engine/mutations.hpp"
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
  if (subs_->idle()) {
    if (auto txn = store_->begin_read()) {
      if (auto last = txn->last_sequence()) signal_seen_ = *last;
    }
    return;
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

result<std::unique_ptr<engine>> engine::open(const jobstate::options& opts) {
  if (auto v = model::validate_options(opts); !v) return v.error();
  auto s = store::job_store::open(opts);
  if (!s) return s.error();
  auto i = std::make_unique<impl>(opts, std::move(*s));
  if (auto r = i->start_signal(); !r) return r.error();
  return std::unique_ptr<engine>(new engine(std::move(i)));
}

engine::engine(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
engine::~engine() = default;

const options& engine::options() const noexcept { return impl_->opts_; }

result<created_job> engine::create(const create_request& request) {
  if (auto v = model::validate(request, impl_->opts_.limits); !v) {
    return v.error();
  }
  return impl_->write<created_job>(
      [request](store::write_txn& w, timestamp now) {
        return engine_detail::create(w, request, now);
      });
}

result<job> engine::get(const job_ref& ref) const {
  if (auto v = model::validate(ref, impl_->opts_.limits); !v) return v.error();
  auto txn = impl_->store_->begin_read();
  if (!txn) return txn.error();
  return load(*txn, ref);
}

result<job> engine::start(const job_ref& ref, const mutation_options& opts) {
  const auto& lim = impl_->opts_.limits;
  if (auto v = model::validate(ref, lim); !v) return v.error();
  if (auto v = model::validate(opts, lim); !v) return v.error();
  return impl_->write<job>([ref, opts, &lim](store::write_txn& w, timestamp now) {
    return engine_detail::start(w, ref, opts, now, lim);
  });
}

result<job> engine::report_progress(const job_ref& ref, const progress& p,
                                    const mutation_options& opts) {
  const auto& lim = impl_->opts_.limits;
  if (auto v = model::validate(ref, lim); !v) return v.error();
  if (auto v = model::validate(p, lim); !v) return v.error();
  if (auto v = model::validate(opts, lim); !v) return v.error();
  return impl_->write<job>(
      [ref, p, opts, &lim](store::write_txn& w, timestamp now) {
        return engine_detail::report_progress(w, ref, p, opts, now, lim);
      });
}

result<job> engine::complete(const job_ref& ref, const completion& c,
                             const mutation_options& opts) {
  const auto& lim = impl_->opts_.limits;
  if (auto v = model::validate(ref, lim); !v) return v.error();
  if (auto v = model::validate(c, lim); !v) return v.error();
  if (auto v = model::validate(opts, lim); !v) return v.error();
  return impl_->write<job>(
      [ref, c, opts, &lim](store::write_txn& w, timestamp now) {
        return engine_detail::complete(w, ref, c, opts, now, lim);
      });
}

result<job> engine::cancel(const job_ref& ref, std::string_view reason,
                           const mutation_options& opts) {
  const auto& lim = impl_->opts_.limits;
  if (auto v = model::validate(ref, lim); !v) return v.error();
  if (auto v = model::validate_text("reason", reason, lim); !v) {
    return v.error();
  }
  if (auto v = model::validate(opts, lim); !v) return v.error();
  return impl_->write<job>([ref, reason = std::string(reason), opts, &lim](
                               store::write_txn& w, timestamp now) {
    return engine_detail::cancel(w, ref, reason, opts, now, lim);
  });
}

result<job> engine::rerun(const job_ref& ref, const rerun_options& opts) {
  const auto& lim = impl_->opts_.limits;
  if (auto v = model::validate(ref, lim); !v) return v.error();
  if (auto v = model::validate(opts, lim); !v) return v.error();
  return impl_->write<job>([ref, opts](store::write_txn& w, timestamp now) {
    return engine_detail::rerun(w, ref, opts, now);
  });
}

result<job_page> engine::list(const list_query& query) const {
  if (auto v = model::validate(query, impl_->opts_.limits); !v) {
    return v.error();
  }
  auto txn = impl_->store_->begin_read();
  if (!txn) return txn.error();
  return txn->list(query);
}

result<purge_result> engine::purge(const purge_request& request) {
  if (request.older_than.count() < 0) {
    return error(errc::invalid_argument, "purge older_than must not be negative");
  }
  if (request.max_jobs == 0) {
    return error(errc::invalid_argument, "purge max_jobs must be at least 1");
  }
  const auto retention = impl_->opts_.tombstone_retention;
  return impl_->write<purge_result>(
      [request, retention](store::write_txn& w, timestamp now) {
        return engine_detail::purge(w, request, retention, now);
      },
      /*frees_space=*/true);
}

// ------------------------------------------------------ waits and feed

namespace {

// Turns an async completion into a blocking answer.
template <class T>
struct blocking_answer {
  std::promise<result<T>> promise;
  void operator()(boost::system::error_code ec, T value) {
    if (!ec) {
      promise.set_value(std::move(value));
    } else if (ec == boost::asio::error::operation_aborted) {
      promise.set_value(error(errc::engine_closed, "the engine is closing"));
    } else {
      promise.set_value(error(std::error_code(ec)));
    }
  }
};

}  // namespace

result<wait_result> engine::wait(const job_ref& ref,
                                 const wait_condition& condition,
                                 std::chrono::milliseconds timeout) {
  blocking_answer<wait_result> answer;
  auto f = answer.promise.get_future();
  impl_->subs_->add_wait(ref, condition, timeout, std::move(answer));
  return f.get();
}

result<change_batch> engine::watch(const watch_request& request) {
  blocking_answer<change_batch> answer;
  auto f = answer.promise.get_future();
  impl_->subs_->add_watch(request, std::move(answer));
  return f.get();
}

result<change_batch> engine::changes(std::uint64_t after,
                                     std::size_t limit) const {
  if (limit == 0) {
    return error(errc::invalid_argument, "changes limit must be at least 1");
  }
  auto txn = impl_->store_->begin_read();
  if (!txn) return txn.error();
  auto page = txn->read_changes(after, limit, store::change_filter{}, limit);
  if (!page) return page.error();
  change_batch batch;
  batch.last_sequence = page->last_examined;
  for (auto& c : page->changes) {
    batch.changes.push_back(change{c.sequence, c.at, c.id,
                                   std::move(c.account_id),
                                   std::move(c.project_id), c.status,
                                   c.revision, std::move(c.step)});
  }
  return batch;
}

result<std::uint64_t> engine::last_sequence() const {
  auto txn = impl_->store_->begin_read();
  if (!txn) return txn.error();
  return txn->last_sequence();
}

namespace detail {

void initiate_wait(engine& e, job_ref ref, wait_condition condition,
                   std::chrono::milliseconds timeout,
                   boost::asio::any_completion_handler<wait_signature> handler) {
  engine_access::of(e).subs_->add_wait(std::move(ref), condition, timeout,
                                       std::move(handler));
}

void initiate_watch(
    engine& e, watch_request request,
    boost::asio::any_completion_handler<watch_signature> handler) {
  engine_access::of(e).subs_->add_watch(std::move(request), std::move(handler));
}

}  // namespace detail
}  // namespace jobstate
