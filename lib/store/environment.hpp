// Opening the LMDB environment of a database directory: the one sequence
// (settings, the first transaction, the sub-databases, the meta data's
// magic and schema version) shared by the engine's store, which opens it
// read-write, and the integrity check, which opens it read-only.
#ifndef JOBSTATE_STORE_ENVIRONMENT_HPP
#define JOBSTATE_STORE_ENVIRONMENT_HPP

#include <jobstate/options.hpp>
#include <jobstate/result.hpp>

#include "store/backend.hpp"
#include "store/directory_claim.hpp"
#include "store/lmdb.hpp"
#include "store/map_file.hpp"
#include "store/meta.hpp"

#include <array>

namespace jobstate::store {

/// How open_environment opens a database.
enum class access {
  /// Creates what is missing, stamps a new database, sets the map size.
  read_write,
  /// Writes nothing: LMDB opens data.mdb O_RDONLY and maps it read-only;
  /// the map size is the file's.
  read_only,
};

/// An open environment and the transaction its sub-databases were opened
/// in. Members are destroyed in reverse order: the transaction ends, then
/// the environment closes, then the directory's claim is released.
/// The sub-database handle of each table (indexed by the table's value),
/// opened once per environment.
using table_handles = std::array<MDB_dbi, table_count>;
/// The handle of a table that a database of an earlier schema, opened
/// read-only, does not have (it reads as empty).
inline constexpr MDB_dbi absent_table = ~MDB_dbi{0};

struct environment {
  directory_claim claim;
  /// Read-write: data.mdb, which resizes lock and reserve and pwrite
  /// writers lock (map_file.hpp).
  map_file file;
  /// Read-write: the file's exclusive lock, held from before LMDB opens it
  /// until this is destroyed (after the first transaction commits).
  map_file::lock opening_lock;
  /// LMDB writes through the map (MDB_WRITEMAP), reserved on disk.
  bool write_map = false;
  /// With a write map: another process's growth was adopted but could not
  /// be reserved; no write may begin until it is.
  bool map_unreserved = false;
  lmdb::env env;
  table_handles handles{};
  /// Still open: read-write, commit it to keep the sub-database handles
  /// (and a new database's stamp); read-only, read in it.
  lmdb::txn txn;
  /// Read-only only: false when the meta data has no well-formed schema
  /// version (the check reports it; read-write, opening fails with
  /// corrupt).
  bool schema_present = true;
  /// The schema version the database says it has: this build's, or,
  /// read-only, an earlier one (the check reads version 1 too);
  /// read-write, an earlier one is migrated by the job store.
  std::uint64_t schema = schema_version;
};

/// Opens the database in `opts.path` (a directory that exists), claiming
/// the directory for `holder` ("an engine": named in already_open errors).
/// Read-write uses `opts.map_size`, `max_readers`, `durability` and
/// `write_map` (honoured where the file system can reserve the whole map
/// on disk, else the environment writes with pwrite); read-only uses
/// `max_readers` only.
/// Errors: already_open (open in this process already), invalid_argument
/// (not a directory), unsupported_version
/// (not a jobstate database, or another schema version), corrupt
/// (read-write: no schema version), io_error and LMDB's other failures.
result<environment> open_environment(const options& opts, access mode,
                                     const char* holder);

/// Adopts the larger map another process set (after MDB_MAP_RESIZED; no
/// transaction of this process may be active). With `write_map`, the
/// caller holds `file`'s exclusive lock: the map is never smaller than the
/// file, and is then reserved on disk. Returns whether it is reserved
/// (always without a write map); false: adopted, but no write may begin
/// until a reservation succeeds. Errors: the map could not be set (LMDB's,
/// io_error).
result<bool> adopt_map_size(MDB_env* raw, bool write_map, const map_file& file);

/// Most times beginning a transaction may meet MDB_MAP_RESIZED: another
/// process may grow the map again between our adopting its size and
/// beginning; each round adopts a larger size, so a few are plenty.
inline constexpr int max_resize_adoptions = 16;

}  // namespace jobstate::store

#endif  // JOBSTATE_STORE_ENVIRONMENT_HPP
