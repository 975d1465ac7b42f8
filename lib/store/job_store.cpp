#include "store/job_store.hpp"

#include "store/lmdb_backend.hpp"
#include "store/migrate.hpp"

#include <algorithm>
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
  out.reserve(8);
  out.push_back({table::by_scope, keys::by_scope(scope, j.id)});
  out.push_back({table::by_status, keys::by_status(scope, j.status, j.id)});
  out.push_back({table::by_kind, keys::by_kind(scope, j.kind, j.id)});
  if (j.parent_id) {
    out.push_back({table::by_parent, keys::by_related(*j.parent_id, j.id)});
    out.push_back({table::by_parent_status,
                   keys::by_parent_status(*j.parent_id, j.status, j.id)});
  }
  if (j.original_job_id) {
    out.push_back(
        {table::by_original, keys::by_related(*j.original_job_id, j.id)});
  }
  if (j.completed_at) {
    out.push_back({table::by_completed, keys::by_time(*j.completed_at, j.id)});
  }
  if (j.status == job_status::pending && !j.is_batch) {
    out.push_back(
        {table::by_claimable,
         keys::by_claimable(scope, j.kind, model::eligible_at(j), j.id)});
  }
  if (const auto expiry = stored_state::lease_expiry(j)) {
    out.push_back({table::by_lease_expiry, keys::by_time(*expiry, j.id)});
  }
  if (const auto due = model::deadline(j)) {
    out.push_back({table::by_deadline, keys::by_time(*due, j.id)});
  }
  return out;
}

std::optional<job_id> indexed_job(table index, std::string_view key) {
  // Every index key has a fixed size and ends with the job's id: measured
  // once, on the entries of two jobs that have one in every index between
  // them (a pending job is claimable; a running one may hold a lease and
  // have a deadline).
  static const auto sizes = [] {
    job j;
    j.parent_id = job_id{};
    j.original_job_id = job_id{};
    j.completed_at = timestamp{};
    job leased = j;
    leased.status = job_status::running;
    leased.lease = lease{};
    leased.started_at = timestamp{};
    leased.run_timeout = std::chrono::milliseconds(1);
    std::vector<std::pair<table, std::size_t>> out;
    for (const job* probe : {&j, &leased}) {
      for (const index_entry& e : index_entries(*probe)) {
        out.emplace_back(e.index, e.key.size());
      }
    }
    return out;
  }();
  for (const auto& [entry_index, size] : sizes) {
    if (entry_index != index) continue;
    if (key.size() != size) return std::nullopt;
    return keys::id_at(key, size - job_id::size);
  }
  return std::nullopt;
}

result<std::optional<std::string_view>> txn_view::find_record(
    const job_id& id) const {
  return view_->get(table::jobs, keys::id(id));
}

namespace {

error missing_event(const job_id& id, std::uint32_t n, std::uint32_t length) {
  return error(errc::corrupt, "job " + id.to_string() + ": history event " +
                                  std::to_string(n) + " of " +
                                  std::to_string(length) + " is missing");
}

// Decodes event `n` of job `id` into `out`; corrupt names both.
result<void> decode_event_of(const job_id& id, std::uint32_t n,
                             std::string_view bytes, history_event& out) {
  if (auto r = decode_event(bytes, out); !r) {
    return error(errc::corrupt, "job " + id.to_string() + ": history event " +
                                    std::to_string(n) + ": " +
                                    r.error().detail());
  }
  return {};
}

// Whether `key` is job `id`'s event `n`, without building the key.
bool is_event_key(std::string_view key, const job_id& id, std::uint32_t n) {
  return key.size() == keys::history_event_size &&
         std::memcmp(key.data(), id.bytes().data(), job_id::size) == 0 &&
         keys::event_number_at(key) == n;
}

// The record `bytes` of job `id`, checked, with no event read
// (events_before = the history's length).
result<std::optional<stored_job>> decode_found(const job_id& id,
                                               std::string_view bytes) {
  auto record = decode_record(bytes);
  if (!record) {
    return error(errc::corrupt,
                 "job " + id.to_string() + ": " + record.error().detail());
  }
  if (record->value.id != id) {
    return error(errc::corrupt,
                 "job " + id.to_string() + " holds the record of another job");
  }
  return std::optional<stored_job>(
      stored_job{std::move(record->value), record->history_length});
}

}  // namespace

result<std::optional<stored_job>> txn_view::read(const job_id& id,
                                                 history_read how) const {
  if (how == history_read::all) return read_whole(id);
  auto v = find_record(id);
  if (!v) return v.error();
  if (!*v) return std::optional<stored_job>{};
  auto found = decode_found(id, **v);
  if (!found || how == history_read::none) return found;
  // The last event: one lookup.
  stored_job& j = **found;
  const std::uint32_t last = j.events_before - 1;
  auto e = view_->get(table::jobs, keys::history_event(id, last));
  if (!e) return e.error();
  if (!*e) return missing_event(id, last, j.events_before);
  if (auto r = decode_event_of(id, last, **e, j.value.history.emplace_back());
      !r) {
    return r.error();
  }
  j.events_before = last;
  return found;
}

// The record, then its events, which follow it in key order: one cursor.
result<std::optional<stored_job>> txn_view::read_whole(const job_id& id) const {
  auto opened = view_->open_cursor(table::jobs);
  if (!opened) return opened.error();
  cursor& cur = **opened;
  const std::string key = keys::id(id);
  auto at = cur.seek(key);
  if (!at) return at.error();
  if (!*at || cur.key() != key) return std::optional<stored_job>{};
  auto found = decode_found(id, cur.value());
  if (!found) return found;
  stored_job& j = **found;
  const std::uint32_t length = j.events_before;
  // Never reserve what a damaged count claims: a missing event stops it.
  j.value.history.reserve(std::min<std::uint32_t>(length, 1024));
  for (std::uint32_t n = 0; n < length; ++n) {
    auto next = cur.next();
    if (!next) return next.error();
    if (!*next || !is_event_key(cur.key(), id, n)) {
      return missing_event(id, n, length);
    }
    if (auto r =
            decode_event_of(id, n, cur.value(), j.value.history.emplace_back());
        !r) {
      return r.error();
    }
  }
  j.events_before = 0;
  return found;
}

result<std::optional<job>> txn_view::find(const job_id& id,
                                          bool with_history) const {
  auto found = read(id, with_history ? history_read::all : history_read::none);
  if (!found) return found.error();
  if (!*found) return std::optional<job>{};
  return std::optional<job>(std::move((*found)->value));
}

result<std::optional<tombstone>> txn_view::find_tombstone(
    const job_id& id) const {
  auto v = view_->get(table::tombstones, keys::id(id));
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
      view_->get(table::idempotency,
                 keys::idempotency(keys::scope(account_id, project_id), key));
  if (!v) return v.error();
  if (!*v) return std::optional<job_id>{};
  if ((*v)->size() != job_id::size) {
    return error(errc::corrupt, "idempotency index entry has a bad size");
  }
  return std::optional<job_id>(keys::id_at(**v, 0));
}

result<std::uint64_t> txn_view::last_sequence() const {
  return read_last_sequence(*view_);
}

result<std::uint64_t> read_last_sequence(const snapshot& view) {
  auto v = view.get(table::meta, meta_last_seq_key);
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
  auto opened = view_->open_cursor(table::changes);
  if (!opened) return opened.error();
  cursor& cur = **opened;
  auto found = cur.seek(keys::sequence(after + 1));
  if (!found) return found.error();
  if (!*found || keys::sequence_at(cur.key()) != after + 1) {
    return error(errc::expired, "sequence " + std::to_string(after + 1) +
                                    " was trimmed from the change feed");
  }
  std::size_t examined = 0;
  while (true) {
    if (!found) return found.error();
    if (!*found) break;
    auto c = decode_change(cur.value());
    if (!c) {
      return error(errc::corrupt,
                   "change " + std::to_string(keys::sequence_at(cur.key())) +
                       " of the feed: " + c.error().detail());
    }
    page.last_examined = c->sequence;
    if (filter.matches(*c)) page.changes.push_back(std::move(*c));
    if (page.changes.size() == limit || ++examined == scan_limit) break;
    found = cur.next();
  }
  return page;
}

result<std::vector<job_id>> txn_view::child_ids(const job_id& parent) const {
  return ids_with_prefix(table::by_parent, keys::id(parent));
}

result<std::vector<job_id>> txn_view::children(const job_id& parent,
                                               job_status s) const {
  return ids_with_prefix(table::by_parent_status,
                         keys::parent_status_prefix(parent, s));
}

result<std::array<std::uint64_t, 6>> txn_view::count_by_status() const {
  // idx_status keys are scope(16) status(1) id(16): the status byte is at 16.
  std::array<std::uint64_t, 6> counts{};
  auto opened = view_->open_cursor(table::by_status);
  if (!opened) return opened.error();
  cursor& cur = **opened;
  for (auto found = cur.first();; found = cur.next()) {
    if (!found) return found.error();
    if (!*found) break;
    const auto key = cur.key();
    if (key.size() <= 16) continue;
    const auto status = static_cast<std::uint8_t>(key[16]);
    if (status < counts.size()) ++counts[status];
  }
  return counts;
}

result<std::vector<job_id>> txn_view::ids_with_prefix(
    table index, const std::string& prefix) const {
  std::vector<job_id> ids;
  auto opened = view_->open_cursor(index);
  if (!opened) return opened.error();
  cursor& cur = **opened;
  for (auto found = cur.seek(prefix);; found = cur.next()) {
    if (!found) return found.error();
    if (!*found || !starts_with(cur.key(), prefix)) break;
    ids.push_back(keys::id_at(cur.key(), prefix.size()));
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
  table index;
  std::string prefix;
  if (q.parent_id && q.status) {
    index = table::by_parent_status;
    prefix = keys::parent_status_prefix(*q.parent_id, *q.status);
  } else if (q.parent_id) {
    index = table::by_parent;
    prefix = keys::id(*q.parent_id);
  } else if (q.original_job_id) {
    index = table::by_original;
    prefix = keys::id(*q.original_job_id);
  } else if (q.status) {
    index = table::by_status;
    prefix = keys::status_prefix(scope, *q.status);
  } else if (q.kind) {
    index = table::by_kind;
    prefix = keys::kind_prefix(scope, *q.kind);
  } else {
    index = table::by_scope;
    prefix = digest_text(scope);
  }

  auto opened = view_->open_cursor(index);
  if (!opened) return opened.error();
  cursor& cur = **opened;
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
  auto found = cur.seek(start);
  if (!found) return found.error();
  if (!forward) {
    found = *found ? cur.prev() : cur.last();
  } else if (*found && after && cur.key() == start) {
    found = cur.next();  // the cursor's own job was on the previous page
  }

  job_page page;
  const std::size_t id_offset = prefix.size();
  while (true) {
    if (!found) return found.error();
    if (!*found || !starts_with(cur.key(), prefix)) break;
    const job_id id = keys::id_at(cur.key(), id_offset);
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
    found = forward ? cur.next() : cur.prev();
  }
  return page;
}

// ---------------------------------------------------------------- writes

result<void> write_txn::put(table t, std::string_view key,
                            std::string_view value, put_mode mode) {
  auto r = batch_->put(t, key, value, mode);
  if (r) {
    written_ = true;
  } else {
    tainted_ = true;
  }
  return r;
}

result<void> write_txn::del(table t, std::string_view key) {
  auto r = batch_->del(t, key);
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
        r = update(e);
        break;
      case job_effect::kind::purge:
        r = purge(e, now);
        break;
    }
    if (r) r = record_change(j, e.step, now);
    if (!r) return r;
  }
  return {};
}

result<void> write_txn::put_events(const job& j, std::uint32_t events_before,
                                   std::uint32_t from) {
  const auto length =
      events_before + static_cast<std::uint32_t>(j.history.size());
  for (std::uint32_t n = from; n < length; ++n) {
    // Appended after the job's last key, except an event rewritten in place.
    if (auto r = put(table::jobs, keys::history_event(j.id, n),
                     encode(j.history[n - events_before]));
        !r) {
      return r;
    }
  }
  return {};
}

result<void> write_txn::insert(const job& j) {
  const auto length = static_cast<std::uint32_t>(j.history.size());
  if (auto r = put(table::jobs, keys::id(j.id), encode_record(j, length),
                   put_mode::insert_new);
      !r) {
    if (r.code() == errc::already_exists) {
      // Ids are generated unique: a record under a new job's id means the
      // database holds what it should not.
      return error(errc::corrupt,
                   "job id " + j.id.to_string() + " already stored");
    }
    return r;
  }
  if (auto r = put_events(j, 0, 0); !r) return r;
  if (j.idempotency_key) {
    const std::string key = keys::idempotency(
        keys::scope(j.account_id, j.project_id), *j.idempotency_key);
    if (auto r = put(table::idempotency, key, keys::id(j.id)); !r) return r;
  }
  for (const index_entry& e : index_entries(j)) {
    if (auto r = put(e.index, e.key, {}); !r) return r;
  }
  return {};
}

result<void> write_txn::update(const job_effect& e) {
  const stored_state& before = e.before;
  const job& after = *e.subject;
  const auto length =
      e.events_before + static_cast<std::uint32_t>(after.history.size());
  if (e.events_before + 1 > before.history_length || length == 0) {
    return error(errc::corrupt, "job " + after.id.to_string() +
                                    ": an update without its last event");
  }
  if (auto r =
          put(table::jobs, keys::id(after.id), encode_record(after, length));
      !r) {
    return r;
  }
  // New events only, and the last stored one if the mutation replaced it
  // (a progress report at the history limit).
  std::uint32_t from = before.history_length;
  const std::uint32_t last = before.history_length - 1;
  if (after.history[last - e.events_before] != before.last_event) {
    from = last;
  }
  if (auto r = put_events(after, e.events_before, from); !r) return r;
  // Only status, completion time, a lease's expiry and a deadline move
  // index entries.
  const auto lease_expires_at = stored_state::lease_expiry(after);
  const auto deadline = model::deadline(after);
  if (before.status == after.status &&
      before.completed_at == after.completed_at &&
      before.lease_expires_at == lease_expires_at &&
      before.deadline == deadline) {
    return {};
  }
  if (before.deadline != deadline) {
    if (before.deadline) {
      if (auto r = del(table::by_deadline,
                       keys::by_time(*before.deadline, after.id));
          !r)
        return r;
    }
    if (deadline) {
      if (auto r =
              put(table::by_deadline, keys::by_time(*deadline, after.id), {});
          !r)
        return r;
    }
  }
  if (before.lease_expires_at != lease_expires_at) {
    if (before.lease_expires_at) {
      if (auto r = del(table::by_lease_expiry,
                       keys::by_time(*before.lease_expires_at, after.id));
          !r)
        return r;
    }
    if (lease_expires_at) {
      if (auto r = put(table::by_lease_expiry,
                       keys::by_time(*lease_expires_at, after.id), {});
          !r)
        return r;
    }
  }
  const keys::digest scope = keys::scope(after.account_id, after.project_id);
  // No job returns to pending: leaving it is the only claimable change.
  if (before.status == job_status::pending &&
      after.status != job_status::pending && !after.is_batch) {
    if (auto r = del(table::by_claimable,
                     keys::by_claimable(scope, after.kind,
                                        model::eligible_at(after), after.id));
        !r)
      return r;
  }
  if (before.status != after.status) {
    if (auto r = del(table::by_status,
                     keys::by_status(scope, before.status, after.id));
        !r)
      return r;
    if (auto r = put(table::by_status,
                     keys::by_status(scope, after.status, after.id), {});
        !r)
      return r;
    if (after.parent_id) {
      if (auto r = del(table::by_parent_status,
                       keys::by_parent_status(*after.parent_id, before.status,
                                              after.id));
          !r)
        return r;
      if (auto r = put(
              table::by_parent_status,
              keys::by_parent_status(*after.parent_id, after.status, after.id),
              {});
          !r)
        return r;
    }
  }
  if (before.completed_at != after.completed_at) {
    if (before.completed_at) {
      if (auto r = del(table::by_completed,
                       keys::by_time(*before.completed_at, after.id));
          !r)
        return r;
    }
    if (after.completed_at) {
      if (auto r = put(table::by_completed,
                       keys::by_time(*after.completed_at, after.id), {});
          !r)
        return r;
    }
  }
  return {};
}

result<void> write_txn::purge(const job_effect& e, timestamp now) {
  const job& j = *e.subject;
  for (const index_entry& entry : index_entries(j)) {
    if (auto r = del(entry.index, entry.key); !r) return r;
  }
  if (auto r = del(table::jobs, keys::id(j.id)); !r) return r;
  // The events as stored, found by walking them rather than trusted to the
  // record's count, so that a damaged count cannot leave events behind or
  // make a purge loop over billions.
  std::vector<std::string> events;
  {
    auto opened = view_->open_cursor(table::jobs);
    if (!opened) return opened.error();
    cursor& cur = **opened;
    for (auto found = cur.seek(keys::history_event(j.id, 0));;
         found = cur.next()) {
      if (!found) return found.error();
      if (!*found || cur.key().size() != keys::history_event_size ||
          keys::id_at(cur.key(), 0) != j.id) {
        break;
      }
      events.emplace_back(cur.key());
    }
  }
  for (const std::string& key : events) {
    if (auto r = del(table::jobs, key); !r) return r;
  }
  // The idempotency entry stays while the tombstone lasts, so that the key
  // keeps naming this (now purged) job instead of making a new one.
  const tombstone t{j.id,       j.account_id,      j.project_id, j.status,
                    j.revision, j.idempotency_key, now};
  if (auto r = put(table::tombstones, keys::id(j.id), encode(t)); !r) return r;
  return put(table::by_tombstone_age, keys::by_time(now, j.id), {});
}

result<txn_view::claimable> txn_view::find_claimable(
    std::string_view account_id, std::string_view project_id,
    std::span<const std::string> kinds, timestamp now) const {
  const keys::digest scope = keys::scope(account_id, project_id);
  auto opened = view_->open_cursor(table::by_claimable);
  if (!opened) return opened.error();
  cursor& cur = **opened;
  // Each kind's first entry is its next job: the soonest eligible of them
  // is taken if it is eligible now.
  std::optional<std::pair<timestamp, job_id>> first;
  const std::size_t key_size = keys::claimable_time_offset + 8 + job_id::size;
  for (const std::string& kind : kinds) {
    const std::string prefix = keys::kind_prefix(scope, kind);
    auto found = cur.seek(prefix);
    // A key of another size is damage (jobstate-check reports it): stepped
    // over, so that it hides no job behind it.
    for (std::size_t skipped = 0;
         found && *found && cur.key().starts_with(prefix) &&
         cur.key().size() != key_size;
         ++skipped) {
      if (skipped == 64) {
        return error(errc::corrupt,
                     "idx_claimable holds damaged keys; "
                     "jobstate-check lists them");
      }
      found = cur.next();
    }
    if (!found) return found.error();
    if (!*found || !cur.key().starts_with(prefix)) continue;
    const std::pair<timestamp, job_id> entry{
        keys::time_at(cur.key(), keys::claimable_time_offset),
        keys::id_at(cur.key(), prefix.size() + 8)};
    if (!first || entry < *first) first = entry;
  }
  if (!first) return claimable{};
  if (first->first <= now) return claimable{first->second, std::nullopt};
  return claimable{std::nullopt, first->first};
}

namespace {

// The entries of by_time-keyed `index` due by `cutoff` after key `after`,
// at most `max`, appended to `out`.
result<void> due_in(const snapshot& view, table index, timestamp cutoff,
                    std::size_t max, std::string_view after,
                    std::vector<txn_view::due_entry>& out) {
  auto opened = view.open_cursor(index);
  if (!opened) return opened.error();
  cursor& cur = **opened;
  auto found = after.empty() ? cur.first() : cur.seek(after);
  if (found && *found && !after.empty() && cur.key() == after) {
    found = cur.next();
  }
  for (std::size_t n = 0; n < max; ++n, found = cur.next()) {
    if (!found) return found.error();
    if (!*found) break;
    const std::string_view key = cur.key();
    if (key.size() != 8 + job_id::size) continue;  // Damage: check says so.
    if (keys::time_at(key) > cutoff) break;
    out.push_back({std::string(key), keys::id_at(key, 8)});
  }
  return {};
}

result<std::optional<timestamp>> first_time(const snapshot& view, table index) {
  auto opened = view.open_cursor(index);
  if (!opened) return opened.error();
  cursor& cur = **opened;
  auto found = cur.first();
  if (!found) return found.error();
  if (!*found) return std::optional<timestamp>{};
  return std::optional<timestamp>(keys::time_at(cur.key()));
}

}  // namespace

result<std::vector<txn_view::due_entry>> txn_view::due_by(
    timestamp cutoff, std::size_t max, std::string_view after) const {
  std::vector<due_entry> due;
  for (table index : {table::by_lease_expiry, table::by_deadline}) {
    if (auto r = due_in(*view_, index, cutoff, max, after, due); !r) {
      return r.error();
    }
  }
  std::sort(due.begin(), due.end(), [](const due_entry& a, const due_entry& b) {
    return a.key < b.key;
  });
  if (due.size() > max) due.resize(max);
  return due;
}

result<std::optional<timestamp>> txn_view::next_due() const {
  std::optional<timestamp> soonest;
  for (table index : {table::by_lease_expiry, table::by_deadline}) {
    auto at = first_time(*view_, index);
    if (!at) return at.error();
    if (*at && (!soonest || **at < *soonest)) soonest = *at;
  }
  return soonest;
}

result<std::vector<job_id>> write_txn::completed_before(timestamp cutoff,
                                                        std::size_t max) const {
  std::vector<job_id> ids;
  auto opened = view_->open_cursor(table::by_completed);
  if (!opened) return opened.error();
  cursor& cur = **opened;
  for (auto found = cur.first(); ids.size() < max; found = cur.next()) {
    if (!found) return found.error();
    if (!*found || keys::time_at(cur.key()) >= cutoff) break;
    ids.push_back(keys::id_at(cur.key(), 8));
  }
  return ids;
}

result<std::vector<expiring_tombstone>> write_txn::tombstones_to_expire(
    timestamp cutoff, std::size_t max) const {
  std::vector<expiring_tombstone> due;
  {
    auto opened = view_->open_cursor(table::by_tombstone_age);
    if (!opened) return opened.error();
    cursor& cur = **opened;
    for (auto found = cur.first(); due.size() < max; found = cur.next()) {
      if (!found) return found.error();
      if (!*found || keys::time_at(cur.key()) >= cutoff) break;
      due.push_back({std::string(cur.key()), keys::id_at(cur.key(), 8), {}});
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
      if (auto r = del(table::idempotency, *e.idempotency_key); !r) return r;
    }
    if (auto r = del(table::tombstones, keys::id(e.id)); !r) return r;
    if (auto r = del(table::by_tombstone_age, e.age_key); !r) return r;
  }
  return {};
}

result<void> write_txn::record_change(const job& j, std::string_view step,
                                      timestamp at) {
  change_record c{last_seq_ + 1, at,       j.id,       j.account_id,
                  j.project_id,  j.status, j.revision, std::string(step)};
  if (auto r = put(table::changes, keys::sequence(c.sequence), encode(c),
                   put_mode::append);
      !r) {
    if (r.code() == errc::already_exists) {
      // The log already holds this sequence or a later one: the meta
      // data's last_sequence lags the log it should end.
      return error(errc::corrupt, "change-log sequence " +
                                      std::to_string(c.sequence) +
                                      " is already taken");
    }
    return r;
  }
  last_seq_ = c.sequence;
  changes_.push_back(std::move(c));
  return {};
}

result<bool> write_txn::changes_to_trim(
    std::uint64_t keep_count, timestamp cutoff,
    std::optional<change_position>* oldest) const {
  auto opened = view_->open_cursor(table::changes);
  if (!opened) return opened.error();
  cursor& cur = **opened;
  auto found = cur.first();
  if (!found) return found.error();
  if (!*found) return false;
  if (last_seq_ - keys::sequence_at(cur.key()) >= keep_count) return true;
  auto c = decode_change(cur.value());
  if (!c) return c.error();
  if (c->at < cutoff) return true;
  if (oldest != nullptr) *oldest = change_position{c->sequence, c->at};
  return false;
}

result<void> write_txn::trim_changes(std::uint64_t keep_count, timestamp cutoff,
                                     std::size_t budget) {
  auto opened = view_->open_cursor(table::changes);
  if (!opened) return opened.error();
  cursor& cur = **opened;
  for (std::size_t n = 0; n < budget; ++n) {
    auto found = cur.first();
    if (!found) return found.error();
    if (!*found) break;
    const std::uint64_t seq = keys::sequence_at(cur.key());
    const bool beyond_count = last_seq_ - seq >= keep_count;
    if (!beyond_count) {
      // Within the count: trim only if older than the age limit.
      auto c = decode_change(cur.value());
      if (!c) return c.error();
      if (c->at >= cutoff) break;
    }
    const std::string oldest(cur.key());
    if (auto r = del(table::changes, oldest); !r) return r;
  }
  return {};
}

result<void> write_txn::commit() {
  result<void> r;
  if (!changes_.empty()) {
    r = put(table::meta, meta_last_seq_key, encode_u64(last_seq_));
  }
  if (r) {
    r = batch_->commit();
  } else {
    batch_->abort();
  }
  return r;
}

void write_txn::abort() noexcept { batch_->abort(); }

// ---------------------------------------------------------------- store

result<std::unique_ptr<job_store>> job_store::open(const options& opts) {
  if (auto r = check_directory(opts.path); !r) return r.error();
  auto storage = lmdb_backend::open(opts);
  if (!storage) return storage.error();
  if (auto r = migrate(**storage); !r) return r.error();
  return std::make_unique<job_store>(std::move(*storage));
}

job_store::job_store(std::unique_ptr<backend> storage)
    : storage_(std::move(storage)) {}

job_store::~job_store() = default;

result<read_txn> job_store::begin_read() const {
  auto view = storage_->begin_read();
  if (!view) return view.error();
  return read_txn(std::move(*view));
}

result<write_txn> job_store::begin_write() {
  auto batch = storage_->begin_write();
  if (!batch) return batch.error();
  auto seq = read_last_sequence(**batch);
  if (!seq) return seq.error();
  return write_txn(std::move(*batch), *seq);
}

}  // namespace jobstate::store
