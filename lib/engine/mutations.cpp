#include "engine/mutations.hpp"

#include "model/batch.hpp"
#include "model/invariants.hpp"
#include "model/transitions.hpp"
#include "model/validation.hpp"

namespace jobstate::engine_detail {
namespace {

using effect = store::job_effect;
using store::stored_state;

error not_found(const job_id& id) {
  return error(errc::not_found, "job " + id.to_string());
}

// A state that breaks the record rules (model/invariants.hpp) is never
// written: it comes of a damaged record (or a bug), and is refused as
// corrupt, naming the job.
result<void> check_writable(const stored_state& before, const job& after) {
  if (auto broken = model::check_invariants(after); !broken.empty()) {
    return error(errc::corrupt,
                 "job " + after.id.to_string() +
                     " would be left inconsistent: " + broken.front().detail)
        .with_job_state(before.status, before.revision);
  }
  return {};
}

// A batch parent's new state after one child moved `from` to `child`'s
// status: the parent's counters are rolled up in the same transaction,
// never recomputed by a scan.
struct rolled_up {
  stored_state before;
  job after;
  std::string_view step() const {
    return after.status != before.status
               ? std::string_view(after.history.back().step)
               : std::string_view("progress");
  }
};
result<rolled_up> roll_up(const store::write_txn& w, const job& child,
                          job_status from, timestamp now) {
  auto found = w.find(*child.parent_id);
  if (!found) return found.error();
  if (!*found) {
    return error(errc::corrupt,
                 "job " + child.id.to_string() + " names parent " +
                     child.parent_id->to_string() + ", which is missing");
  }
  rolled_up parent{stored_state::of(**found), std::move(**found)};
  model::apply_child_change(parent.after, from, child.status, now);
  if (auto r = check_writable(parent.before, parent.after); !r) {
    return r.error();
  }
  return parent;
}

// Loads, changes with `change` (a model transition) and rolls a status
// change up into the batch parent, if any; only then writes both, so a
// failure at any step writes nothing.
template <class Change>
result<job> update(store::write_txn& w, const job_ref& ref, timestamp now,
                   Change&& change) {
  auto loaded = load(w, ref);
  if (!loaded) return loaded;
  // The loaded job becomes the new one: a failure discards it anyway.
  const stored_state before = stored_state::of(*loaded);
  job after = std::move(*loaded);
  if (auto r = change(after); !r) return r.error();
  if (auto r = check_writable(before, after); !r) return r.error();
  std::optional<rolled_up> parent;
  if (after.parent_id && after.status != before.status) {
    auto p = roll_up(w, after, before.status, now);
    if (!p) return p.error();
    parent.emplace(std::move(*p));
  }
  const effect effects[] = {
      effect::updated(before, after, after.history.back().step),
      parent ? effect::updated(parent->before, parent->after, parent->step())
             : effect{}};
  const std::size_t n = parent ? 2 : 1;
  if (auto r = w.apply(std::span(effects, n), now); !r) return r.error();
  return after;
}

// The request an idempotency key was first used with must match this one:
// a key names one request, not one job of any shape.
bool same_request(const job& existing, const create_request& r) {
  return existing.kind == r.kind && existing.input == r.input &&
         existing.source_id == r.source_id;
}

// The job an idempotency key already names in this scope, if any: the
// same request returns it; a different one is already_exists; a purged one
// is gone.
result<std::optional<job>> find_idempotent(store::write_txn& w,
                                           const create_request& r) {
  if (!r.idempotency_key) return std::optional<job>{};
  auto mapped =
      w.find_idempotent(r.account_id, r.project_id, *r.idempotency_key);
  if (!mapped) return mapped.error();
  if (!*mapped) return std::optional<job>{};
  auto existing = load(w, job_ref{r.account_id, r.project_id, **mapped});
  if (existing && existing->idempotency_key == r.idempotency_key) {
    if (!same_request(*existing, r)) {
      return error(errc::already_exists,
                   "idempotency key \"" + *r.idempotency_key +
                       "\" already created job " + existing->id.to_string() +
                       " with a different kind, input or source_id");
    }
    return std::optional<job>(std::move(*existing));
  }
  if (!existing && existing.code() == errc::gone) {
    return error(errc::gone, "idempotency key \"" + *r.idempotency_key +
                                 "\" created job " + (*mapped)->to_string() +
                                 ", which was purged");
  }
  if (!existing && existing.code() != errc::not_found) {
    return existing.error();
  }
  // Otherwise the entry is a hash collision or stale: take the key over.
  return std::optional<job>{};
}

// Writes a new batch parent and its children (in that order, so the feed
// shows the parent first); returns the children's ids.
result<std::vector<job_id>> insert_batch(store::write_txn& w, const job& parent,
                                         std::vector<job>& children,
                                         timestamp now) {
  std::vector<effect> effects;
  effects.reserve(children.size() + 1);
  effects.push_back(effect::inserted(parent));
  std::vector<job_id> ids;
  ids.reserve(children.size());
  for (job& child : children) {
    child.parent_id = parent.id;
    effects.push_back(effect::inserted(child));
    ids.push_back(child.id);
  }
  if (auto r = w.apply(effects, now); !r) return r.error();
  return ids;
}

// Cancels a batch parent and, in the same transaction, every child that
// has not finished. Every new state is computed before any is written.
result<job> cancel_batch(store::write_txn& w, job parent,
                         std::string_view reason, const mutation_options& opts,
                         timestamp now, const limits& lim) {
  const stored_state parent_before = stored_state::of(parent);
  // Check first, so that no child is read when the parent cannot move.
  {
    job probe = parent;
    if (auto r = model::apply_cancel(probe, reason, opts, now, lim); !r) {
      return r.error();
    }
  }
  const std::string child_reason =
      "batch " + parent.id.to_string() + " was cancelled" +
      (reason.empty() ? "" : ": " + std::string(reason));
  std::vector<std::pair<stored_state, job>> children;  // before, after
  for (job_status s : {job_status::pending, job_status::running}) {
    auto ids = w.children(parent.id, s);
    if (!ids) return ids.error();
    for (const job_id& id : *ids) {
      auto child = w.find(id);
      if (!child) return child.error();
      if (!*child) continue;
      const stored_state child_before = stored_state::of(**child);
      job after = std::move(**child);
      if (auto r = model::apply_cancel(after, child_reason, {}, now, lim); !r) {
        return r.error();
      }
      if (auto r = check_writable(child_before, after); !r) return r.error();
      children.emplace_back(child_before, std::move(after));
      model::count_child(*parent.progress.counts, s, -1);
      model::count_child(*parent.progress.counts, job_status::cancelled, +1);
    }
  }
  parent.progress.percent = 100.0;
  if (auto r = model::apply_cancel(parent, reason, opts, now, lim); !r) {
    return r.error();
  }
  if (auto r = check_writable(parent_before, parent); !r) return r.error();
  std::vector<effect> effects;
  effects.reserve(children.size() + 1);
  for (const auto& [child_before, child_after] : children) {
    effects.push_back(effect::updated(child_before, child_after, "cancelled"));
  }
  effects.push_back(effect::updated(parent_before, parent, "cancelled"));
  if (auto r = w.apply(effects, now); !r) return r.error();
  return parent;
}

// Reruns a finished batch: a new batch of the children that did not
// succeed, or of all of them when every one did.
result<job> rerun_batch(store::write_txn& w, const job& original,
                        const rerun_options& opts, timestamp now) {
  std::vector<job_id> chosen;
  for (job_status s :
       {job_status::partially_succeeded, job_status::failed,
        job_status::cancelled, job_status::pending, job_status::running}) {
    auto ids = w.children(original.id, s);
    if (!ids) return ids.error();
    chosen.insert(chosen.end(), ids->begin(), ids->end());
  }
  if (chosen.empty()) {
    auto ids = w.children(original.id, job_status::succeeded);
    if (!ids) return ids.error();
    chosen = std::move(*ids);
  }
  std::sort(chosen.begin(), chosen.end());  // Keep the original order.
  std::vector<job> children;
  children.reserve(chosen.size());
  for (const job_id& id : chosen) {
    auto child = w.find(id);
    if (!child) return child.error();
    if (*child) {
      children.push_back(
          model::make_rerun(**child, rerun_options{}, job_id::generate(), now));
    }
  }
  job parent = model::make_rerun(original, opts, job_id::generate(), now);
  parent.is_batch = true;
  progress_counts counts;
  counts.total = counts.pending = children.size();
  parent.progress.counts = counts;
  parent.progress.percent = children.empty() ? 100.0 : 0.0;
  if (auto r = insert_batch(w, parent, children, now); !r) return r.error();
  return parent;
}

}  // namespace

result<job> load(const store::txn_view& txn, const job_ref& ref,
                 bool with_history) {
  auto found = txn.find(ref.id, with_history);
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
  auto existing = find_idempotent(w, r);
  if (!existing) return existing.error();
  if (*existing) return created_job{std::move(**existing), false};
  job j = model::make_job(r, job_id::generate(), now);
  const effect inserted[] = {effect::inserted(j)};
  if (auto ins = w.apply(inserted, now); !ins) return ins.error();
  return created_job{std::move(j), true};
}

result<created_batch> create_batch(store::write_txn& w, const batch_request& r,
                                   timestamp now) {
  auto existing = find_idempotent(w, r.parent);
  if (!existing) return existing.error();
  if (*existing) {
    auto ids = w.child_ids((*existing)->id);
    if (!ids) return ids.error();
    return created_batch{std::move(**existing), std::move(*ids), false};
  }
  job parent = model::make_batch_parent(r.parent, r.children.size(),
                                        job_id::generate(), now);
  std::vector<job> children;
  children.reserve(r.children.size());
  for (const batch_child& spec : r.children) {
    create_request child{
        r.parent.account_id, r.parent.project_id, spec.kind,    spec.input,
        spec.source_id,      spec.correlation_id, std::nullopt, nullptr};
    children.push_back(model::make_job(child, job_id::generate(), now));
  }
  auto ids = insert_batch(w, parent, children, now);
  if (!ids) return ids.error();
  return created_batch{std::move(parent), std::move(*ids), true};
}

result<job> start(store::write_txn& w, const job_ref& ref,
                  const mutation_options& opts, timestamp now,
                  const limits& lim) {
  return update(w, ref, now,
                [&](job& j) { return model::apply_start(j, opts, now, lim); });
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
  auto target = load(w, ref);
  if (!target) return target;
  if (target->is_batch) {
    return cancel_batch(w, std::move(*target), reason, opts, now, lim);
  }
  return update(w, ref, now, [&](job& j) {
    return model::apply_cancel(j, reason, opts, now, lim);
  });
}

result<job> rerun(store::write_txn& w, const job_ref& ref,
                  const rerun_options& opts, timestamp now) {
  auto original = load(w, ref);
  if (!original) return original;
  if (auto r = model::check_rerun(*original); !r) return r.error();
  if (original->is_batch) return rerun_batch(w, *original, opts, now);
  job j = model::make_rerun(*original, opts, job_id::generate(), now);
  const effect inserted[] = {effect::inserted(j)};
  if (auto ins = w.apply(inserted, now); !ins) return ins.error();
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
  // Read everything first: a damaged record found half-way writes nothing.
  std::vector<job> jobs;
  jobs.reserve(ids->size());
  for (const job_id& id : *ids) {
    auto j = w.find(id);
    if (!j) return j.error();
    if (!*j) {
      return error(errc::corrupt, "completion index names job " +
                                      id.to_string() + ", which is missing");
    }
    jobs.push_back(std::move(**j));
  }
  auto expiring = w.tombstones_to_expire(now - tombstone_retention, r.max_jobs);
  if (!expiring) return expiring.error();
  std::vector<effect> effects;
  effects.reserve(jobs.size());
  for (const job& j : jobs) effects.push_back(effect::purged(j));
  if (auto p = w.apply(effects, now); !p) return p.error();
  if (auto e = w.expire(*expiring); !e) return e.error();
  out.purged = jobs.size();
  out.tombstones_expired = expiring->size();
  out.more = out.more || expiring->size() == r.max_jobs;
  return out;
}

namespace {

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
// Clang 14 lacks class template argument deduction for aggregates.
template <class... F>
overloaded(F...) -> overloaded<F...>;

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
