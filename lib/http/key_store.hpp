// Accounts and their API keys, kept in a small JSON file beside the
// database (`<db>/jobstated-keys.json`, mode 0600). Only a SHA-256 of each key
// is stored: the key itself is shown once, when it is created.
//
// A key reads `jsk_<key id>_<secret>`: the key id (8 hex digits) names it for
// listing and revoking; the secret is 32 random hex digits (128 bits).
#ifndef JOBSTATE_HTTP_KEY_STORE_HPP
#define JOBSTATE_HTTP_KEY_STORE_HPP

#include <jobstate/result.hpp>

#include "http/file_watch.hpp"
#include "support/mutex.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace jobstate::http {

/// One key as stored (never the key itself).
struct key_record {
  std::string id;          ///< e.g. "3f9a0c1e"
  std::string account_id;  ///< The account the key acts for.
  std::string sha256;      ///< Hex digest of the whole key text.
  std::string created_at;  ///< RFC 3339, UTC.
  bool revoked = false;
};

/// A key just created: the only moment its text exists.
struct issued_key {
  key_record record;
  std::string key;  ///< jsk_<id>_<secret>
};

/// What tells one version of a file from the next, from one stat(2): a
/// rename gives a new inode, a rewrite in place a new size or time.
struct file_version {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::int64_t size = 0;
  std::int64_t modified_ns = 0;
  bool operator==(const file_version&) const = default;
};

/// The version of `file`, or nothing when it cannot be stat'ed (absent).
std::optional<file_version> version_of(const std::filesystem::path& file);

/// Thread-safe. Several processes may share the file (the server and the
/// `jobstated keys` command): each change rewrites it atomically (rename),
/// and `authenticate` reloads it when the file's identity changed (inode,
/// size or modification time), so a revoked key stops working at once. It
/// looks at the file only when an inotify watch says it may have changed
/// (file_watch.hpp), not on every request.
class key_store {
 public:
  /// The store in `file` (absent: an empty store, the file is written on
  /// the first change). Errors: io_error, corrupt (not our JSON).
  static result<std::unique_ptr<key_store>> open(std::filesystem::path file);

  /// The file of the store of the database in `db_dir`.
  static std::filesystem::path file_in(const std::filesystem::path& db_dir);

  /// True when no account has been created yet.
  bool empty() const;

  /// Creates a key for `account_id` (creating the account when new).
  /// Errors: invalid_argument (empty or over 128 characters, or characters
  /// other than letters, digits, '-', '_' and '.'), io_error.
  result<issued_key> create_key(const std::string& account_id);
  /// Revokes key `key_id`. Errors: not_found, io_error.
  result<void> revoke(std::string_view key_id);
  /// Every key, revoked ones included.
  std::vector<key_record> list() const;

  /// The account of `presented` (a whole key), or nothing when the key is
  /// unknown, malformed or revoked.
  std::optional<std::string> authenticate(std::string_view presented);

 private:
  explicit key_store(std::filesystem::path file)
      : file_(std::move(file)), watch_(file_) {}
  result<void> load() JOBSTATE_REQUIRES(mutex_);
  result<void> save() JOBSTATE_REQUIRES(mutex_);
  void reload_if_changed() JOBSTATE_REQUIRES(mutex_);

  const std::filesystem::path file_;
  mutable support::mutex mutex_;
  std::vector<key_record> keys_ JOBSTATE_GUARDED_BY(mutex_);
  std::vector<std::string> accounts_ JOBSTATE_GUARDED_BY(mutex_);
  std::unordered_map<std::string, std::size_t> by_hash_
      JOBSTATE_GUARDED_BY(mutex_);
  file_watch watch_ JOBSTATE_GUARDED_BY(mutex_);
  // What the file was when last loaded or saved; nothing when absent.
  std::optional<file_version> loaded_version_ JOBSTATE_GUARDED_BY(mutex_);
};

/// Hex SHA-256 of `text`.
std::string sha256_hex(std::string_view text);

}  // namespace jobstate::http

#endif  // JOBSTATE_HTTP_KEY_STORE_HPP
