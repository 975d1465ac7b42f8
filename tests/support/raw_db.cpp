#include "support/raw_db.hpp"

#include "store/keys.hpp"

#include <stdexcept>

namespace jobstate::test {
namespace {

void must(int rc, std::string_view what) {
  if (rc != 0) {
    throw std::runtime_error(std::string(what) + ": " + mdb_strerror(rc));
  }
}

}  // namespace

raw_db::raw_db(const std::filesystem::path& dir) {
  MDB_env* raw = nullptr;
  must(mdb_env_create(&raw), "mdb_env_create");
  env_ = store::lmdb::env(raw);
  must(mdb_env_set_maxdbs(raw, 32), "mdb_env_set_maxdbs");
  must(mdb_env_open(raw, dir.c_str(), MDB_NOTLS, 0644), "mdb_env_open");
  MDB_txn* t = nullptr;
  must(mdb_txn_begin(raw, nullptr, 0, &t), "mdb_txn_begin");
  txn_ = store::lmdb::txn(t);
  for (const store::table tb : store::all_tables) {
    const std::string name(store::table_name(tb));
    auto& handle = handles_[static_cast<std::size_t>(tb)];
    const int rc = mdb_dbi_open(t, name.c_str(), 0, &handle);
    // A database of an earlier schema lacks the later tables: using one
    // fails (LMDB refuses the absent handle).
    if (rc == MDB_NOTFOUND) {
      handle = store::absent_table;
      continue;
    }
    must(rc, name);
  }
}

raw_db::~raw_db() = default;

std::optional<std::string> raw_db::get(store::table t,
                                       std::string_view key) const {
  auto v =
      store::lmdb::get(txn_.get(), handles_[static_cast<std::size_t>(t)], key);
  if (!v) throw std::runtime_error(v.error().message());
  if (!*v) return std::nullopt;
  return std::string(**v);
}

void raw_db::put(store::table t, std::string_view key, std::string_view value) {
  auto r = store::lmdb::put(txn_.get(), handles_[static_cast<std::size_t>(t)],
                            key, value);
  if (!r) throw std::runtime_error(r.error().message());
}

void raw_db::del(store::table t, std::string_view key) {
  MDB_val k = store::lmdb::to_val(key);
  must(mdb_del(txn_.get(), handles_[static_cast<std::size_t>(t)], &k, nullptr),
       "mdb_del");
}

job raw_db::read_job(const job_id& id) const {
  auto v = get(store::table::jobs, store::keys::id(id));
  if (!v) throw std::runtime_error("no record for job " + id.to_string());
  auto record = store::decode_record(*v);
  if (!record) throw std::runtime_error(record.error().message());
  job j = std::move(record->value);
  for (std::uint32_t n = 0; n < record->history_length; ++n) {
    auto bytes = get(store::table::jobs, store::keys::history_event(id, n));
    if (!bytes) {
      throw std::runtime_error("job " + id.to_string() + ": no event " +
                               std::to_string(n));
    }
    auto e = store::decode_event(*bytes);
    if (!e) throw std::runtime_error(e.error().message());
    j.history.push_back(std::move(*e));
  }
  return j;
}

void raw_db::write_job(const job& j) {
  const auto key = store::keys::id(j.id);
  std::uint32_t stored = 0;
  if (auto v = get(store::table::jobs, key)) {
    if (auto record = store::decode_record(*v)) {
      stored = record->history_length;
    }
  }
  const auto length = static_cast<std::uint32_t>(j.history.size());
  put(store::table::jobs, key, store::encode_record(j, length));
  for (std::uint32_t n = 0; n < length; ++n) {
    put(store::table::jobs, store::keys::history_event(j.id, n),
        store::encode(j.history[n]));
  }
  for (std::uint32_t n = length; n < stored; ++n) {
    del(store::table::jobs, store::keys::history_event(j.id, n));
  }
}

void raw_db::commit() {
  auto r = txn_.commit();
  if (!r) throw std::runtime_error(r.error().message());
}

}  // namespace jobstate::test
