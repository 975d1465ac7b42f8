// Bringing a database written by an earlier schema up to this build's,
// when the engine opens it.
#ifndef JOBSTATE_STORE_MIGRATE_HPP
#define JOBSTATE_STORE_MIGRATE_HPP

#include <jobstate/result.hpp>

#include "store/backend.hpp"

namespace jobstate::store {

/// Migrates the database in `storage` to schema_version if an earlier
/// schema wrote it, in one write batch: all of it or, on any error, none of
/// it; a database of this schema is left alone. Version 1 kept a job's
/// history inside its record; version 2 keeps each event under a key of its
/// own (docs/storage.md). The map grows as the two layouts need.
/// Errors: unsupported_version (no migration from that version, or another
/// process has the database open: a process of the build that wrote it
/// would go on writing the old layout), corrupt (a record that does not
/// decode: nothing is migrated, and jobstate-check, which reads version 1
/// too, lists every damaged record), storage_full (the map cannot hold both
/// layouts at once even at its limit, or the disk is full: the message
/// says which), the backend's.
/// REQUIRES: no transaction alive in the calling thread.
result<void> migrate(backend& storage);

}  // namespace jobstate::store

#endif  // JOBSTATE_STORE_MIGRATE_HPP
