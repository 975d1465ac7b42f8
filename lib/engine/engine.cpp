// The engine façade: validates in the caller's thread, reads through LMDB
// snapshots, and sends mutations through the group-commit queue.
#include <jobstate/engine.hpp>

#include "engine/commit_queue.hpp"
#include "engine/mutations.hpp"
#include "model/validation.hpp"

#include <future>

namespace jobstate {

using namespace engine_detail;

class engine::impl {
 public:
  impl(const jobstate::options& opts, std::unique_ptr<store::job_store> s)
      : opts_(opts),
        store_(std::move(s)),
        queue_(*store_, opts.max_batch, nullptr) {}

  // Queues `apply` and blocks until its commit is durable.
  template <class T, class Apply>
  result<T> write(Apply apply, bool frees_space = false) {
    std::promise<result<T>> done;
    auto answer = done.get_future();
    queue_.submit(make_write<T>(
        std::move(apply),
        [done = std::move(done)](result<T> r) mutable {
          done.set_value(std::move(r));
        },
        frees_space));
    return answer.get();
  }

  result<job> read(const job_ref& ref) const {
    auto txn = store_->begin_read();
    if (!txn) return txn.error();
    return load(*txn, ref);
  }

  const jobstate::options opts_;
  std::unique_ptr<store::job_store> store_;
  commit_queue queue_;
};

result<std::unique_ptr<engine>> engine::open(const jobstate::options& opts) {
  if (auto v = model::validate_options(opts); !v) return v.error();
  auto s = store::job_store::open(opts);
  if (!s) return s.error();
  return std::unique_ptr<engine>(
      new engine(std::make_unique<impl>(opts, std::move(*s))));
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
  return impl_->read(ref);
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

}  // namespace jobstate
