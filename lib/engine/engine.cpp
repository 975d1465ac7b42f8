// The engine façade: validates in the caller's thread, reads through LMDB
// snapshots, and sends mutations through the group-commit queue.
#include <jobstate/engine.hpp>

#include "engine/engine_impl.hpp"
#include "engine/inline_executor.hpp"
#include "engine/mutations.hpp"
#include "model/validation.hpp"

#include <boost/asio/bind_executor.hpp>

namespace jobstate {

using namespace engine_detail;

result<std::unique_ptr<engine>> engine::open(const jobstate::options& opts) {
  if (auto v = model::validate_options(opts); !v) return v.error();
  auto s = store::job_store::open(opts);
  if (!s) return s.error();
  auto i = std::make_unique<impl>(opts, std::move(*s));
  if (auto r = i->start_signal(); !r) return r.error();
  i->start_leases();
  return std::unique_ptr<engine>(new engine(std::move(i)));
}

engine::engine(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
engine::~engine() = default;

const options& engine::options() const noexcept { return impl_->opts_; }

result<void> engine::check(const create_request& request) const {
  return model::validate(request, impl_->opts_.limits);
}
result<void> engine::check(const batch_request& request) const {
  return model::validate(request, impl_->opts_.limits);
}
result<void> engine::check(const claim_request& request) const {
  return model::validate(request, impl_->opts_.limits);
}
result<void> engine::check(const progress& p) const {
  return model::validate(p, impl_->opts_.limits);
}

engine::executor_type engine::get_executor() const noexcept {
  return impl_->executor_;
}

result<created_job> engine::create(const create_request& request) {
  return impl_->create(request);
}

result<created_batch> engine::create_batch(const batch_request& request) {
  return impl_->create_batch(request);
}

result<job> engine::get(const job_ref& ref) const {
  return get(ref, read_options{});
}

result<job> engine::get(const job_ref& ref, const read_options& opts) const {
  if (auto v = model::validate(ref, impl_->opts_.limits); !v) return v.error();
  auto txn = impl_->store_->begin_read();
  if (!txn) return txn.error();
  return load(*txn, ref, opts.with_history);
}

result<job> engine::start(const job_ref& ref, const mutation_options& opts) {
  return impl_->mutate(start_op{ref, opts});
}

result<job> engine::report_progress(const job_ref& ref, const progress& p,
                                    const mutation_options& opts) {
  return impl_->mutate(progress_op{ref, p, opts});
}

result<job> engine::complete(const job_ref& ref, const completion& c,
                             const mutation_options& opts) {
  return impl_->mutate(complete_op{ref, c, opts});
}

result<job> engine::cancel(const job_ref& ref, std::string_view reason,
                           const mutation_options& opts) {
  return impl_->mutate(cancel_op{ref, std::string(reason), opts});
}

result<job> engine::rerun(const job_ref& ref, const rerun_options& opts) {
  return impl_->mutate(rerun_op{ref, opts});
}

result<heartbeat_result> engine::heartbeat(const job_ref& ref,
                                           const mutation_options& opts,
                                           const std::optional<progress>& p) {
  const limits& lim = impl_->opts_.limits;
  if (auto v = impl_->validate_heartbeat(ref, opts, p); !v) return v.error();
  return impl_->write<heartbeat_result>(
      [&](store::write_txn& w, timestamp now) {
        return engine_detail::heartbeat(w, ref, p, opts, now, lim);
      });
}

result<std::size_t> engine::expire_leases() { return impl_->expire_leases(); }

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
    return error(errc::invalid_argument,
                 "purge older_than must not be negative");
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

// Turns an async completion into a blocking answer. An async completion
// carries only an error code; `context` (e.g. "job <id>") becomes the
// error's detail, so that a blocking caller learns what it concerns.
template <class T>
struct blocking_answer {
  std::promise<result<T>> promise;
  std::string context;
  void operator()(boost::system::error_code ec, T value) {
    if (!ec) {
      promise.set_value(std::move(value));
    } else if (ec == boost::asio::error::operation_aborted) {
      promise.set_value(error(errc::engine_closed, "the engine is closing"));
    } else {
      promise.set_value(error(std::error_code(ec), std::move(context)));
    }
  }
};

}  // namespace

result<wait_result> engine::wait(const job_ref& ref,
                                 const wait_condition& condition,
                                 std::chrono::milliseconds timeout) {
  const impl::blocking_call in_progress(*impl_);
  blocking_answer<wait_result> answer;
  answer.context = "job " + ref.id.to_string();
  auto f = answer.promise.get_future();
  // Answered inline: the calling thread may be the one that runs the
  // engine's executor (a blocking call from a handler).
  impl_->subs_->add_wait(
      ref, condition, timeout,
      boost::asio::bind_executor(inline_executor(), std::move(answer)));
  return f.get();
}

result<std::optional<job>> engine::claim(const claim_request& request) {
  if (auto v = model::validate(request, impl_->opts_.limits); !v) {
    return v.error();
  }
  if (request.wait == std::chrono::milliseconds::zero()) {
    const limits& lim = impl_->opts_.limits;
    for (;;) {
      auto found = impl_->write<engine_detail::claim_found>(
          [&request, &lim](store::write_txn& w, timestamp now) {
            // Nobody waits on this claim's behalf: what is left is
            // not looked for.
            return engine_detail::claim(w, request, now, lim,
                                        /*look_further=*/false);
          });
      if (!found) return found.error();
      // Nothing claimed but more to look at: the attempt stopped early.
      if (found->claimed || !found->more_ready) {
        return std::move(found->claimed);
      }
    }
  }
  const impl::blocking_call in_progress(*impl_);
  blocking_answer<std::optional<job>> answer;
  answer.context = "claim in " + request.account_id + "/" + request.project_id;
  auto f = answer.promise.get_future();
  // Answered inline, as wait's: the calling thread may run the engine's
  // executor.
  impl_->claims_->add(request, boost::asio::bind_executor(inline_executor(),
                                                          std::move(answer)));
  return f.get();
}

result<change_batch> engine::watch(const watch_request& request) {
  const impl::blocking_call in_progress(*impl_);
  blocking_answer<change_batch> answer;
  auto f = answer.promise.get_future();
  impl_->subs_->add_watch(request, boost::asio::bind_executor(
                                       inline_executor(), std::move(answer)));
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
    batch.changes.push_back(change{
        c.sequence, c.at, c.id, std::move(c.account_id),
        std::move(c.project_id), c.status, c.revision, std::move(c.step)});
  }
  return batch;
}

result<engine_stats> engine::stats() const {
  engine_stats out;
  {
    auto txn = impl_->store_->begin_read();
    if (!txn) return txn.error();
    auto counts = txn->count_by_status();
    if (!counts) return counts.error();
    out.jobs_by_status = *counts;
  }
  out.waits_pending = impl_->subs_->waits_pending();
  out.claims_pending = impl_->claims_->pending();
  out.watches_pending = impl_->subs_->watches_pending();
  impl_->queue_->stats().snapshot(out);
  return out;
}

result<std::uint64_t> engine::last_sequence() const {
  auto txn = impl_->store_->begin_read();
  if (!txn) return txn.error();
  return txn->last_sequence();
}

}  // namespace jobstate
