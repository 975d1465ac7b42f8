#include "store/lmdb.hpp"

#include <cerrno>
#include <cstring>

namespace jobstate::store::lmdb {

error to_error(int rc, std::string_view what) {
  std::string detail = std::string(what) + ": " + mdb_strerror(rc);
  switch (rc) {
    case MDB_MAP_FULL:
    case ENOSPC:
    case EDQUOT:
    case EFBIG:  // The process's file-size limit: as full as a disk.
      return error(errc::storage_full, std::move(detail));
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_BAD_TXN:
      return error(errc::corrupt, std::move(detail));
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
      return error(errc::unsupported_version, std::move(detail));
    case MDB_KEYEXIST:
      return error(errc::already_exists, std::move(detail));
    case MDB_BAD_VALSIZE:
      return error(errc::too_large, std::move(detail));
    default:
      return error(errc::io_error, std::move(detail));
  }
}

result<txn> txn::begin(MDB_env* e, MDB_txn* parent, unsigned flags) {
  MDB_txn* t = nullptr;
  if (int rc = mdb_txn_begin(e, parent, flags, &t); rc != 0) {
    return to_error(rc, "mdb_txn_begin");
  }
  return txn(t);
}

result<void> txn::commit() {
  const int rc = mdb_txn_commit(std::exchange(txn_, nullptr));
  if (rc != 0) return to_error(rc, "mdb_txn_commit");
  return {};
}

result<std::optional<std::string_view>> get(MDB_txn* t, MDB_dbi dbi,
                                            std::string_view key) {
  MDB_val k = to_val(key), v{};
  const int rc = mdb_get(t, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string_view>{};
  if (rc != 0) return to_error(rc, "mdb_get");
  return std::optional<std::string_view>{to_view(v)};
}

result<void> put(MDB_txn* t, MDB_dbi dbi, std::string_view key,
                 std::string_view value, unsigned flags) {
  MDB_val k = to_val(key), v = to_val(value);
  if (int rc = mdb_put(t, dbi, &k, &v, flags); rc != 0) {
    return to_error(rc, "mdb_put");
  }
  return {};
}

result<void> del(MDB_txn* t, MDB_dbi dbi, std::string_view key) {
  MDB_val k = to_val(key);
  const int rc = mdb_del(t, dbi, &k, nullptr);
  if (rc != 0 && rc != MDB_NOTFOUND) return to_error(rc, "mdb_del");
  return {};
}

result<cursor> cursor::open(MDB_txn* t, MDB_dbi dbi) {
  cursor c;
  if (int rc = mdb_cursor_open(t, dbi, &c.cur_); rc != 0) {
    return to_error(rc, "mdb_cursor_open");
  }
  return c;
}

result<bool> cursor::step(MDB_cursor_op op, std::string_view key) {
  if (op == MDB_SET_RANGE) key_ = to_val(key);
  const int rc = mdb_cursor_get(cur_, &key_, &value_, op);
  if (rc == MDB_NOTFOUND) return false;
  if (rc != 0) return to_error(rc, "mdb_cursor_get");
  return true;
}

result<bool> cursor::seek(std::string_view key) {
  return step(MDB_SET_RANGE, key);
}
result<bool> cursor::first() { return step(MDB_FIRST); }
result<bool> cursor::last() { return step(MDB_LAST); }
result<bool> cursor::next() { return step(MDB_NEXT); }
result<bool> cursor::prev() { return step(MDB_PREV); }

}  // namespace jobstate::store::lmdb
