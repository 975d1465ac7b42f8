#include "store/migrate.hpp"

#include "model/schedules.hpp"
#include "store/codec.hpp"
#include "store/keys.hpp"
#include "store/meta.hpp"

#include <string>
#include <vector>

namespace jobstate::store {
namespace {

// Schema 1 -> 2 (then 2 -> 3 below): every record is rewritten without its
// history, and each event is put under its own key right after it.
result<void> split_histories(write_batch& w) {
  // The ids first: the loop below writes into the table it would walk.
  std::vector<job_id> ids;
  {
    auto opened = w.open_cursor(table::jobs);
    if (!opened) return opened.error();
    cursor& cur = **opened;
    for (auto found = cur.first();; found = cur.next()) {
      if (!found) return found.error();
      if (!*found) break;
      if (cur.key().size() != job_id::size) {
        return error(errc::corrupt,
                     "a schema-1 jobs key of " +
                         std::to_string(cur.key().size()) +
                         " bytes; jobstate-check lists every damaged record");
      }
      ids.push_back(keys::id_at(cur.key(), 0));
    }
  }
  for (const job_id& id : ids) {
    const std::string key = keys::id(id);
    auto bytes = w.get(table::jobs, key);
    if (!bytes) return bytes.error();
    if (!*bytes)
      return error(errc::corrupt, "job " + id.to_string() + " vanished");
    auto j = decode_job_v1(**bytes);
    if (!j || j->id != id || j->history.empty()) {
      return error(errc::corrupt,
                   "job " + id.to_string() +
                       ": its schema-1 record does not decode, so the "
                       "database was not migrated; jobstate-check lists every "
                       "damaged record");
    }
    const auto length = static_cast<std::uint32_t>(j->history.size());
    if (auto r = w.put(table::jobs, key, encode_record(*j, length),
                       put_mode::upsert);
        !r) {
      return r;
    }
    for (std::uint32_t n = 0; n < length; ++n) {
      if (auto r = w.put(table::jobs, keys::history_event(id, n),
                         encode(j->history[n]), put_mode::upsert);
          !r) {
        return r;
      }
    }
  }
  return {};
}

// Schema 3 -> 4: idx_claimable's keys gain the time each job becomes
// claimable, so version 3's entries go (index_claimable writes them anew).
// No job has a schedule or time limit yet: idx_deadlines starts empty.
result<void> drop_claimable(write_batch& w) {
  std::vector<std::string> stale;
  {
    auto opened = w.open_cursor(table::by_claimable);
    if (!opened) return opened.error();
    cursor& cur = **opened;
    for (auto found = cur.first();; found = cur.next()) {
      if (!found) return found.error();
      if (!*found) break;
      stale.emplace_back(cur.key());
    }
  }
  for (const std::string& key : stale) {
    if (auto r = w.del(table::by_claimable, key); !r) return r;
  }
  return {};
}

// Schema 2 -> 3 (and 3 -> 4, after drop_claimable): leases and claims
// arrive with version 3, so no job holds a lease yet; every pending job
// that is not a batch parent becomes claimable (idx_claimable, a table
// version 3 adds).
result<void> index_claimable(write_batch& w) {
  std::vector<job_id> pending;
  {
    auto opened = w.open_cursor(table::by_status);
    if (!opened) return opened.error();
    cursor& cur = **opened;
    for (auto found = cur.first();; found = cur.next()) {
      if (!found) return found.error();
      if (!*found) break;
      const std::string_view key = cur.key();
      if (key.size() == 16 + 1 + job_id::size &&
          static_cast<job_status>(key[16]) == job_status::pending) {
        pending.push_back(keys::id_at(key, 17));
      }
    }
  }
  for (const job_id& id : pending) {
    auto bytes = w.get(table::jobs, keys::id(id));
    if (!bytes) return bytes.error();
    if (!*bytes) continue;  // A stale entry: jobstate-check reports it.
    auto record = decode_record(**bytes);
    if (!record || record->value.id != id) {
      return error(errc::corrupt,
                   "job " + id.to_string() +
                       ": its record does not decode, so the database was "
                       "not migrated; jobstate-check lists every damaged "
                       "record");
    }
    const job& j = record->value;
    if (j.status != job_status::pending || j.is_batch) continue;
    if (auto r =
            w.put(table::by_claimable,
                  keys::by_claimable(keys::scope(j.account_id, j.project_id),
                                     j.kind, model::eligible_at(j), j.id),
                  {}, put_mode::upsert);
        !r) {
      return r;
    }
  }
  return {};
}

// One attempt: storage_full when the map must grow first.
result<void> migrate_once(backend& storage) {
  auto begun = storage.begin_write();
  if (!begun) return begun.error();
  write_batch& w = **begun;
  const auto done = [&](result<void> r) {
    if (!r) {
      w.abort();
      return r;
    }
    return w.commit();
  };
  auto schema = w.get(table::meta, meta_schema_key);
  if (!schema) return done(schema.error());
  if (!*schema || (*schema)->size() != 8) {
    return done(error(errc::corrupt, "the database has no schema version"));
  }
  const std::uint64_t found = keys::sequence_at(**schema);
  if (found == schema_version) {
    w.abort();  // Another process migrated it first, or it is new.
    return {};
  }
  if (found < 1 || found > 3 || schema_version != 4) {
    return done(
        error(errc::unsupported_version, "no migration from schema version " +
                                             std::to_string(found) + " to " +
                                             std::to_string(schema_version)));
  }
  // Checked while this batch holds the writer lock: a process that opens
  // the database from now on finds this version in its first transaction.
  auto shared = storage.open_elsewhere();
  if (!shared) return done(shared.error());
  if (*shared) {
    return done(error(
        errc::unsupported_version,
        "the database has schema version " + std::to_string(found) +
            ", which this build migrates to " + std::to_string(schema_version) +
            " only when no other process has it open (a build that wrote "
            "version " +
            std::to_string(found) + " cannot read version " +
            std::to_string(schema_version) +
            "): close the other processes, then open it again"));
  }
  if (found == 1) {
    if (auto r = split_histories(w); !r) return done(r);
  }
  if (found == 3) {
    if (auto r = drop_claimable(w); !r) return done(r);
  }
  if (auto r = index_claimable(w); !r) return done(r);
  return done(w.put(table::meta, meta_schema_key,
                    keys::sequence(schema_version), put_mode::upsert));
}

}  // namespace

result<void> migrate(backend& storage) {
  for (;;) {
    auto r = migrate_once(storage);
    if (r || r.code() != errc::storage_full) return r;
    // The map full, or the disk: the last error says which.
    auto grown = storage.grow();
    if (!grown) return grown.error();
    if (!*grown) {
      return error(
          errc::storage_full,
          "migrating to schema version " + std::to_string(schema_version) +
              " needs room for both layouts at once (" + r.error().detail() +
              "): free disk space, or open with a larger "
              "max_map_size");
    }
  }
}

}  // namespace jobstate::store
