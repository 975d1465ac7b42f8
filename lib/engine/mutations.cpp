#include "engine/mutations.hpp"

#include "model/transitions.hpp"
#include "model/validation.hpp"

namespace jobstate::engine_detail {
namespace {

error not_found(const job_id& id) {
  return error(errc::not_found, "job " + id.to_string());
}

// Loads, changes with `change` (a model transition), writes back and records
// the change. `change` leaves the job untouched when it fails.
template <class Change>
result<job> update(store::write_txn& w, const job_ref& ref, timestamp now,
                   Change&& change) {
  auto before = load(w, ref);
  if (!before) return before;
  job after = *before;
  if (auto r = change(after); !r) return r.error();
  if (auto r = w.update(*before, after); !r) return r.error();
  if (auto r = w.record_change(after, after.history.back().step, now); !r) {
    return r.error();
  }
  return after;
}

// The request an idempotency key was first used with must match this one:
// a key names one request, not one job of any shape.
bool same_request(const job& existing, const create_request& r) {
  return existing.kind == r.kind && existing.input == r.input &&
         existing.source_id == r.source_id;
}

}  // namespace

result<job> load(const store::txn_view& txn, const job_ref& ref) {
  auto found = txn.find(ref.id);
  if (!found) return found.error();
  if (*found) {
    if ((*found)->account_id != ref.account_id ||
        (*found)->project_id != ref.project_id) {
      return not_found(ref.id);
    }
    return std::move(**found);
  }
  auto t = txn.find_tombstone(ref.id);
  if (!t) return t.error();
  if (*t && (*t)->account_id == ref.account_id &&
      (*t)->project_id == ref.project_id) {
    return error(errc::gone, "job " + ref.id.to_string() + " was purged")
        .with_job_state((*t)->status, (*t)->revision);
  }
  return not_found(ref.id);
}

result<job> load_by_id(const store::txn_view& txn, const job_id& id) {
  auto found = txn.find(id);
  if (!found) return found.error();
  if (*found) return std::move(**found);
  auto t = txn.find_tombstone(id);
  if (!t) return t.error();
  if (*t) {
    return error(errc::gone, "job " + id.to_string() + " was purged")
        .with_job_state((*t)->status, (*t)->revision);
  }
  return not_found(id);
}

result<created_job> create(store::write_txn& w, const create_request& r,
                           timestamp now) {
  if (r.idempotency_key) {
    auto mapped =
        w.find_idempotent(r.account_id, r.project_id, *r.idempotency_key);
    if (!mapped) return mapped.error();
    if (*mapped) {
      auto existing = load(w, job_ref{r.account_id, r.project_id, **mapped});
      if (existing && existing->idempotency_key == r.idempotency_key) {
        if (!same_request(*existing, r)) {
          return error(errc::already_exists,
                       "idempotency key \"" + *r.idempotency_key +
                           "\" already created job " +
                           existing->id.to_string() +
                           " with a different kind, input or source_id");
        }
        return created_job{std::move(*existing), false};
      }
      if (!existing && existing.code() == errc::gone) {
        return error(errc::gone, "idempotency key \"" + *r.idempotency_key +
                                     "\" created job " +
                                     (*mapped)->to_string() +
                                     ", which was purged");
      }
      if (!existing && existing.code() != errc::not_found) {
        return existing.error();
      }
      // Otherwise the entry is a hash collision or stale: take the key over.
    }
  }
  job j = model::make_job(r, job_id::generate(), now);
  if (auto ins = w.insert(j); !ins) return ins.error();
  if (auto c = w.record_change(j, "created", now); !c) return c.error();
  return created_job{std::move(j), true};
}

result<job> start(store::write_txn& w, const job_ref& ref,
                  const mutation_options& opts, timestamp now,
                  const limits& lim) {
  return update(w, ref, now, [&](job& j) {
    return model::apply_start(j, opts, now, lim);
  });
}

result<job> report_progress(store::write_txn& w, const job_ref& ref,
                            const progress& p, const mutation_options& opts,
                            timestamp now, const limits& lim) {
  return update(w, ref, now, [&](job& j) {
    return model::apply_progress(j, p, opts, now, lim);
  });
}

result<job> complete(store::write_txn& w, const job_ref& ref,
                     const completion& c, const mutation_options& opts,
                     timestamp now, const limits& lim) {
  return update(w, ref, now, [&](job& j) {
    return model::apply_complete(j, c, opts, now, lim);
  });
}

result<job> cancel(store::write_txn& w, const job_ref& ref,
                   std::string_view reason, const mutation_options& opts,
                   timestamp now, const limits& lim) {
  return update(w, ref, now, [&](job& j) {
    return model::apply_cancel(j, reason, opts, now, lim);
  });
}

result<job> rerun(store::write_txn& w, const job_ref& ref,
                  const rerun_options& opts, timestamp now) {
  auto original = load(w, ref);
  if (!original) return original;
  if (auto r = model::check_rerun(*original); !r) return r.error();
  job j = model::make_rerun(*original, opts, job_id::generate(), now);
  if (auto ins = w.insert(j); !ins) return ins.error();
  if (auto c = w.record_change(j, "created", now); !c) return c.error();
  return j;
}

result<purge_result> purge(store::write_txn& w, const purge_request& r,
                           std::chrono::seconds tombstone_retention,
                           timestamp now) {
  purge_result out;
  auto ids = w.completed_before(now - r.older_than, r.max_jobs + 1);
  if (!ids) return ids.error();
  out.more = ids->size() > r.max_jobs;
  if (out.more) ids->pop_back();
  for (const job_id& id : *ids) {
    auto j = w.find(id);
    if (!j) return j.error();
    if (!*j) {
      return error(errc::corrupt, "completion index names job " +
                                      id.to_string() + ", which is missing");
    }
    if (auto p = w.purge(**j, now); !p) return p.error();
    if (auto c = w.record_change(**j, "purged", now); !c) return c.error();
    ++out.purged;
  }
  auto expired = w.expire_tombstones(now - tombstone_retention, r.max_jobs);
  if (!expired) return expired.error();
  out.tombstones_expired = *expired;
  out.more = out.more || *expired == r.max_jobs;
  return out;
}

namespace {

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};

}  // namespace

result<void> validate(const job_mutation& m, const limits& lim) {
  if (auto v = model::validate(target(m), lim); !v) return v;
  return std::visit(
      overloaded{
          [&](const start_op& o) { return model::validate(o.opts, lim); },
          [&](const progress_op& o) {
            auto v = model::validate(o.p, lim);
            return v ? model::validate(o.opts, lim) : v;
          },
          [&](const complete_op& o) {
            auto v = model::validate(o.c, lim);
            return v ? model::validate(o.opts, lim) : v;
          },
          [&](const cancel_op& o) {
            auto v = model::validate_text("reason", o.reason, lim);
            return v ? model::validate(o.opts, lim) : v;
          },
          [&](const rerun_op& o) { return model::validate(o.opts, lim); },
      },
      m);
}

result<job> apply(store::write_txn& w, const job_mutation& m, timestamp now,
                  const limits& lim) {
  return std::visit(
      overloaded{
          [&](const start_op& o) { return start(w, o.ref, o.opts, now, lim); },
          [&](const progress_op& o) {
            return report_progress(w, o.ref, o.p, o.opts, now, lim);
          },
          [&](const complete_op& o) {
            return complete(w, o.ref, o.c, o.opts, now, lim);
          },
          [&](const cancel_op& o) {
            return cancel(w, o.ref, o.reason, o.opts, now, lim);
          },
          [&](const rerun_op& o) { return rerun(w, o.ref, o.opts, now); },
      },
      m);
}

const job_ref& target(const job_mutation& m) {
  return std::visit([](const auto& o) -> const job_ref& { return o.ref; }, m);
}

}  // namespace jobstate::engine_detail
