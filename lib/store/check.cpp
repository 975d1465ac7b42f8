// The integrity check (include/jobstate/check.hpp): one read-only snapshot,
// a pass over the jobs, then over each index, the tombstones and the change
// feed. Index entries are compared by count first: every entry a record
// implies is looked up, so when each index holds exactly as many entries as
// the records imply, there is none extra; only an index whose count differs
// is walked entry by entry to name the stale ones.
#include <jobstate/check.hpp>

#include "model/batch.hpp"
#include "model/invariants.hpp"
#include "store/codec.hpp"
#include "store/environment.hpp"
#include "store/job_store.hpp"
#include "store/keys.hpp"
#include "store/lmdb_backend.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace jobstate {

std::string_view to_string(check_problem_kind kind) noexcept {
  switch (kind) {
    case check_problem_kind::meta:
      return "meta";
    case check_problem_kind::corrupt_record:
      return "corrupt_record";
    case check_problem_kind::inconsistent_job:
      return "inconsistent_job";
    case check_problem_kind::missing_index_entry:
      return "missing_index_entry";
    case check_problem_kind::stale_index_entry:
      return "stale_index_entry";
    case check_problem_kind::batch_counters:
      return "batch_counters";
    case check_problem_kind::feed_gap:
      return "feed_gap";
    case check_problem_kind::feed_mismatch:
      return "feed_mismatch";
    case check_problem_kind::bad_tombstone:
      return "bad_tombstone";
  }
  return "unknown";
}

std::string to_string(const check_problem& p) {
  std::string s(to_string(p.kind));
  s += " in ";
  s += p.database;
  s += ": ";
  if (p.job) s += "job " + p.job->to_string() + ": ";
  if (p.sequence) s += "sequence " + std::to_string(*p.sequence) + ": ";
  s += p.detail;
  return s;
}

namespace {

using store::table;
namespace keys = store::keys;

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (unsigned char c : bytes) {
    s.push_back(digits[c >> 4]);
    s.push_back(digits[c & 0xf]);
  }
  return s;
}

using store::record_indexes;

std::size_t index_slot(table index) {
  std::size_t slot = 0;
  while (slot + 1 < std::size(record_indexes) &&
         record_indexes[slot] != index) {
    ++slot;
  }
  return slot;
}

// What the feed pass needs of a live job.
struct live_job {
  job_status status;
  std::uint64_t revision;
};

// What the feed says of one job: its latest change.
struct feed_job {
  std::uint64_t sequence = 0;
  std::uint64_t revision = 0;
  job_status status = job_status::pending;
  bool purged = false;
};

class checker {
 public:
  checker(const store::snapshot& view, const check_options& opts,
          check_report& report)
      : view_(view), opts_(opts), report_(report) {}

  // `schema`: the version the database says it has (1 or this build's).
  result<void> run(bool schema_present, std::uint64_t schema) {
    schema_ = schema;
    if (auto r = check_meta(schema_present); !r) return r;
    if (auto r = check_jobs(); !r) return r;
    if (auto r = check_batches(); !r) return r;
    if (auto r = check_indexes(); !r) return r;
    if (auto r = check_idempotency(); !r) return r;
    if (auto r = check_tombstones(); !r) return r;
    return check_feed();
  }

 private:
  void problem(check_problem_kind kind, std::string database,
               std::optional<job_id> id, std::string detail,
               std::optional<std::uint64_t> sequence = std::nullopt) {
    if (report_.problems.size() >= opts_.max_problems) {
      report_.truncated = true;
      return;
    }
    report_.problems.push_back(check_problem{kind, std::move(database), id,
                                             sequence, std::move(detail)});
  }

  // ------------------------------------------------------------- meta

  // The magic and a schema version other than this build's were checked
  // when the environment was opened (store/environment.cpp).
  result<void> check_meta(bool schema_present) {
    if (!schema_present) {
      problem(check_problem_kind::meta, "meta", std::nullopt,
              "the schema version is missing or malformed");
    }
    auto last = view_.get(table::meta, store::meta_last_seq_key);
    if (!last) return last.error();
    if (*last) {
      if ((*last)->size() != 8) {
        problem(check_problem_kind::meta, "meta", std::nullopt,
                "last_sequence has " + std::to_string((*last)->size()) +
                    " bytes instead of 8");
      } else {
        report_.last_sequence = keys::sequence_at(**last);
      }
    }
    return {};
  }

  // ------------------------------------------------------------- jobs

  // The jobs table holds each record (16-byte key) followed by its history
  // events (the id and a 4-byte number), in order: one pass reads a record,
  // then its events, then checks the job whole. Schema 1 kept the events
  // inside the record.
  result<void> check_jobs() {
    auto opened = view_.open_cursor(table::jobs);
    if (!opened) return opened.error();
    store::cursor& cur = **opened;
    std::optional<reading_job> reading;
    for (auto found = cur.first();; found = cur.next()) {
      if (!found) return found.error();
      if (!*found) break;
      const std::string_view key = cur.key();
      if (key.size() == job_id::size) {
        if (auto r = finish(reading); !r) return r;
        report_orphan();
        reading = start_job(keys::id_at(key, 0), cur.value());
      } else if (key.size() == keys::history_event_size && schema_ != 1) {
        read_event(reading, key, cur.value());
      } else {
        problem(check_problem_kind::corrupt_record, "jobs", std::nullopt,
                "key " + hex(key) + " is not a 16-byte job id" +
                    (schema_ != 1 ? " nor a history event's" : ""));
      }
    }
    report_orphan();
    return finish(reading);
  }

  // The job a record holds, for the passes that need its fields only.
  result<job> record_fields(std::string_view bytes) const {
    if (schema_ == 1) return store::decode_job_v1(bytes);
    auto record = store::decode_record(bytes);
    if (!record) return record.error();
    return std::move(record->value);
  }

  // A record read, while its events are being read.
  struct reading_job {
    job_id id;
    std::optional<job> value;   // Nothing when the record is damaged.
    std::uint32_t length = 0;   // Events the record says it has.
    std::uint32_t next = 0;     // The number of the next event expected.
    bool history_whole = true;  // No event missing or damaged so far.
  };

  std::optional<reading_job> start_job(const job_id& id,
                                       std::string_view bytes) {
    ++report_.jobs;
    reading_job r{id, std::nullopt, 0, 0, true};
    result<job> decoded = error(errc::corrupt, "");
    if (schema_ == 1) {
      decoded = store::decode_job_v1(bytes);
      if (decoded) {
        r.length = r.next = static_cast<std::uint32_t>(decoded->history.size());
      }
    } else if (auto record = store::decode_record(bytes)) {
      r.length = record->history_length;
      // Never reserve what a damaged count claims.
      record->value.history.reserve(std::min<std::uint32_t>(r.length, 1024));
      decoded = std::move(record->value);
    } else {
      decoded = record.error();
    }
    if (!decoded) {
      unreadable_.insert(id);
      problem(check_problem_kind::corrupt_record, "jobs", id,
              "the record does not decode: " + decoded.error().detail());
      return r;
    }
    if (decoded->id != id) {
      unreadable_.insert(id);
      problem(check_problem_kind::corrupt_record, "jobs", id,
              "the record holds job " + decoded->id.to_string());
      return r;
    }
    r.value = std::move(*decoded);
    return r;
  }

  void read_event(std::optional<reading_job>& reading, std::string_view key,
                  std::string_view bytes) {
    const job_id id = keys::id_at(key, 0);
    const std::uint32_t n = keys::event_number_at(key);
    const bool of_reading = reading && reading->id == id;
    // A damaged record's events are not reported again one by one.
    if (of_reading && !reading->value) return;
    if (!of_reading) {
      // Events whose job has no record: one problem per job, not per event.
      if (orphan_ && orphan_->id == id) {
        ++orphan_->count;
        return;
      }
      report_orphan();
      orphan_ = orphan_events{id, n, 1};
      return;
    }
    if (n >= reading->length) {
      problem(check_problem_kind::corrupt_record, "jobs", id,
              "history event " + std::to_string(n) +
                  " is stray: the record has " +
                  std::to_string(reading->length) + " events");
      return;
    }
    reading_job& r = *reading;
    if (n != r.next) missing_events(r, r.next, n);
    r.next = n + 1;
    history_event e;
    if (auto decoded = store::decode_event(bytes, e); !decoded) {
      problem(check_problem_kind::corrupt_record, "jobs", id,
              "history event " + std::to_string(n) +
                  " does not decode: " + decoded.error().detail());
      r.history_whole = false;
      return;
    }
    // With an event missing or damaged, the rules are not checked: the
    // events are kept only while the history is whole.
    if (r.history_whole) r.value->history.push_back(std::move(e));
  }

  // History events of a job that has no record, met one after another.
  struct orphan_events {
    job_id id;
    std::uint32_t first = 0;
    std::uint64_t count = 0;
  };

  void report_orphan() {
    if (!orphan_) return;
    const orphan_events o = *std::exchange(orphan_, std::nullopt);
    problem(check_problem_kind::corrupt_record, "jobs", o.id,
            o.count == 1
                ? "history event " + std::to_string(o.first) +
                      " is stray: the job has no record"
                : std::to_string(o.count) + " history events (from event " +
                      std::to_string(o.first) +
                      ") are stray: the job has no record");
  }

  void missing_events(reading_job& r, std::uint32_t from, std::uint32_t to) {
    problem(check_problem_kind::corrupt_record, "jobs", r.id,
            to == from + 1
                ? "history event " + std::to_string(from) + " is missing"
                : "history events " + std::to_string(from) + " to " +
                      std::to_string(to - 1) + " are missing");
    r.history_whole = false;
  }

  result<void> finish(std::optional<reading_job>& reading) {
    if (!reading || !reading->value) return {};
    reading_job& r = *reading;
    if (r.next < r.length) missing_events(r, r.next, r.length);
    auto checked = check_job(*r.value, r.history_whole);
    reading.reset();
    return checked;
  }

  // `history_whole`: every event was read (else see check_history).
  result<void> check_job(const job& j, bool history_whole) {
    live_.emplace(j.id, live_job{j.status, j.revision});
    check_history(j, history_whole);
    if (j.is_batch) batches_.emplace(j.id, j);
    if (j.parent_id) {
      auto& c = children_[*j.parent_id];
      ++c.total;
      model::count_child(c, j.status, +1);
    }
    for (const store::index_entry& e : store::index_entries(j)) {
      if (!schema_has(e.index)) continue;
      ++expected_[index_slot(e.index)];
      auto v = view_.get(e.index, e.key);
      if (!v) return v.error();
      if (!*v) {
        ++missing_[index_slot(e.index)];
        problem(check_problem_kind::missing_index_entry,
                std::string(store::table_name(e.index)), j.id,
                "no entry " + hex(e.key) + " (status " +
                    std::string(to_string(j.status)) + ")");
      }
    }
    if (j.idempotency_key) {
      const std::string key = keys::idempotency(
          keys::scope(j.account_id, j.project_id), *j.idempotency_key);
      auto v = view_.get(table::idempotency, key);
      if (!v) return v.error();
      if (!*v) {
        problem(check_problem_kind::missing_index_entry, "idx_idempotency",
                j.id,
                "no entry for idempotency key \"" + *j.idempotency_key + "\"");
      } else if (**v != keys::id(j.id)) {
        problem(check_problem_kind::missing_index_entry, "idx_idempotency",
                j.id,
                "idempotency key \"" + *j.idempotency_key + "\" names " +
                    ((*v)->size() == job_id::size
                         ? "job " + keys::id_at(**v, 0).to_string()
                         : "a malformed id") +
                    " instead");
      }
    }
    return {};
  }

  // The rules of one record (model/invariants.hpp); with events missing or
  // damaged, those that need no event (the rest would only repeat what is
  // missing).
  void check_history(const job& j, bool history_whole) {
    for (model::invariant_violation& v :
         history_whole ? model::check_invariants(j)
                       : model::check_record_invariants(j)) {
      problem(check_problem_kind::inconsistent_job, "jobs", j.id,
              std::move(v.detail));
    }
  }

  // ---------------------------------------------------------- batches

  result<void> check_batches() {
    for (const auto& [parent, live] : children_) {
      auto it = batches_.find(parent);
      if (it != batches_.end()) continue;
      if (live.pending != 0) {
        problem(check_problem_kind::batch_counters, "jobs", parent,
                std::to_string(live.pending) +
                    " unfinished children name this job as their parent, " +
                    (live_.contains(parent) ? "which is not a batch"
                                            : "which is missing"));
      } else if (live_.contains(parent)) {
        problem(check_problem_kind::batch_counters, "jobs", parent,
                "children name this job as their parent, which is not a "
                "batch");
      }
    }
    for (const auto& [id, parent] : batches_) {
      if (!parent.progress.counts) continue;  // Reported already.
      const progress_counts& c = *parent.progress.counts;
      const auto found = children_.find(id);
      const progress_counts live =
          found == children_.end() ? progress_counts{} : found->second;
      // Only finished children can be purged: unfinished ones must all be
      // there, and when every child is, the counts must match exactly.
      const bool all_there = live.total == c.total;
      const bool ok =
          all_there
              ? live == c
              : live.total < c.total && live.pending == c.pending &&
                    live.running == c.running &&
                    live.succeeded <= c.succeeded &&
                    live.partially_succeeded <= c.partially_succeeded &&
                    live.failed <= c.failed && live.cancelled <= c.cancelled;
      if (!ok) {
        problem(check_problem_kind::batch_counters, "jobs", id,
                "counters say " + model::counts_text(c) +
                    "; the children say " + model::counts_text(live));
      }
    }
    return {};
  }

  // ---------------------------------------------------------- indexes

  // Whether the database's schema has `index` (a database of an earlier
  // schema, which the check reads too, lacks the later ones).
  bool schema_has(table index) const {
    // idx_claimable's keys changed in version 4: an older one's are not
    // this build's to judge.
    if (index == table::by_claimable || index == table::by_deadline) {
      return schema_ >= 4;
    }
    return schema_ >= 3 || index != table::by_lease_expiry;
  }

  result<void> check_indexes() {
    for (std::size_t slot = 0; slot < std::size(record_indexes); ++slot) {
      const table index = record_indexes[slot];
      auto entries = view_.count(index);
      if (!entries) return entries.error();
      report_.index_entries += *entries;
      // Each implied entry was looked up: when none is missing and the
      // counts agree, there is no entry besides them.
      if (missing_[slot] == 0 && *entries == expected_[slot]) continue;
      if (auto r = find_stale(index); !r) return r;
    }
    return {};
  }

  result<void> find_stale(table index) {
    const std::string name(store::table_name(index));
    auto opened = view_.open_cursor(index);
    if (!opened) return opened.error();
    store::cursor& cur = **opened;
    for (auto found = cur.first();; found = cur.next()) {
      if (!found) return found.error();
      if (!*found) break;
      const std::string_view key = cur.key();
      const std::optional<job_id> named = store::indexed_job(index, key);
      if (!named) {
        problem(check_problem_kind::stale_index_entry, name, std::nullopt,
                "entry " + hex(key) + " has the wrong size");
        continue;
      }
      const job_id id = *named;
      if (unreadable_.contains(id)) continue;
      auto v = view_.get(table::jobs, keys::id(id));
      if (!v) return v.error();
      if (!*v) {
        problem(check_problem_kind::stale_index_entry, name, id,
                "entry " + hex(key) + " names a job that has no record");
        continue;
      }
      auto record = record_fields(**v);
      if (!record) continue;  // Reported by the pass over the jobs.
      const job* j = &*record;
      const auto entries = store::index_entries(*j);
      const bool expected = std::any_of(
          entries.begin(), entries.end(), [&](const store::index_entry& e) {
            return e.index == index && e.key == key;
          });
      if (!expected) {
        problem(check_problem_kind::stale_index_entry, name, id,
                "entry " + hex(key) + " does not match the record (status " +
                    std::string(to_string(j->status)) + ")");
      }
    }
    return {};
  }

  result<void> check_idempotency() {
    auto opened = view_.open_cursor(table::idempotency);
    if (!opened) return opened.error();
    store::cursor& cur = **opened;
    for (auto found = cur.first();; found = cur.next()) {
      if (!found) return found.error();
      if (!*found) break;
      ++report_.index_entries;
      const std::string_view key = cur.key();
      const std::string_view value = cur.value();
      if (key.size() != 32 || value.size() != job_id::size) {
        problem(check_problem_kind::stale_index_entry, "idx_idempotency",
                std::nullopt, "entry " + hex(key) + " has the wrong size");
        continue;
      }
      const job_id id = keys::id_at(value, 0);
      if (unreadable_.contains(id)) continue;
      // The entry must name a live job or a tombstone holding that key.
      std::optional<std::string> account, project, idem;
      auto v = view_.get(table::jobs, keys::id(id));
      if (!v) return v.error();
      if (*v) {
        auto record = record_fields(**v);
        if (!record) continue;
        const job& j = *record;
        account = j.account_id, project = j.project_id,
        idem = j.idempotency_key;
      } else {
        auto t = view_.get(table::tombstones, keys::id(id));
        if (!t) return t.error();
        if (!*t) {
          problem(check_problem_kind::stale_index_entry, "idx_idempotency", id,
                  "entry " + hex(key) +
                      " names a job with neither a record nor a tombstone");
          continue;
        }
        auto ts = store::decode_tombstone(**t);
        if (!ts) continue;  // Reported with the tombstones.
        account = ts->account_id, project = ts->project_id,
        idem = ts->idempotency_key;
      }
      if (!idem ||
          keys::idempotency(keys::scope(*account, *project), *idem) != key) {
        problem(check_problem_kind::stale_index_entry, "idx_idempotency", id,
                "entry " + hex(key) + " names a job without that key");
      }
    }
    return {};
  }

  // ------------------------------------------------------- tombstones

  result<void> check_tombstones() {
    std::uint64_t tombstones = 0;
    {
      auto opened = view_.open_cursor(table::tombstones);
      if (!opened) return opened.error();
      store::cursor& cur = **opened;
      for (auto found = cur.first();; found = cur.next()) {
        if (!found) return found.error();
        if (!*found) break;
        ++report_.tombstones;
        ++tombstones;
        const std::string_view key = cur.key();
        if (key.size() != job_id::size) {
          problem(check_problem_kind::corrupt_record, "tombstones",
                  std::nullopt, "key " + hex(key) + " is not a job id");
          continue;
        }
        const job_id id = keys::id_at(key, 0);
        auto t = store::decode_tombstone(cur.value());
        if (!t) {
          problem(check_problem_kind::corrupt_record, "tombstones", id,
                  "the tombstone does not decode: " + t.error().detail());
          continue;
        }
        if (t->id != id) {
          problem(check_problem_kind::corrupt_record, "tombstones", id,
                  "the tombstone holds job " + t->id.to_string());
          continue;
        }
        if (!is_terminal(t->status)) {
          problem(check_problem_kind::bad_tombstone, "tombstones", id,
                  "a tombstone of a " + std::string(to_string(t->status)) +
                      " job (only finished jobs are purged)");
        }
        if (live_.contains(id) || unreadable_.contains(id)) {
          problem(check_problem_kind::bad_tombstone, "tombstones", id,
                  "the job has both a record and a tombstone");
        }
        auto age =
            view_.get(table::by_tombstone_age, keys::by_time(t->purged_at, id));
        if (!age) return age.error();
        if (!*age) {
          problem(check_problem_kind::missing_index_entry, "idx_tombstone_age",
                  id, "the tombstone has no age entry");
        }
      }
    }
    auto ages = view_.count(table::by_tombstone_age);
    if (!ages) return ages.error();
    report_.index_entries += *ages;
    if (*ages == tombstones) return {};
    auto opened = view_.open_cursor(table::by_tombstone_age);
    if (!opened) return opened.error();
    store::cursor& cur = **opened;
    for (auto found = cur.first();; found = cur.next()) {
      if (!found) return found.error();
      if (!*found) break;
      const std::string_view key = cur.key();
      if (key.size() != 8 + job_id::size) {
        problem(check_problem_kind::stale_index_entry, "idx_tombstone_age",
                std::nullopt, "entry " + hex(key) + " has the wrong size");
        continue;
      }
      const job_id id = keys::id_at(key, 8);
      auto t = view_.get(table::tombstones, keys::id(id));
      if (!t) return t.error();
      auto ts = *t ? store::decode_tombstone(**t)
                   : result<store::tombstone>(error(errc::not_found));
      if (!*t || (ts && ts->purged_at != keys::time_at(key))) {
        problem(check_problem_kind::stale_index_entry, "idx_tombstone_age", id,
                "entry " + hex(key) + " names no tombstone of that age");
      }
    }
    return {};
  }

  // ------------------------------------------------------------- feed

  result<void> check_feed() {
    std::unordered_map<job_id, feed_job> latest;
    std::optional<std::uint64_t> previous;
    auto opened = view_.open_cursor(table::changes);
    if (!opened) return opened.error();
    store::cursor& cur = **opened;
    for (auto found = cur.first();; found = cur.next()) {
      if (!found) return found.error();
      if (!*found) break;
      ++report_.changes;
      const std::string_view key = cur.key();
      if (key.size() != 8) {
        problem(check_problem_kind::corrupt_record, "changes", std::nullopt,
                "key " + hex(key) + " is not an 8-byte sequence");
        continue;
      }
      const std::uint64_t seq = keys::sequence_at(key);
      if (previous && seq != *previous + 1) {
        problem(check_problem_kind::feed_gap, "changes", std::nullopt,
                "sequences " + std::to_string(*previous + 1) + " to " +
                    std::to_string(seq - 1) + " are missing",
                *previous + 1);
      }
      previous = seq;
      auto c = store::decode_change(cur.value());
      if (!c) {
        problem(check_problem_kind::corrupt_record, "changes", std::nullopt,
                "the change does not decode: " + c.error().detail(), seq);
        continue;
      }
      if (c->sequence != seq) {
        problem(check_problem_kind::corrupt_record, "changes", c->id,
                "the change records sequence " + std::to_string(c->sequence),
                seq);
        continue;
      }
      feed_job& f = latest[c->id];
      if (f.purged) {
        problem(check_problem_kind::feed_mismatch, "changes", c->id,
                "a change after the job's purge", seq);
      }
      if (c->step == "purged") {
        f.purged = true;
      } else if (f.sequence != 0 && c->revision <= f.revision) {
        problem(check_problem_kind::feed_mismatch, "changes", c->id,
                "revision " + std::to_string(c->revision) +
                    " follows revision " + std::to_string(f.revision),
                seq);
      }
      f.sequence = seq;
      f.revision = c->revision;
      f.status = c->status;
    }
    if (previous && *previous != report_.last_sequence) {
      problem(check_problem_kind::feed_gap, "changes", std::nullopt,
              "the feed ends at sequence " + std::to_string(*previous) +
                  " but the last sequence committed is " +
                  std::to_string(report_.last_sequence));
    }
    for (const auto& [id, f] : latest) {
      if (unreadable_.contains(id)) continue;
      const auto it = live_.find(id);
      if (it == live_.end()) {
        if (!f.purged) {
          problem(check_problem_kind::feed_mismatch, "changes", id,
                  "the feed names a job that has no record and was never "
                  "purged",
                  f.sequence);
        }
        continue;
      }
      if (f.purged) {
        problem(check_problem_kind::feed_mismatch, "changes", id,
                "the feed says purged but the record is there", f.sequence);
      } else if (f.revision != it->second.revision ||
                 f.status != it->second.status) {
        problem(check_problem_kind::feed_mismatch, "changes", id,
                "the latest change records revision " +
                    std::to_string(f.revision) + " (" +
                    std::string(to_string(f.status)) +
                    ") but the record is at revision " +
                    std::to_string(it->second.revision) + " (" +
                    std::string(to_string(it->second.status)) + ")",
                f.sequence);
      }
    }
    return {};
  }

  const store::snapshot& view_;
  const check_options& opts_;
  check_report& report_;

  std::unordered_map<job_id, live_job> live_;
  std::unordered_set<job_id> unreadable_;
  std::uint64_t schema_ = store::schema_version;
  std::optional<orphan_events> orphan_;
  std::map<job_id, job> batches_;
  std::map<job_id, progress_counts> children_;
  // Entries the records imply, per index (in the order of
  // `record_indexes`).
  std::uint64_t expected_[std::size(record_indexes)] = {};
  // Of those, the ones not found.
  std::uint64_t missing_[std::size(record_indexes)] = {};
};

}  // namespace

result<check_report> check_database(const std::string& path,
                                    const check_options& opts) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(
          std::filesystem::path(path) / "data.mdb", ec)) {
    return error(errc::invalid_argument,
                 "no jobstate database in " + path + " (no data.mdb)");
  }
  // An engine's defaults: read-only, only the path and the number of
  // readers matter.
  options where;
  where.path = path;
  auto e = store::open_environment(where, store::access::read_only,
                                   "an integrity check");
  if (!e) return e.error();
  check_report report;
  const auto view = store::view_of(e->txn.get(), e->handles);
  checker c(*view, opts, report);
  if (auto r = c.run(e->schema_present, e->schema); !r) return r.error();
  return report;
}

}  // namespace jobstate
