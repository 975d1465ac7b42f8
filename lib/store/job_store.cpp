#include "store/job_store.hpp"

#include "store/environment.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sys/stat.h>
#include <system_error>

namespace jobstate::store {
namespace {

// Cursors are "1" followed by the 32 hex digits of the last id returned: the
// version digit lets a later format refuse an old cursor clearly.
constexpr char cursor_version = '1';

std::string encode_cursor(const job_id& id) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s(1, cursor_version);
  for (std::uint8_t b : id.bytes()) {
    s.push_back(digits[b >> 4]);
    s.push_back(digits[b & 0xf]);
  }
  return s;
}

std::optional<job_id> decode_cursor(std::string_view s) {
  if (s.size() != 33 || s[0] != cursor_version) return std::nullopt;
  job_id::bytes_type b{};
  for (std::size_t i = 0; i < 16; ++i) {
    int v = 0;
    for (char c : s.substr(1 + 2 * i, 2)) {
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= c - '0';
      else if (c >= 'a' && c <= 'f')
        v |= c - 'a' + 10;
      else
        return std::nullopt;
    }
    b[i] = static_cast<std::uint8_t>(v);
  }
  return job_id(b);
}

std::string encode_u64(std::uint64_t v) { return keys::sequence(v); }

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string digest_text(const keys::digest& d) {
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

// Whether job `j` passes the filters of `q` (the index used may not cover
// them all, and hashed index keys must be verified).
bool matches(const job& j, const list_query& q) {
  return j.account_id == q.account_id && j.project_id == q.project_id &&
         (!q.status || j.status == *q.status) &&
         (!q.kind || j.kind == *q.kind) &&
         (!q.parent_id || j.parent_id == q.parent_id) &&
         (!q.original_job_id || j.original_job_id == q.original_job_id);
}

result<void> check_directory(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (std::filesystem::exists(status)) {
    if (!std::filesystem::is_directory(status)) {
      return error(
          errc::invalid_argument,
          "options.path " + path +
              " is not a directory; name a directory for the database");
    }
    return {};
  }
  // Each missing component with mkdir, an existing one being no error. Not
  // std::filesystem::create_directories: libstdc++ 12's crashed (SEGV, seen
  // under ASan) when eight threads created one directory at once through
  // spellings such as "db/.", which is what concurrent opens do.
  std::filesystem::path so_far;
  for (const auto& part : std::filesystem::path(path).lexically_normal()) {
    if (part.empty()) continue;  // The trailing "" of "db/".
    so_far /= part;
    if (::mkdir(so_far.c_str(), 0777) != 0 && errno != EEXIST) {
      const int saved = errno;
      return error(errc::io_error, "cannot create directory " +
                                       so_far.string() + ": " +
                                       std::strerror(saved));
    }
  }
  if (!std::filesystem::is_directory(path, ec)) {
    return error(errc::invalid_argument,
                 "options.path " + path +
                     " is not a directory; name a directory for the database");
  }
  return {};
}

}  // namespace

// ---------------------------------------------------------------- reads

std::vector<index_entry> index_entries(const job& j) {
  const keys::digest scope = keys::scope(j.account_id, j.project_id);
  std::vector<index_entry> out;
  out.reserve(7);
  out.push_back({&databases::by_scope, keys::by_scope(scope, j.id)});
  out.push_back(
      {&databases::by_status, keys::by_status(scope, j.status, j.id)});
  out.push_back({&databases::by_kind, keys::by_kind(scope, j.kind, j.id)});
  if (j.parent_id) {
    out.push_back(
        {&databases::by_parent, keys::by_related(*j.parent_id, j.id)});
    out.push_back({&databases::by_parent_status,
                   keys::by_parent_status(*j.parent_id, j.status, j.id)});
  }
  if (j.original_job_id) {
    out.push_back(
        {&databases::by_original, keys::by_related(*j.original_job_id, j.id)});
  }
  if (j.completed_at) {
    out.push_back(
        {&databases::by_completed, keys::by_time(*j.completed_at, j.id)});
  }
  return out;
}

std::optional<job_id> indexed_job(MDB_dbi databases::*dbi,
                                  std::string_view key) {
  // Every index key has a fixed size and ends with the job's id: measured
  // once, on the entries of a job that has one in every index.
  static const auto sizes = [] {
    job j;
    j.parent_id = job_id{};
    j.original_job_id = job_id{};
    j.completed_at = timestamp{};
    std::vector<std::pair<MDB_dbi databases::*, std::size_t>> out;
    for (const index_entry& e : index_entries(j)) {
      out.emplace_back(e.dbi, e.key.size());
    }
    return out;
  }();
  for (const auto& [index, size] : sizes) {
    if (index != dbi) continue;
    if (key.size() != size) return std::nullopt;
    return keys::id_at(key, size - job_id::size);
  }
  return std::nullopt;
}

result<std::optional<std::string_view>> txn_view::find_record(
    const job_id& id) const {
  return lmdb::get(txn_, dbs_->jobs, keys::id(id));
}

result<std::optional<job>> txn_view::find(const job_id& id,
                                          bool with_history) const {
  auto v = find_record(id);
  if (!v) return v.error();
  if (!*v) return std::optional<job>{};
  auto j = read_job(txn_, *dbs_, id, **v, with_history);
  if (!j) return j.error();
  return std::optional<job>(std::move(*j));
}

result<job> read_job(MDB_txn* txn, const databases& dbs, const job_id& id,
                     std::string_view record, bool with_history) {
  auto r = decode_record(record);
  if (!r) {
    return error(errc::corrupt,
                 "job " + id.to_string() + ": " + r.error().detail());
  }
  if (r->job.id != id) {
    return error(errc::corrupt,
                 "job " + id.to_string() + " holds the record of another job");
  }
  job& j = r->job;
  if (r->history_length == 0 || !with_history) return std::move(j);
  // The events follow the record in key order: one cursor walks them.
  auto cur = lmdb::cursor::open(txn, dbs.jobs);
  if (!cur) return cur.error();
  j.history.reserve(r->history_length);
  const std::string record_key = keys::id(id);
  auto found = cur->seek(keys::history_event(id, 0));
  for (std::uint32_t n = 0; n < r->history_length; ++n) {
    if (!found) return found.error();
    const std::string_view key = *found ? cur->key() : std::string_view();
    if (key.size() != keys::history_event_size ||
        key.substr(0, job_id::size) != record_key ||
        keys::event_number_at(key) != n) {
      return error(errc::corrupt, "job " + id.to_string() + ": history event " +
                                      std::to_string(n) + " of " +
                                      std::to_string(r->history_length) +
                                      " is missing");
    }
    auto e = decode_event(cur->value());
    if (!e) {
      return error(errc::corrupt, "job " + id.to_string() + ": history event " +
                                      std::to_string(n) + ": " +
                                      e.error().detail());
    }
    j.history.push_back(std::move(*e));
    found = cur->next();
  }
  return std::move(j);
}

result<std::optional<tombstone>> txn_view::find_tombstone(
    const job_id& id) const {
  auto v = lmdb::get(txn_, dbs_->tombstones, keys::id(id));
  if (!v) return v.error();
  if (!*v) return std::optional<tombstone>{};
  auto t = decode_tombstone(**v);
  if (!t) {
    return error(errc::corrupt, "tombstone of job " + id.to_string() + ": " +
                                    t.error().detail());
  }
  if (t->id != id) {
    return error(errc::corrupt, "tombstone of job " + id.to_string() +
                                    " holds the tombstone of another job");
  }
  return std::optional<tombstone>(std::move(*t));
}

result<std::optional<job_id>> txn_view::find_idempotent(
    std::string_view account_id, std::string_view project_id,
    std::string_view key) const {
  auto v =
      lmdb::get(txn_, dbs_->idempotency,
                keys::idempotency(keys::scope(account_id, project_id), key));
  if (!v) return v.error();
  if (!*v) return std::optional<job_id>{};
  if ((*v)->size() != job_id::size) {
    return error(errc::corrupt, "idempotency index entry has a bad size");
  }
  return std::optional<job_id>(keys::id_at(**v, 0));
}

result<std::uint64_t> txn_view::last_sequence() const {
  return read_last_sequence(txn_, *dbs_);
}

result<std::uint64_t> read_last_sequence(MDB_txn* txn, const databases& dbs) {
  auto v = lmdb::get(txn, dbs.meta, meta_last_seq_key);
  if (!v) return v.error();
  if (!*v) return std::uint64_t{0};
  if ((*v)->size() != 8) return error(errc::corrupt, "meta last_sequence");
  return keys::sequence_at(**v);
}

result<change_feed_page> txn_view::read_changes(std::uint64_t after,
                                                std::size_t limit,
                                                const change_filter& filter,
                                                std::size_t scan_limit) const {
  auto last = last_sequence();
  if (!last) return last.error();
  if (after > *last) {
    return error(errc::invalid_argument,
                 "sequence " + std::to_string(after) +
                     " is beyond the latest committed (" +
                     std::to_string(*last) +
                     "); resume only from sequences this database gave");
  }
  change_feed_page page;
  page.last_examined = *last;
  if (after == *last) return page;
  auto cur = lmdb::cursor::open(txn_, dbs_->changes);
  if (!cur) return cur.error();
  auto found = cur->seek(keys::sequence(after + 1));
  if (!found) return found.error();
  if (!*found || keys::sequence_at(cur->key()) != after + 1) {
    return error(errc::expired, "sequence " + std::to_string(after + 1) +
                                    " was trimmed from the change feed");
  }
  std::size_t examined = 0;
  while (true) {
    if (!found) return found.error();
    if (!*found) break;
    auto c = decode_change(cur->value());
    if (!c) {
      return error(errc::corrupt,
                   "change " + std::to_string(keys::sequence_at(cur->key())) +
                       " of the feed: " + c.error().detail());
    }
    page.last_examined = c->sequence;
    if (filter.matches(*c)) page.changes.push_back(std::move(*c));
    if (page.changes.size() == limit || ++examined == scan_limit) break;
    found = cur->next();
  }
  return page;
}

result<std::vector<job_id>> txn_view::child_ids(const job_id& parent) const {
  return ids_with_prefix(dbs_->by_parent, keys::id(parent));
}

result<std::vector<job_id>> txn_view::children(const job_id& parent,
                                               job_status s) const {
  return ids_with_prefix(dbs_->by_parent_status,
                         keys::parent_status_prefix(parent, s));
}

result<std::array<std::uint64_t, 6>> txn_view::count_by_status() const {
  // idx_status keys are scope(16) status(1) id(16): the status byte is at 16.
  std::array<std::uint64_t, 6> counts{};
  auto cur = lmdb::cursor::open(txn_, dbs_->by_status);
  if (!cur) return cur.error();
  for (auto found = cur->first();; found = cur->next()) {
    if (!found) return found.error();
    if (!*found) break;
    const auto key = cur->key();
    if (key.size() <= 16) continue;
    const auto status = static_cast<std::uint8_t>(key[16]);
    if (status < counts.size()) ++counts[status];
  }
  return counts;
}

result<std::vector<job_id>> txn_view::ids_with_prefix(
    MDB_dbi dbi, const std::string& prefix) const {
  std::vector<job_id> ids;
  auto cur = lmdb::cursor::open(txn_, dbi);
  if (!cur) return cur.error();
  for (auto found = cur->seek(prefix);; found = cur->next()) {
    if (!found) return found.error();
    if (!*found || !starts_with(cur->key(), prefix)) break;
    ids.push_back(keys::id_at(cur->key(), prefix.size()));
  }
  return ids;
}

result<job_page> txn_view::list(const list_query& q) const {
  std::optional<job_id> after;
  if (!q.cursor.empty()) {
    after = decode_cursor(q.cursor);
    if (!after) {
      return error(errc::invalid_argument,
                   "cursor \"" + q.cursor.substr(0, 64) +
                       "\" is not one this engine made; pass next_cursor "
                       "from a previous page unchanged");
    }
  }
  // Pick the narrowest index the query allows; matches() checks the rest.
  const keys::digest scope = keys::scope(q.account_id, q.project_id);
  MDB_dbi dbi;
  std::string prefix;
  if (q.parent_id && q.status) {
    dbi = dbs_->by_parent_status;
    prefix = keys::parent_status_prefix(*q.parent_id, *q.status);
  } else if (q.parent_id) {
    dbi = dbs_->by_parent;
    prefix = keys::id(*q.parent_id);
  } else if (q.original_job_id) {
    dbi = dbs_->by_original;
    prefix = keys::id(*q.original_job_id);
  } else if (q.status) {
    dbi = dbs_->by_status;
    prefix = keys::status_prefix(scope, *q.status);
  } else if (q.kind) {
    dbi = dbs_->by_kind;
    prefix = keys::kind_prefix(scope, *q.kind);
  } else {
    dbi = dbs_->by_scope;
    prefix = digest_text(scope);
  }

  auto cur = lmdb::cursor::open(txn_, dbi);
  if (!cur) return cur.error();
  // Newest first: start just below the cursor's id (or past the prefix's
  // end) and walk backwards. Ids only grow, so jobs created meanwhile sort
  // above the cursor and never shift a page. Oldest first: start just above
  // the cursor's id (or at the prefix's start) and walk forwards; jobs
  // created meanwhile come on later pages.
  const bool forward = q.order == list_order::oldest_first;
  std::string start = prefix;
  if (after) {
    start += keys::id(*after);
  } else if (!forward) {
    start.append(job_id::size, '\xff');
  }
  auto found = cur->seek(start);
  if (!found) return found.error();
  if (!forward) {
    found = *found ? cur->prev() : cur->last();
  } else if (*found && after && cur->key() == start) {
    found = cur->next();  // the cursor's own job was on the previous page
  }

  job_page page;
  const std::size_t id_offset = prefix.size();
  while (true) {
    if (!found) return found.error();
    if (!*found || !starts_with(cur->key(), prefix)) break;
    const job_id id = keys::id_at(cur->key(), id_offset);
    auto j = find(id, q.with_history);
    if (!j) return j.error();
    if (*j && matches(**j, q)) {
      if (page.jobs.size() == q.limit) {
        // One more match exists: there is a next page.
        page.next_cursor = encode_cursor(page.jobs.back().id);
        break;
      }
      page.jobs.push_back(std::move(**j));
    }
    found = forward ? cur->next() : cur->prev();
  }
  return page;
}

// ---------------------------------------------------------------- writes

result<void> write_txn::put(MDB_dbi dbi, std::string_view key,
                            std::string_view value, unsigned flags) {
  auto r = lmdb::put(txn_, dbi, key, value, flags);
  if (r) {
    written_ = true;
  } else {
    tainted_ = true;
  }
  return r;
}

result<void> write_txn::del(MDB_dbi dbi, std::string_view key) {
  auto r = lmdb::del(txn_, dbi, key);
  if (r) {
    written_ = true;
  } else {
    tainted_ = true;
  }
  return r;
}

result<void> write_txn::apply(std::span<const job_effect> effects,
                              timestamp now) {
  for (const job_effect& e : effects) {
    const job& j = *e.subject;
    result<void> r;
    switch (e.what) {
      case job_effect::kind::insert:
        r = insert(j);
        break;
      case job_effect::kind::update:
        r = update(e.before, j);
        break;
      case job_effect::kind::purge:
        r = purge(j, now);
        break;
    }
    if (r) r = record_change(j, e.step, now);
    if (!r) {
      // Earlier effects may be written: the transaction is not whole.
      tainted_ = true;
      return r;
    }
  }
  return {};
}

result<void> write_txn::insert(const job& j) {
  if (auto r = put(dbs_->jobs, keys::id(j.id), encode(j), MDB_NOOVERWRITE);
      !r) {
    if (r.code() == errc::io_error) {
      return error(errc::corrupt,
                   "job id " + j.id.to_string() + " already stored");
    }
    return r;
  }
  if (j.idempotency_key) {
    const std::string key = keys::idempotency(
        keys::scope(j.account_id, j.project_id), *j.idempotency_key);
    if (auto r = put(dbs_->idempotency, key, keys::id(j.id)); !r) return r;
  }
  if (auto r = put_events(j, 0, j.history.size()); !r) return r;
  for (const index_entry& e : index_entries(j)) {
    if (auto r = put(dbs_->*e.dbi, e.key, {}); !r) return r;
  }
  return {};
}

result<void> write_txn::put_events(const job& j, std::size_t from,
                                   std::size_t to) {
  for (std::size_t n = from; n < to; ++n) {
    if (auto r = put(dbs_->jobs,
                     keys::history_event(j.id, static_cast<std::uint32_t>(n)),
                     encode(j.history[n]));
        !r) {
      return r;
    }
  }
  return {};
}

result<void> write_txn::update(const stored_state& before, const job& after) {
  // Events before the last stored one never change; the last one may have
  // been replaced (a progress event at the history cap) or followed.
  const std::size_t stored = before.history_length;
  const std::size_t now_has = after.history.size();
  if (now_has < stored || now_has == 0) {
    return error(errc::corrupt,
                 "job " + after.id.to_string() + " would lose history events");
  }
  if (auto r = put(dbs_->jobs, keys::id(after.id), encode(after)); !r) {
    return r;
  }
  const std::size_t first_changed = now_has == stored ? stored - 1 : stored;
  if (auto r = put_events(after, first_changed, now_has); !r) return r;
  // Only status and completion time move index entries.
  if (before.status == after.status &&
      before.completed_at == after.completed_at) {
    return {};
  }
  const keys::digest scope = keys::scope(after.account_id, after.project_id);
  if (before.status != after.status) {
    if (auto r = del(dbs_->by_status,
                     keys::by_status(scope, before.status, after.id));
        !r)
      return r;
    if (auto r = put(dbs_->by_status,
                     keys::by_status(scope, after.status, after.id), {});
        !r)
      return r;
    if (after.parent_id) {
      if (auto r = del(dbs_->by_parent_status,
                       keys::by_parent_status(*after.parent_id, before.status,
                                              after.id));
          !r)
        return r;
      if (auto r = put(
              dbs_->by_parent_status,
              keys::by_parent_status(*after.parent_id, after.status, after.id),
              {});
          !r)
        return r;
    }
  }
  if (before.completed_at != after.completed_at) {
    if (before.completed_at) {
      if (auto r = del(dbs_->by_completed,
                       keys::by_time(*before.completed_at, after.id));
          !r)
        return r;
    }
    if (after.completed_at) {
      if (auto r = put(dbs_->by_completed,
                       keys::by_time(*after.completed_at, after.id), {});
          !r)
        return r;
    }
  }
  return {};
}

result<void> write_txn::purge(const job& j, timestamp now) {
  for (const index_entry& e : index_entries(j)) {
    if (auto r = del(dbs_->*e.dbi, e.key); !r) return r;
  }
  if (auto r = del(dbs_->jobs, keys::id(j.id)); !r) return r;
  for (std::size_t n = 0; n < j.history.size(); ++n) {
    if (auto r = del(dbs_->jobs,
                     keys::history_event(j.id, static_cast<std::uint32_t>(n)));
        !r) {
      return r;
    }
  }
  // The idempotency entry stays while the tombstone lasts, so that the key
  // keeps naming this (now purged) job instead of making a new one.
  const tombstone t{j.id,       j.account_id,      j.project_id, j.status,
                    j.revision, j.idempotency_key, now};
  if (auto r = put(dbs_->tombstones, keys::id(j.id), encode(t)); !r) return r;
  return put(dbs_->by_tombstone_age, keys::by_time(now, j.id), {});
}

result<std::vector<job_id>> write_txn::completed_before(timestamp cutoff,
                                                        std::size_t max) const {
  std::vector<job_id> ids;
  auto cur = lmdb::cursor::open(txn_, dbs_->by_completed);
  if (!cur) return cur.error();
  for (auto found = cur->first(); ids.size() < max; found = cur->next()) {
    if (!found) return found.error();
    if (!*found || keys::time_at(cur->key()) >= cutoff) break;
    ids.push_back(keys::id_at(cur->key(), 8));
  }
  return ids;
}

result<std::vector<expiring_tombstone>> write_txn::tombstones_to_expire(
    timestamp cutoff, std::size_t max) const {
  std::vector<expiring_tombstone> due;
  {
    auto cur = lmdb::cursor::open(txn_, dbs_->by_tombstone_age);
    if (!cur) return cur.error();
    for (auto found = cur->first(); due.size() < max; found = cur->next()) {
      if (!found) return found.error();
      if (!*found || keys::time_at(cur->key()) >= cutoff) break;
      due.push_back({std::string(cur->key()), keys::id_at(cur->key(), 8), {}});
    }
  }
  for (expiring_tombstone& e : due) {
    auto t = find_tombstone(e.id);
    if (!t) return t.error();
    if (!*t || !(*t)->idempotency_key) continue;
    const tombstone& ts = **t;
    auto mapped =
        find_idempotent(ts.account_id, ts.project_id, *ts.idempotency_key);
    if (!mapped) return mapped.error();
    // The key may name a newer job by now; that entry stays.
    if (*mapped == e.id) {
      e.idempotency_key = keys::idempotency(
          keys::scope(ts.account_id, ts.project_id), *ts.idempotency_key);
    }
  }
  return due;
}

result<void> write_txn::expire(std::span<const expiring_tombstone> tombstones) {
  for (const expiring_tombstone& e : tombstones) {
    if (e.idempotency_key) {
      if (auto r = del(dbs_->idempotency, *e.idempotency_key); !r) return r;
    }
    if (auto r = del(dbs_->tombstones, keys::id(e.id)); !r) return r;
    if (auto r = del(dbs_->by_tombstone_age, e.age_key); !r) return r;
  }
  return {};
}

result<void> write_txn::record_change(const job& j, std::string_view step,
                                      timestamp at) {
  change_record c{last_seq_ + 1, at,       j.id,       j.account_id,
                  j.project_id,  j.status, j.revision, std::string(step)};
  if (auto r =
          put(dbs_->changes, keys::sequence(c.sequence), encode(c), MDB_APPEND);
      !r) {
    return r;
  }
  last_seq_ = c.sequence;
  changes_.push_back(std::move(c));
  return {};
}

result<bool> write_txn::changes_to_trim(std::uint64_t keep_count,
                                        timestamp cutoff) const {
  auto cur = lmdb::cursor::open(txn_, dbs_->changes);
  if (!cur) return cur.error();
  auto found = cur->first();
  if (!found) return found.error();
  if (!*found) return false;
  if (last_seq_ - keys::sequence_at(cur->key()) >= keep_count) return true;
  auto c = decode_change(cur->value());
  if (!c) return c.error();
  return c->at < cutoff;
}

result<void> write_txn::trim_changes(std::uint64_t keep_count, timestamp cutoff,
                                     std::size_t budget) {
  auto cur = lmdb::cursor::open(txn_, dbs_->changes);
  if (!cur) return cur.error();
  for (std::size_t n = 0; n < budget; ++n) {
    auto found = cur->first();
    if (!found) return found.error();
    if (!*found) break;
    const std::uint64_t seq = keys::sequence_at(cur->key());
    const bool beyond_count = last_seq_ - seq >= keep_count;
    if (!beyond_count) {
      // Within the count: trim only if older than the age limit.
      auto c = decode_change(cur->value());
      if (!c) return c.error();
      if (c->at >= cutoff) break;
    }
    if (int rc = mdb_cursor_del(cur->get(), 0); rc != 0) {
      tainted_ = true;
      return lmdb::to_error(rc, "trimming the change feed");
    }
    written_ = true;
  }
  return {};
}

result<void> write_txn::commit() {
  result<void> r;
  if (!changes_.empty()) {
    r = put(dbs_->meta, meta_last_seq_key, encode_u64(last_seq_));
  }
  if (r) {
    r = root_.commit();
  } else {
    root_.abort();
  }
  txn_ = nullptr;
  pass_.release();
  return r;
}

void write_txn::abort() noexcept {
  root_.abort();
  txn_ = nullptr;
  pass_.release();
}

// ---------------------------------------------------------------- store

result<std::unique_ptr<job_store>> job_store::open(const options& opts) {
  if (auto r = check_directory(opts.path); !r) return r.error();
  auto e = open_environment(opts, access::read_write, "an engine");
  if (!e) return e.error();
  // The sub-database handles (and a new database's stamp) outlive the
  // first transaction only once it commits.
  if (auto r = e->txn.commit(); !r) return r.error();
  std::unique_ptr<job_store> s(new job_store());
  s->claim_ = std::move(e->claim);
  s->env_ = std::move(e->env);
  s->dbs_ = e->dbs;
  s->opts_ = opts;
  return s;
}

job_store::~job_store() = default;

result<void> job_store::adopt_resized_map() const {
  return gate_.exclusively([this]() -> result<void> {
    // Size 0 adopts the size another process set.
    if (int rc = mdb_env_set_mapsize(env_.get(), 0); rc != 0) {
      return lmdb::to_error(rc, "mdb_env_set_mapsize");
    }
    return {};
  });
}

result<read_txn> job_store::begin_read() const {
  for (int attempt = 0;; ++attempt) {
    resize_gate::pass pass = gate_.enter();
    MDB_txn* t = nullptr;
    const int rc = mdb_txn_begin(env_.get(), nullptr, MDB_RDONLY, &t);
    if (rc == 0) return read_txn(std::move(pass), lmdb::txn(t), dbs_);
    if (rc != MDB_MAP_RESIZED || attempt >= max_resize_adoptions)
      return lmdb::to_error(rc, "beginning a read transaction");
    pass.release();
    if (auto r = adopt_resized_map(); !r) return r.error();
  }
}

result<write_txn> job_store::begin_write() {
  for (int attempt = 0;; ++attempt) {
    resize_gate::pass pass = gate_.enter();
    MDB_txn* t = nullptr;
    const int rc = mdb_txn_begin(env_.get(), nullptr, 0, &t);
    if (rc == 0) {
      lmdb::txn handle(t);
      auto seq = read_last_sequence(t, dbs_);
      if (!seq) return seq.error();
      return write_txn(std::move(pass), std::move(handle), dbs_, *seq);
    }
    if (rc != MDB_MAP_RESIZED || attempt >= max_resize_adoptions)
      return lmdb::to_error(rc, "beginning a write transaction");
    pass.release();
    if (auto r = adopt_resized_map(); !r) return r.error();
  }
}

result<bool> job_store::grow() {
  return gate_.exclusively([this]() -> result<bool> {
    MDB_envinfo info;
    mdb_env_info(env_.get(), &info);
    const std::uint64_t current = info.me_mapsize;
    if (current >= opts_.max_map_size) return false;
    const std::uint64_t next =
        std::min<std::uint64_t>(current * 2, opts_.max_map_size);
    if (int rc = mdb_env_set_mapsize(env_.get(), next); rc != 0) {
      return lmdb::to_error(rc, "growing the map");
    }
    return true;
  });
}

result<void> job_store::grow_for_purge(std::uint64_t bytes) {
  return gate_.exclusively([this, bytes]() -> result<void> {
    MDB_envinfo info;
    mdb_env_info(env_.get(), &info);
    if (int rc = mdb_env_set_mapsize(env_.get(), info.me_mapsize + bytes);
        rc != 0) {
      return lmdb::to_error(rc, "growing the map for purge");
    }
    return {};
  });
}

result<void> job_store::advance_transaction_id() {
  auto w = begin_write();
  if (!w) return w.error();
  // Rewriting the schema version with its own value dirties a page, so the
  // commit writes a new meta page with the next transaction id.
  if (auto r = w->put(dbs_.meta, meta_schema_key, encode_u64(schema_version));
      !r) {
    w->abort();
    return r;
  }
  return w->commit();
}

bool job_store::can_grow() const {
  // Inside the gate: a reader adopting another process's size changes it.
  resize_gate::pass pass = gate_.enter();
  MDB_envinfo info;
  mdb_env_info(env_.get(), &info);
  return info.me_mapsize < opts_.max_map_size;
}

std::uint64_t job_store::map_size() const {
  resize_gate::pass pass = gate_.enter();
  MDB_envinfo info;
  mdb_env_info(env_.get(), &info);
  return info.me_mapsize;
}

}  // namespace jobstate::store
