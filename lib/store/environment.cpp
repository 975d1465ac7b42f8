#include "store/environment.hpp"

#include "store/keys.hpp"
#include "store/meta.hpp"

#include <algorithm>
#include <string>

namespace jobstate::store {
namespace {

// Sub-databases an environment may hold: all_databases and room to grow
// (LMDB sizes a table of handles by it).
constexpr unsigned max_databases = 32;

unsigned env_flags(const options& opts, access mode, bool write_map) {
  // NOTLS: read transactions are not tied to threads, so an Asio handler
  // may read on whichever thread runs it.
  unsigned flags = MDB_NOTLS;
  if (mode == access::read_only) return flags | MDB_RDONLY;
  if (write_map) flags |= MDB_WRITEMAP;
  if (opts.durability == durability::no_meta_sync) flags |= MDB_NOMETASYNC;
  if (opts.durability == durability::no_sync) flags |= MDB_NOSYNC;
  return flags;
}

// `map_size`: read-write, the map to ask for (no smaller than the file
// when it is mapped writable, see map_file.hpp).
result<void> set_up(MDB_env* raw, const options& opts, access mode,
                    std::uint64_t map_size, bool write_map) {
  if (int rc = mdb_env_set_maxdbs(raw, max_databases); rc != 0)
    return lmdb::to_error(rc, "mdb_env_set_maxdbs");
  // Read-only too: should this open create lock.mdb, it is sized as an
  // engine's.
  if (int rc = mdb_env_set_maxreaders(raw, opts.max_readers); rc != 0)
    return lmdb::to_error(rc, "mdb_env_set_maxreaders");
  if (mode == access::read_write) {
    if (int rc = mdb_env_set_mapsize(raw, map_size); rc != 0)
      return lmdb::to_error(rc, "mdb_env_set_mapsize");
  }
  if (int rc = mdb_env_open(raw, opts.path.c_str(),
                            env_flags(opts, mode, write_map), 0644);
      rc != 0) {
    return lmdb::to_error(rc, mode == access::read_only
                                  ? "opening " + opts.path + " read-only"
                                  : "opening database in " + opts.path);
  }
  if (mode == access::read_write) {
    // Another process may have grown the map: never shrink below the file.
    MDB_envinfo info;
    mdb_env_info(raw, &info);
    if (info.me_mapsize < map_size) {
      if (int rc = mdb_env_set_mapsize(raw, map_size); rc != 0)
        return lmdb::to_error(rc, "mdb_env_set_mapsize");
    }
  }
  return {};
}

// Another process may have grown the map since mdb_env_open sized ours:
// adopt its size (no transaction is active yet) and begin again.
result<lmdb::txn> begin_first(environment& e, access mode) {
  const unsigned flags = mode == access::read_only ? MDB_RDONLY : 0;
  for (int attempt = 0;; ++attempt) {
    MDB_txn* first = nullptr;
    const int rc = mdb_txn_begin(e.env.get(), nullptr, flags, &first);
    if (rc == 0) return lmdb::txn(first);
    if (rc != MDB_MAP_RESIZED || attempt >= max_resize_adoptions)
      return lmdb::to_error(rc, "beginning the first transaction");
    // Read-write, the open holds the file's exclusive lock.
    auto reserved = adopt_map_size(e.env.get(), e.write_map, e.file);
    if (!reserved) return reserved.error();
    e.map_unreserved = !*reserved;
  }
}

result<void> open_databases(MDB_txn* t, table_handles& handles,
                            const std::string& path, access mode) {
  const unsigned flags = mode == access::read_only ? 0 : MDB_CREATE;
  for (const table tb : all_tables) {
    const std::string name(table_name(tb));
    const int rc = mdb_dbi_open(t, name.c_str(), flags,
                                &handles[static_cast<std::size_t>(tb)]);
    if (rc == 0) continue;
    // Read-only, an earlier schema's database lacks the later tables (it
    // holds nothing they would index); read-write, the open creates them
    // before migrating.
    if (rc == MDB_NOTFOUND && mode == access::read_only &&
        (tb == table::by_claimable || tb == table::by_lease_expiry ||
         tb == table::by_deadline)) {
      handles[static_cast<std::size_t>(tb)] = absent_table;
      continue;
    }
    if (rc == MDB_INCOMPATIBLE || rc == MDB_NOTFOUND) {
      return error(errc::unsupported_version,
                   "sub-database " + name +
                       " is missing or has another layout; " + path +
                       " does not hold a jobstate database");
    }
    return lmdb::to_error(rc, "opening sub-database " + name);
  }
  return {};
}

// The magic and the schema version; read-write, a new database is stamped
// with them.
result<void> check_meta(environment& e, const std::string& path, access mode) {
  MDB_txn* t = e.txn.get();
  const MDB_dbi meta = e.handles[static_cast<std::size_t>(table::meta)];
  auto magic = lmdb::get(t, meta, meta_magic_key);
  if (!magic) return magic.error();
  if (!*magic && mode == access::read_write) {
    if (auto r = lmdb::put(t, meta, meta_magic_key, meta_magic); !r) return r;
    return lmdb::put(t, meta, meta_schema_key, keys::sequence(schema_version));
  }
  if (!*magic || **magic != meta_magic) {
    return error(errc::unsupported_version,
                 path + " holds an LMDB database that jobstate did not write");
  }
  auto schema = lmdb::get(t, meta, meta_schema_key);
  if (!schema) return schema.error();
  if (!*schema || (*schema)->size() != 8) {
    if (mode == access::read_only) {
      e.schema_present = false;
      return {};
    }
    return error(errc::corrupt,
                 "database in " + path + " has no schema version");
  }
  const std::uint64_t found = keys::sequence_at(**schema);
  // Read-write, an earlier version is migrated by the job store once open
  // (store/migrate.hpp); read-only, the check reads version 1 as it is.
  if (found >= 1 && found <= schema_version) {
    e.schema = found;
    return {};
  }
  return error(errc::unsupported_version,
               "database in " + path + " has schema version " +
                   std::to_string(found) + "; this build reads version " +
                   std::to_string(schema_version));
}

result<lmdb::env> create_env() {
  MDB_env* raw = nullptr;
  if (int rc = mdb_env_create(&raw); rc != 0)
    return lmdb::to_error(rc, "mdb_env_create");
  return lmdb::env(raw);
}

// Opens the environment with a writable map, reserved on disk, if the file
// system can reserve it; otherwise leaves `e` without an environment. The
// caller holds the file's exclusive lock. Errors: only those that would
// fail any open (LMDB's).
result<void> open_with_write_map(environment& e, const options& opts) {
  auto length = e.file.size();
  if (!length) return length.error();
  auto env = create_env();
  if (!env) return env.error();
  if (!set_up(env->get(), opts, access::read_write,
              std::max(opts.map_size, *length), true)) {
    return {};  // Opened again without: that open reports what is wrong.
  }
  MDB_envinfo info;
  mdb_env_info(env->get(), &info);
  MDB_stat st;
  mdb_env_stat(env->get(), &st);
  // What the file held, or LMDB's first pages of a new database.
  const std::uint64_t keep = std::max<std::uint64_t>(
      *length, (info.me_last_pgno + 1) * std::uint64_t{st.ms_psize});
  if (!e.file.reserve(info.me_mapsize, keep)) return {};  // pwrite it is
  e.env = std::move(*env);
  e.write_map = true;
  return {};
}

}  // namespace

result<bool> adopt_map_size(MDB_env* raw, bool write_map,
                            const map_file& file) {
  if (!write_map) {
    // Size 0 adopts the size another process set.
    if (int rc = mdb_env_set_mapsize(raw, 0); rc != 0) {
      return lmdb::to_error(rc, "mdb_env_set_mapsize");
    }
    return true;
  }
  auto length = file.size();
  if (!length) return length.error();
  MDB_envinfo info;
  mdb_env_info(raw, &info);
  // Never below the file, so never cutting it (LMDB raises the size to
  // what the committed data needs, which the file holds already). Our map
  // was reserved, so the file is no shorter: the length LMDB sets is the
  // file's own, and setting it cannot fail for want of room.
  if (int rc = mdb_env_set_mapsize(
          raw, std::max<std::uint64_t>(*length, info.me_mapsize));
      rc != 0) {
    return lmdb::to_error(rc, "mdb_env_set_mapsize");
  }
  mdb_env_info(raw, &info);
  return static_cast<bool>(file.reserve(info.me_mapsize, *length));
}

result<environment> open_environment(const options& opts, access mode,
                                     const char* holder) {
  environment e;
  auto claim = directory_claim::acquire(opts.path, holder);
  if (!claim) return claim.error();
  e.claim = std::move(*claim);
  if (mode == access::read_write) {
    auto file = map_file::open(opts.path);
    if (!file) return file.error();
    e.file = std::move(*file);
    // Until the first transaction commits: no other process resizes, and
    // none writes with pwrite, meanwhile (map_file.hpp).
    auto held = e.file.lock_exclusively();
    if (!held) return held.error();
    e.opening_lock = std::move(*held);
    if (opts.write_map && e.file.reservation_holds()) {
      if (auto r = open_with_write_map(e, opts); !r) return r.error();
    }
  }
  if (e.env.get() == nullptr) {
    auto env = create_env();
    if (!env) return env.error();
    e.env = std::move(*env);
    if (auto r = set_up(e.env.get(), opts, mode, opts.map_size, false); !r)
      return r.error();
  }
  auto first = begin_first(e, mode);
  if (!first) return first.error();
  e.txn = std::move(*first);
  if (auto r = open_databases(e.txn.get(), e.handles, opts.path, mode); !r)
    return r.error();
  if (auto r = check_meta(e, opts.path, mode); !r) return r.error();
  return e;
}

}  // namespace jobstate::store
