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
    must(mdb_dbi_open(t, name.c_str(), 0,
                      &handles_[static_cast<std::size_t>(tb)]),
         name);
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
  auto j = store::decode_job(*v);
  if (!j) throw std::runtime_error(j.error().message());
  return std::move(*j);
}

void raw_db::write_job(const job& j) {
  put(store::table::jobs, store::keys::id(j.id), store::encode(j));
}

void raw_db::commit() {
  auto r = txn_.commit();
  if (!r) throw std::runtime_error(r.error().message());
}

}  // namespace jobstate::test
