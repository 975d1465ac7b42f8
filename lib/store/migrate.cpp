#include "store/migrate.hpp"

#include <string>
#include <vector>

namespace jobstate::store {
namespace {

// Schema 1 -> 2: every record is rewritten without its history, and each
// event is put under its own key right after it.
result<void> split_histories(MDB_txn* txn, const databases& dbs) {
  // Collect the ids first: the loop below writes into the tree it walks.
  std::vector<job_id> ids;
  {
    auto cur = lmdb::cursor::open(txn, dbs.jobs);
    if (!cur) return cur.error();
    for (auto found = cur->first();; found = cur->next()) {
      if (!found) return found.error();
      if (!*found) break;
      if (cur->key().size() != job_id::size) {
        return error(errc::corrupt, "a schema-1 jobs key of " +
                                        std::to_string(cur->key().size()) +
                                        " bytes; run jobstate-check");
      }
      ids.push_back(keys::id_at(cur->key(), 0));
    }
  }
  for (const job_id& id : ids) {
    const std::string key = keys::id(id);
    auto bytes = lmdb::get(txn, dbs.jobs, key);
    if (!bytes) return bytes.error();
    auto j = decode_job_v1(**bytes);
    if (!j || j->id != id) {
      return error(errc::corrupt,
                   "job " + id.to_string() +
                       ": its schema-1 record does not decode, so the "
                       "database was not migrated; run jobstate-check");
    }
    if (auto r = lmdb::put(txn, dbs.jobs, key, encode(*j)); !r) return r;
    for (std::size_t n = 0; n < j->history.size(); ++n) {
      if (auto r =
              lmdb::put(txn, dbs.jobs,
                        keys::history_event(id, static_cast<std::uint32_t>(n)),
                        encode(j->history[n]));
          !r) {
        return r;
      }
    }
  }
  return {};
}

}  // namespace

result<void> migrate(MDB_txn* txn, const databases& dbs, std::uint64_t from) {
  if (from != 1 || schema_version != 2) {
    return error(errc::unsupported_version,
                 "no migration from schema version " + std::to_string(from) +
                     " to " + std::to_string(schema_version));
  }
  if (auto r = split_histories(txn, dbs); !r) {
    if (r.code() == errc::storage_full) {
      return error(errc::storage_full,
                   "migrating to schema version 2 needs room for both "
                   "layouts at once; open with a larger options.map_size");
    }
    return r;
  }
  return lmdb::put(txn, dbs.meta, meta_schema_key,
                   keys::sequence(schema_version));
}

}  // namespace jobstate::store
