// Bringing a database written by an earlier schema up to this build's, in
// the transaction that opens it read-write.
#ifndef JOBSTATE_STORE_MIGRATE_HPP
#define JOBSTATE_STORE_MIGRATE_HPP

#include <jobstate/result.hpp>

#include "store/job_store.hpp"

#include <cstdint>

namespace jobstate::store {

/// Migrates the database that `txn` (a write transaction) sees from schema
/// `from` to schema_version, stamping the new version: all of it or, when
/// the transaction is abandoned, none of it. Version 1 kept a job's history
/// inside its record; version 2 keeps each event under a key of its own
/// (docs/storage.md). Errors: unsupported_version (no migration from
/// `from`), corrupt (a record that does not decode: nothing is migrated;
/// jobstate-check names it), storage_full (the map cannot hold both layouts
/// at once: open with a larger options::map_size), io_error.
result<void> migrate(MDB_txn* txn, const databases& dbs, std::uint64_t from);

}  // namespace jobstate::store

#endif  // JOBSTATE_STORE_MIGRATE_HPP
