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
  for (const store::named_database& n : store::all_databases) {
    must(mdb_dbi_open(t, n.name, 0, &(dbs_.*n.dbi)), n.name);
  }
}

raw_db::~raw_db() = default;

std::optional<std::string> raw_db::get(MDB_dbi store::databases::*dbi,
                                       std::string_view key) const {
  auto v = store::lmdb::get(txn_.get(), dbs_.*dbi, key);
  if (!v) throw std::runtime_error(v.error().message());
  if (!*v) return std::nullopt;
  return std::string(**v);
}

void raw_db::put(MDB_dbi store::databases::*dbi, std::string_view key,
                 std::string_view value) {
  auto r = store::lmdb::put(txn_.get(), dbs_.*dbi, key, value);
  if (!r) throw std::runtime_error(r.error().message());
}

void raw_db::del(MDB_dbi store::databases::*dbi, std::string_view key) {
  MDB_val k = store::lmdb::to_val(key);
  must(mdb_del(txn_.get(), dbs_.*dbi, &k, nullptr), "mdb_del");
}

job raw_db::read_job(const job_id& id) const {
  auto v = get(&store::databases::jobs, store::keys::id(id));
  if (!v) throw std::runtime_error("no record for job " + id.to_string());
  auto j = store::read_job(txn_.get(), dbs_, id, *v);
  if (!j) throw std::runtime_error(j.error().message());
  return std::move(*j);
}

void raw_db::write_job(const job& j) {
  put(&store::databases::jobs, store::keys::id(j.id), store::encode(j));
  for (std::size_t n = 0; n < j.history.size(); ++n) {
    put(&store::databases::jobs,
        store::keys::history_event(j.id, static_cast<std::uint32_t>(n)),
        store::encode(j.history[n]));
  }
}

void raw_db::commit() {
  auto r = txn_.commit();
  if (!r) throw std::runtime_error(r.error().message());
}

}  // namespace jobstate::test
