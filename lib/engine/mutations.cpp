#include "engine/mutations.hpp"

#include "model/batch.hpp"
#include "model/invariants.hpp"
#include "model/leases.hpp"
#include "model/schedules.hpp"
#include "model/transitions.hpp"
#include "model/validation.hpp"

#include <algorithm>
#include <limits>
#include <random>
#include <set>

namespace jobstate::engine_detail {
namespace {

using effect = store::job_effect;
using store::stored_state;

error not_found(const job_id& id) {
  return error(errc::not_found, "job " + id.to_string());
}

// A state that breaks the record rules (model/invariants.hpp) is never
// written: it comes of a damaged record (or a bug), and is refused as
// corrupt, naming the job. Checked on the events the write read and added;
// `before` stands for those it did not read (the integrity check holds the
// whole history to the rules).
result<void> check_writable(const stored_state& before, bool ran_before,
                            const store::stored_job& after) {
  const model::earlier_history earlier{after.events_before, ran_before};
  if (auto broken = model::check_invariants(after.value, earlier);
      !broken.empty()) {
    return error(errc::corrupt,
                 "job " + after.value.id.to_string() +
                     " would be left inconsistent: " + broken.front().detail)
        .with_job_state(before.status, before.revision);
  }
  return {};
}

// A job as a mutation loaded it, then changed: the state it was stored in
// and the changed job (its last stored event and those appended).
struct changed_job {
  stored_state before;
  // An event not read ran (started_at is set exactly when one ran).
  bool ran_before = false;
  store::stored_job after;

  explicit changed_job(store::stored_job loaded)
      : before(stored_state::of(loaded)),
        ran_before(loaded.events_before > 0 &&
                   loaded.value.started_at.has_value()),
        after(std::move(loaded)) {}
  result<void> check() const {
    return check_writable(before, ran_before, after);
  }
};

// The job `ref` names (honouring tenancy, as load does), or with no scope
// the job `id` of any tenancy, with as much history as `how` says.
result<store::stored_job> read_job(const store::txn_view& txn, const job_id& id,
                                   const job_ref* scope,
                                   store::history_read how) {
  auto found = txn.read(id, how);
  if (!found) return found.error();
  if (*found) {
    if (scope != nullptr && ((*found)->value.account_id != scope->account_id ||
                             (*found)->value.project_id != scope->project_id)) {
      return not_found(id);
    }
    return std::move(**found);
  }
  auto t = txn.find_tombstone(id);
  if (!t) return t.error();
  if (*t && (scope == nullptr || ((*t)->account_id == scope->account_id &&
                                  (*t)->project_id == scope->project_id))) {
    return error(errc::gone, "job " + id.to_string() + " was purged")
        .with_job_state((*t)->status, (*t)->revision);
  }
  return not_found(id);
}

// The job `ref` names, for a write: its record and its last event, or its
// whole history when the mutation answers with it (one cursor then, rather
// than reading the rest again afterwards).
result<changed_job> load_for_write(const store::write_txn& w,
                                   const job_ref& ref,
                                   const mutation_options& opts) {
  auto found = read_job(
      w, ref.id, &ref,
      opts.with_history ? store::history_read::all : store::history_read::last);
  if (!found) return found.error();
  return changed_job(std::move(*found));
}

// What a mutation returns of the job it changed: as load_for_write read it
// (whole, or without the history when asked), with the mutation's events.
job answer(store::stored_job changed, const mutation_options& opts) {
  if (!opts.with_history) changed.value.history.clear();
  return std::move(changed.value);
}

// A batch parent's new state after one child moved `from` to `child`'s
// status: the parent's counters are rolled up in the same transaction,
// never recomputed by a scan.
std::string_view roll_up_step(const changed_job& parent) {
  return parent.after.value.status != parent.before.status
             ? std::string_view(parent.after.value.history.back().step)
             : std::string_view("progress");
}
result<changed_job> roll_up(const store::write_txn& w, const job& child,
                            job_status from, timestamp now) {
  auto found = w.read(*child.parent_id, store::history_read::last);
  if (!found) return found.error();
  if (!*found) {
    return error(errc::corrupt,
                 "job " + child.id.to_string() + " names parent " +
                     child.parent_id->to_string() + ", which is missing");
  }
  changed_job parent(std::move(**found));
  model::apply_child_change(parent.after.value, from, child.status, now);
  if (auto r = parent.check(); !r) return r.error();
  return parent;
}

// The most pending jobs past their pending_ttl one claim cancels before it
// answers (see claim).
constexpr std::size_t max_ended_by_a_claim = 256;

// A number in [0, 1) for a retry's jitter.
double jitter_unit() {
  thread_local std::mt19937_64 bits{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(bits);
}

// Loads, changes with `change` (a model transition, given the job and how
// many events precede its loaded history) and rolls a status change up
// into the batch parent, if any; only then writes both, so a failure at
// any step writes nothing. A failure its retry policy names reruns the job
// in the same write (model::make_retry): the retry exists exactly when the
// failure does.
template <class Change>
result<job> update(store::write_txn& w, changed_job loaded, timestamp now,
                   const mutation_options& opts, Change&& change) {
  job& after = loaded.after.value;
  if (opts.lease_epoch) {
    if (auto r = model::check_lease(after, *opts.lease_epoch, now); !r) {
      return r.error();
    }
  }
  if (auto r = change(after, loaded.after.events_before); !r) {
    return r.error();
  }
  if (auto r = loaded.check(); !r) return r.error();
  std::optional<changed_job> parent;
  if (after.parent_id && after.status != loaded.before.status) {
    auto p = roll_up(w, after, loaded.before.status, now);
    if (!p) return p.error();
    parent.emplace(std::move(*p));
  }
  std::optional<job> retry;
  if (after.status != loaded.before.status && model::retries(after)) {
    retry = model::make_retry(after, job_id::generate(), now, jitter_unit());
  }
  effect effects[3] = {
      effect::updated(loaded.before, loaded.after, after.history.back().step)};
  std::size_t n = 1;
  if (parent) {
    effects[n++] =
        effect::updated(parent->before, parent->after, roll_up_step(*parent));
  }
  if (retry) effects[n++] = effect::inserted(*retry);
  if (auto r = w.apply(std::span(effects, n), now); !r) return r.error();
  return answer(std::move(loaded.after), opts);
}
template <class Change>
result<job> update(store::write_txn& w, const job_ref& ref, timestamp now,
                   const mutation_options& opts, Change&& change) {
  auto loaded = load_for_write(w, ref, opts);
  if (!loaded) return loaded.error();
  return update(w, std::move(*loaded), now, opts, std::forward<Change>(change));
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
result<job> cancel_batch(store::write_txn& w, changed_job parent,
                         std::string_view reason, const mutation_options& opts,
                         timestamp now, const limits& lim) {
  job& parent_job = parent.after.value;
  // Check first, so that no child is read when the parent cannot move.
  {
    job probe = parent_job;
    if (auto r = model::apply_cancel(probe, reason, opts, now, lim); !r) {
      return r.error();
    }
  }
  const std::string child_reason =
      "batch " + parent_job.id.to_string() + " was cancelled" +
      (reason.empty() ? "" : ": " + std::string(reason));
  std::vector<changed_job> children;
  for (job_status s : {job_status::pending, job_status::running}) {
    auto ids = w.children(parent_job.id, s);
    if (!ids) return ids.error();
    for (const job_id& id : *ids) {
      auto found = w.read(id, store::history_read::last);
      if (!found) return found.error();
      if (!*found) continue;
      changed_job child(std::move(**found));
      if (auto r = model::apply_cancel(child.after.value, child_reason, {}, now,
                                       lim);
          !r) {
        return r.error();
      }
      if (auto r = child.check(); !r) return r.error();
      children.push_back(std::move(child));
      model::count_child(*parent_job.progress.counts, s, -1);
      model::count_child(*parent_job.progress.counts, job_status::cancelled,
                         +1);
    }
  }
  parent_job.progress.percent = 100.0;
  if (auto r = model::apply_cancel(parent_job, reason, opts, now, lim); !r) {
    return r.error();
  }
  if (auto r = parent.check(); !r) return r.error();
  std::vector<effect> effects;
  effects.reserve(children.size() + 1);
  for (const changed_job& child : children) {
    effects.push_back(effect::updated(child.before, child.after, "cancelled"));
  }
  effects.push_back(effect::updated(parent.before, parent.after, "cancelled"));
  if (auto r = w.apply(effects, now); !r) return r.error();
  return answer(std::move(parent.after), opts);
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
    auto child = w.find(id, /*with_history=*/false);
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
  auto found = read_job(
      txn, ref.id, &ref,
      with_history ? store::history_read::all : store::history_read::none);
  if (!found) return found.error();
  return std::move(found->value);
}

result<job> load_by_id(const store::txn_view& txn, const job_id& id,
                       bool with_history) {
  auto found = read_job(
      txn, id, nullptr,
      with_history ? store::history_read::all : store::history_read::none);
  if (!found) return found.error();
  return std::move(found->value);
}

result<created_job> create(store::write_txn& w, const create_request& r,
                           timestamp now) {
  // Checked here, where the time of the write is known.
  if (r.run_after && *r.run_after > now + max_time_limit) {
    return error(errc::invalid_argument,
                 "run_after is more than " +
                     std::to_string(max_time_limit.count()) +
                     " ms after the time of the create");
  }
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
    children.push_back(model::make_job(model::child_request(r.parent, spec),
                                       job_id::generate(), now));
  }
  auto ids = insert_batch(w, parent, children, now);
  if (!ids) return ids.error();
  return created_batch{std::move(parent), std::move(*ids), true};
}

result<job> start(store::write_txn& w, const job_ref& ref,
                  const mutation_options& opts, timestamp now,
                  const limits& lim) {
  return update(w, ref, now, opts, [&](job& j, std::size_t) {
    return model::apply_start(j, opts, now, lim);
  });
}

result<job> report_progress(store::write_txn& w, const job_ref& ref,
                            const progress& p, const mutation_options& opts,
                            timestamp now, const limits& lim) {
  return update(w, ref, now, opts, [&](job& j, std::size_t earlier) {
    return model::apply_progress(j, p, opts, now, lim, earlier);
  });
}

result<job> complete(store::write_txn& w, const job_ref& ref,
                     const completion& c, const mutation_options& opts,
                     timestamp now, const limits& lim) {
  return update(w, ref, now, opts, [&](job& j, std::size_t) {
    return model::apply_complete(j, c, opts, now, lim);
  });
}

result<job> cancel(store::write_txn& w, const job_ref& ref,
                   std::string_view reason, const mutation_options& opts,
                   timestamp now, const limits& lim) {
  auto target = load_for_write(w, ref, opts);
  if (!target) return target.error();
  if (target->after.value.is_batch) {
    if (opts.lease_epoch) {  // A batch parent is never claimed.
      return model::check_lease(target->after.value, *opts.lease_epoch, now)
          .error();
    }
    return cancel_batch(w, std::move(*target), reason, opts, now, lim);
  }
  return update(w, std::move(*target), now, opts, [&](job& j, std::size_t) {
    return model::apply_cancel(j, reason, opts, now, lim);
  });
}

result<job> rerun(store::write_txn& w, const job_ref& ref,
                  const rerun_options& opts, timestamp now) {
  auto original = load(w, ref, /*with_history=*/false);
  if (!original) return original;
  if (auto r = model::check_rerun(*original); !r) return r.error();
  if (original->is_batch) return rerun_batch(w, *original, opts, now);
  job j = model::make_rerun(*original, opts, job_id::generate(), now);
  const effect inserted[] = {effect::inserted(j)};
  if (auto ins = w.apply(inserted, now); !ins) return ins.error();
  return j;
}

result<claim_found> claim(store::write_txn& w, const claim_request& r,
                          timestamp now, const limits& lim, bool look_further) {
  mutation_options opts;
  opts.with_history = r.with_history;
  // A job found past its pending_ttl (the expiry timer has not come to it
  // yet) is never handed out: it is cancelled here, in the same write, and
  // the claim looks again, up to a bound (the timer does the rest).
  for (std::size_t ended = 0;; ++ended) {
    auto found = w.find_claimable(r.account_id, r.project_id, r.kinds, now);
    if (!found) return found.error();
    if (!found->ready) return claim_found{std::nullopt, found->next_at, false};
    if (ended == max_ended_by_a_claim) return claim_found{{}, {}, true};
    const job_id id = *found->ready;
    auto loaded =
        load_for_write(w, job_ref{r.account_id, r.project_id, id}, opts);
    // The index key holds hashes: the record decides (a collision, or
    // damage, must never hand out a job of another project or kind).
    const bool wanted =
        loaded && std::find(r.kinds.begin(), r.kinds.end(),
                            loaded->after.value.kind) != r.kinds.end();
    if (!wanted) {
      return error(errc::corrupt, "idx_claimable names job " + id.to_string() +
                                      (loaded ? std::string(", of another kind")
                                              : ", which cannot be read: " +
                                                    loaded.error().message()) +
                                      "; jobstate-check reports the entry");
    }
    if (model::deadline_passed(loaded->after.value, now)) {
      auto expired = update(w, std::move(*loaded), now, opts,
                            [&](job& j, std::size_t) -> result<void> {
                              model::apply_deadline(j, now);
                              return {};
                            });
      if (!expired) return expired.error();
      continue;
    }
    auto claimed =
        update(w, std::move(*loaded), now, opts, [&](job& j, std::size_t) {
          return model::apply_claim(j, r, now, lim);
        });
    if (!claimed) return claimed.error();
    if (!look_further) return claim_found{std::move(*claimed), {}, false};
    // What is left, so that the claims still waiting learn of it.
    auto rest = w.find_claimable(r.account_id, r.project_id, r.kinds, now);
    if (!rest) return rest.error();
    return claim_found{std::move(*claimed), rest->next_at,
                       rest->ready.has_value()};
  }
}

result<heartbeat_result> heartbeat(store::write_txn& w, const job_ref& ref,
                                   const std::optional<progress>& p,
                                   const mutation_options& opts, timestamp now,
                                   const limits& lim) {
  auto loaded = load_for_write(w, ref, opts);
  if (!loaded) return loaded.error();
  const job& current = loaded->after.value;
  // Cancelled under this very lease: the worker is told, nothing written.
  if (current.status == job_status::cancelled && current.lease &&
      current.lease->epoch == opts.lease_epoch) {
    return heartbeat_result{answer(std::move(loaded->after), opts), true};
  }
  if (auto r = model::check_lease(current, *opts.lease_epoch, now); !r) {
    return r.error();
  }
  if (p) {
    // One write: the progress event, and the lease renewed with it.
    mutation_options unfenced = opts;
    unfenced.lease_epoch.reset();  // Checked above.
    auto updated = update(
        w, std::move(*loaded), now, unfenced, [&](job& j, std::size_t earlier) {
          auto r = model::apply_progress(j, *p, opts, now, lim, earlier);
          if (r) j.lease->expires_at = now + j.lease->ttl;
          return r;
        });
    if (!updated) return updated.error();
    return heartbeat_result{std::move(*updated), false};
  }
  if (opts.expected_revision && *opts.expected_revision != current.revision) {
    return error(errc::conflict,
                 "job " + current.id.to_string() + " is at revision " +
                     std::to_string(current.revision) + ", not " +
                     std::to_string(*opts.expected_revision))
        .with_job_state(current.status, current.revision);
  }
  changed_job& renewed = *loaded;
  model::apply_heartbeat(renewed.after.value, now);
  if (auto r = renewed.check(); !r) return r.error();
  const effect effects[] = {
      effect::updated(renewed.before, renewed.after, "heartbeat")};
  if (auto r = w.apply(effects, now); !r) return r.error();
  return heartbeat_result{answer(std::move(renewed.after), opts), false};
}

namespace {

// Ends job `id` if a deadline of its passed, or its lease lapsed, by `now`
// (the deadline first when both did: it is the job's own limit); answers
// whether it did. A job ended or renewed meanwhile is left, and so is one
// whose record is damaged (jobstate-check reports it).
result<bool> expire_one(store::write_txn& w, const job_id& id, timestamp now) {
  auto found = w.read(id, store::history_read::last);
  if (!found && found.code() == errc::corrupt) return false;
  if (!found) return found.error();
  if (!*found) return false;
  const job& j = (*found)->value;
  const bool past_deadline = model::deadline_passed(j, now);
  if (!past_deadline && !model::lease_lapsed(j, now)) return false;
  changed_job loaded(std::move(**found));
  mutation_options opts;
  opts.with_history = false;
  auto ended = update(w, std::move(loaded), now, opts,
                      [&](job& expiring, std::size_t) -> result<void> {
                        if (past_deadline) {
                          model::apply_deadline(expiring, now);
                        } else {
                          model::apply_lease_expiry(expiring, now);
                        }
                        return {};
                      });
  if (!ended) {
    // Refused before writing (the record breaks a rule): skip the job.
    if (ended.code() == errc::corrupt && !w.tainted()) return false;
    return ended.error();
  }
  return true;
}

}  // namespace

result<std::size_t> expire_due(store::write_txn& w, timestamp now,
                               std::size_t max) {
  // Due entries are read a page at a time, and one the pass cannot act on
  // (a damaged record, which jobstate-check reports) is stepped over, so
  // that it never holds back the jobs behind it; at most `max` jobs end in
  // one commit, and the pass reads no further than it needs.
  std::size_t expired = 0;
  std::set<job_id> seen;  // A job due for a lease and a deadline.
  std::string after;
  for (;;) {
    auto page = w.due_by(now, max, after);
    if (!page) return page.error();
    for (const auto& entry : *page) {
      after = entry.key;
      if (!seen.insert(entry.id).second) continue;
      auto ended = expire_one(w, entry.id, now);
      if (!ended) return ended.error();
      if (*ended && ++expired == max) return expired;
    }
    if (page->size() < max) return expired;
  }
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
  // A purge finds the events to remove: it need not decode them.
  std::vector<job> jobs;
  jobs.reserve(ids->size());
  for (const job_id& id : *ids) {
    auto j = w.find(id, /*with_history=*/false);
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

bool answers_with_history(const job_mutation& m) {
  return std::visit(overloaded{
                        [](const rerun_op&) { return true; },
                        [](const auto& o) { return o.opts.with_history; },
                    },
                    m);
}

}  // namespace jobstate::engine_detail
