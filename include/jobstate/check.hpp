// Integrity check of a jobstate database: verifies, without writing
// anything, that what is on disk obeys every rule the engine keeps. The
// `jobstate-check` command (tools/jobstate-check) is a thin shell over it.
//
// What is checked (docs/reliability.md):
//   - every value decodes and matches its CRC-32C (jobs, tombstones, change
//     records), and every key has the size its layout says;
//   - each job's status agrees with its history: it starts "created" and
//     pending, moves only along legal transitions, ends at the job's status;
//     started_at and completed_at are set exactly when the history says so;
//   - every index entry points at a live record whose fields produce that
//     entry, and every record has all of its index entries (idempotency
//     keys included);
//   - a batch's counters add up to its children, and its status agrees with
//     them;
//   - the change feed has no gaps, ends at the last sequence recorded in the
//     meta data, and the latest change of each job matches the job's
//     revision and status (nothing acknowledged lost, nothing half-applied);
//   - tombstones are sane: terminal, not shadowing a live record, each with
//     its age entry.
#ifndef JOBSTATE_CHECK_HPP
#define JOBSTATE_CHECK_HPP

#include <jobstate/export.hpp>
#include <jobstate/job_id.hpp>
#include <jobstate/result.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jobstate {

/// The kinds of damage the check recognises.
enum class check_problem_kind {
  meta,                 ///< The meta data (magic, schema, last sequence).
  corrupt_record,       ///< A value fails its checksum or layout, or a key
                        ///< has the wrong size.
  inconsistent_job,     ///< A job's status disagrees with its history or
                        ///< timestamps, or a batch's status with its counts.
  missing_index_entry,  ///< A record lacks one of its index entries.
  stale_index_entry,    ///< An index entry names no record, or a record
                        ///< whose fields do not produce it.
  batch_counters,       ///< A batch's counters do not add up to its children.
  feed_gap,             ///< The change feed skips a sequence, or does not end
                        ///< at the last sequence committed.
  feed_mismatch,        ///< A change disagrees with the job it names.
  bad_tombstone,        ///< A tombstone is not terminal, shadows a live
                        ///< record, or lacks its age entry.
};

/// "meta", "corrupt_record", ...
JOBSTATE_EXPORT std::string_view to_string(check_problem_kind kind) noexcept;

/// One problem found.
struct check_problem {
  check_problem_kind kind = check_problem_kind::meta;
  /// The sub-database where it was found ("jobs", "idx_status", "changes",
  /// ...; see docs/storage.md).
  std::string database;
  /// The job concerned, when the problem concerns one.
  std::optional<job_id> job;
  /// The change-feed sequence concerned, when there is one.
  std::optional<std::uint64_t> sequence;
  /// What is wrong, for people.
  std::string detail;
};

/// Renders a problem on one line: "<kind> in <database>: job <id>: <detail>".
JOBSTATE_EXPORT std::string to_string(const check_problem& p);

/// What the check saw and found. A plain value.
struct check_report {
  std::uint64_t jobs = 0;           ///< Job records examined.
  std::uint64_t tombstones = 0;     ///< Tombstones examined.
  std::uint64_t index_entries = 0;  ///< Index entries examined.
  std::uint64_t changes = 0;        ///< Change-feed entries examined.
  std::uint64_t last_sequence = 0;  ///< As recorded in the meta data.
  std::vector<check_problem> problems;
  /// True when more problems were found than `check_options::max_problems`
  /// (the rest are not listed).
  bool truncated = false;
  /// True when nothing is wrong.
  bool ok() const noexcept { return problems.empty() && !truncated; }
};

/// How to check.
struct check_options {
  // --- behaviour ---
  /// Stop listing problems after this many (the check still runs to the end
  /// and sets `truncated`).
  std::size_t max_problems = 1000;
};

/// Checks the database in directory `path`, which must exist.
///
/// Never writes: the data file is opened read-only (LMDB's MDB_RDONLY) and
/// read in one snapshot, so the database may be in use by engines in other
/// processes meanwhile; the check sees one consistent commit. LMDB still
/// takes a slot in the reader table of `lock.mdb` while it reads.
///
/// Not beside an engine of this process on the same database: LMDB forbids
/// opening one environment twice in a process (closing either would release
/// the other's locks). While this process has `path` open, the check fails
/// with already_open; while the check runs, engine::open of `path` in this
/// process fails with already_open. Close the engine first, or check from
/// another process (`jobstate-check`), which may run while engines use the
/// database.
///
/// Returns the report, problems included; an error only when the check
/// cannot run. Errors:
///   invalid_argument     `path` holds no jobstate database (no data.mdb).
///   unsupported_version  written by a schema other than 1 and this
///                        build's, or not by jobstate.
///   already_open         an engine (or another check) of this process has
///                        the database open.
///   io_error             the files cannot be opened or read.
///
/// Thread-safe (it shares nothing).
JOBSTATE_EXPORT result<check_report> check_database(
    const std::string& path, const check_options& opts = {});

}  // namespace jobstate

#endif  // JOBSTATE_CHECK_HPP
