// Thin RAII over LMDB: one function maps return codes to jobstate errors,
// move-only handles close or abort in their destructors.
#ifndef JOBSTATE_STORE_LMDB_HPP
#define JOBSTATE_STORE_LMDB_HPP

#include <jobstate/result.hpp>

#include <lmdb.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace jobstate::store::lmdb {

/// Maps an LMDB (or errno) return code to a jobstate error, naming the call.
error to_error(int rc, std::string_view what);

inline MDB_val to_val(std::string_view s) noexcept {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}
inline std::string_view to_view(const MDB_val& v) noexcept {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

/// An environment handle: the open database files.
class env {
 public:
  env() = default;
  explicit env(MDB_env* e) noexcept : env_(e) {}
  env(env&& o) noexcept : env_(std::exchange(o.env_, nullptr)) {}
  env& operator=(env&& o) noexcept {
    std::swap(env_, o.env_);
    return *this;
  }
  ~env() {
    if (env_ != nullptr) mdb_env_close(env_);
  }
  MDB_env* get() const noexcept { return env_; }

 private:
  MDB_env* env_ = nullptr;
};

/// A transaction; aborted on destruction unless committed.
class txn {
 public:
  txn() = default;
  explicit txn(MDB_txn* t) noexcept : txn_(t) {}
  txn(txn&& o) noexcept : txn_(std::exchange(o.txn_, nullptr)) {}
  txn& operator=(txn&& o) noexcept {
    if (this != &o) {
      abort();
      txn_ = std::exchange(o.txn_, nullptr);
    }
    return *this;
  }
  ~txn() { abort(); }

  /// Begins a transaction (a child of `parent` when given).
  static result<txn> begin(MDB_env* e, MDB_txn* parent, unsigned flags);

  result<void> commit();
  void abort() noexcept {
    if (txn_ != nullptr) mdb_txn_abort(std::exchange(txn_, nullptr));
  }
  MDB_txn* get() const noexcept { return txn_; }
  explicit operator bool() const noexcept { return txn_ != nullptr; }

 private:
  MDB_txn* txn_ = nullptr;
};

/// The value at `key`, or nothing; the view lives as long as the transaction.
result<std::optional<std::string_view>> get(MDB_txn* t, MDB_dbi dbi,
                                            std::string_view key);
result<void> put(MDB_txn* t, MDB_dbi dbi, std::string_view key,
                 std::string_view value, unsigned flags = 0);
/// Deletes `key`; deleting a missing key is not an error.
result<void> del(MDB_txn* t, MDB_dbi dbi, std::string_view key);

/// A cursor over one database; closed on destruction.
class cursor {
 public:
  cursor() = default;
  cursor(cursor&& o) noexcept : cur_(std::exchange(o.cur_, nullptr)) {}
  cursor& operator=(cursor&& o) noexcept {
    std::swap(cur_, o.cur_);
    return *this;
  }
  ~cursor() {
    if (cur_ != nullptr) mdb_cursor_close(cur_);
  }
  static result<cursor> open(MDB_txn* t, MDB_dbi dbi);

  /// Positions at the first key >= `key`; false past the end.
  result<bool> seek(std::string_view key);
  result<bool> first();
  result<bool> last();
  result<bool> next();
  result<bool> prev();
  std::string_view key() const noexcept { return to_view(key_); }
  MDB_cursor* get() const noexcept { return cur_; }
  std::string_view value() const noexcept { return to_view(value_); }

 private:
  result<bool> step(MDB_cursor_op op, std::string_view key = {});
  MDB_cursor* cur_ = nullptr;
  MDB_val key_{};
  MDB_val value_{};
};

}  // namespace jobstate::store::lmdb

#endif  // JOBSTATE_STORE_LMDB_HPP
