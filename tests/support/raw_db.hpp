// Raw LMDB access to a jobstate database, for tests that damage it on
// purpose (integrity check, damaged records). Bypasses the engine entirely:
// REQUIRES no engine of this process has the database open.
#ifndef JOBSTATE_TESTS_SUPPORT_RAW_DB_HPP
#define JOBSTATE_TESTS_SUPPORT_RAW_DB_HPP

#include <jobstate/job.hpp>

#include "store/codec.hpp"
#include "store/environment.hpp"
#include "store/job_store.hpp"
#include "store/lmdb.hpp"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace jobstate::test {

/// One raw write transaction on the database in `dir`, committed when
/// `edit` returns. Throws std::runtime_error on any LMDB failure.
class raw_db {
 public:
  explicit raw_db(const std::filesystem::path& dir);
  raw_db(const raw_db&) = delete;
  raw_db& operator=(const raw_db&) = delete;
  ~raw_db();

  /// The value at `key` in table `t`, or nothing.
  std::optional<std::string> get(store::table t, std::string_view key) const;
  void put(store::table t, std::string_view key, std::string_view value);
  /// Deletes `key`; throws when it is missing.
  void del(store::table t, std::string_view key);

  /// The stored record of job `id` and its history events, decoded (throws
  /// when one does not).
  job read_job(const job_id& id) const;
  /// Re-encodes `j` (with valid checksums) over its record and history
  /// events, deleting events beyond its history.
  void write_job(const job& j);

  /// Commits what was written.
  void commit();

 private:
  store::lmdb::env env_;
  store::lmdb::txn txn_;
  store::table_handles handles_{};
};

}  // namespace jobstate::test

#endif  // JOBSTATE_TESTS_SUPPORT_RAW_DB_HPP
