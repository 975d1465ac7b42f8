#include "store/lmdb_backend.hpp"

#include "store/environment.hpp"
#include "store/keys.hpp"
#include "store/lock_file.hpp"
#include "store/meta.hpp"

#include <algorithm>

namespace jobstate::store {
namespace {

unsigned put_flags(put_mode mode) {
  switch (mode) {
    case put_mode::upsert:
      return 0;
    case put_mode::insert_new:
      return MDB_NOOVERWRITE;
    case put_mode::append:
      return MDB_APPEND;
  }
  return 0;
}

class lmdb_cursor final : public cursor {
 public:
  explicit lmdb_cursor(lmdb::cursor c) : cur_(std::move(c)) {}
  result<bool> seek(std::string_view key) override {
    // LMDB refuses an empty key even to position at; every key sorts at or
    // after it.
    if (key.empty()) return cur_.first();
    return cur_.seek(key);
  }
  result<bool> first() override { return cur_.first(); }
  result<bool> last() override { return cur_.last(); }
  result<bool> next() override { return cur_.next(); }
  result<bool> prev() override { return cur_.prev(); }
  std::string_view key() const noexcept override { return cur_.key(); }
  std::string_view value() const noexcept override { return cur_.value(); }

 private:
  lmdb::cursor cur_;
};

// A table that a database of an earlier schema lacks (environment.hpp).
class empty_cursor final : public cursor {
 public:
  result<bool> seek(std::string_view) override { return false; }
  result<bool> first() override { return false; }
  result<bool> last() override { return false; }
  result<bool> next() override { return false; }
  result<bool> prev() override { return false; }
  std::string_view key() const noexcept override { return {}; }
  std::string_view value() const noexcept override { return {}; }
};

// Reads through a transaction, whoever owns it.
class lmdb_view : public write_batch {
 public:
  lmdb_view(MDB_txn* txn, const table_handles& handles)
      : txn_(txn), handles_(handles) {}

  result<std::optional<std::string_view>> get(
      table t, std::string_view key) const override {
    if (dbi(t) == absent_table) return std::optional<std::string_view>{};
    return lmdb::get(txn_, dbi(t), key);
  }
  result<std::unique_ptr<cursor>> open_cursor(table t) const override {
    if (dbi(t) == absent_table) {
      return std::unique_ptr<cursor>(new empty_cursor);
    }
    auto c = lmdb::cursor::open(txn_, dbi(t));
    if (!c) return c.error();
    return std::unique_ptr<cursor>(new lmdb_cursor(std::move(*c)));
  }
  result<std::uint64_t> count(table t) const override {
    if (dbi(t) == absent_table) return std::uint64_t{0};
    MDB_stat st;
    if (int rc = mdb_stat(txn_, dbi(t), &st); rc != 0) {
      return lmdb::to_error(rc, "mdb_stat");
    }
    return std::uint64_t{st.ms_entries};
  }
  result<void> put(table t, std::string_view key, std::string_view value,
                   put_mode mode) override {
    return lmdb::put(txn_, dbi(t), key, value, put_flags(mode));
  }
  result<void> del(table t, std::string_view key) override {
    return lmdb::del(txn_, dbi(t), key);
  }
  // A borrowed transaction is ended by its owner.
  result<void> commit() override {
    return error(errc::invalid_argument, "a borrowed transaction");
  }
  void abort() noexcept override {}

 protected:
  MDB_dbi dbi(table t) const noexcept {
    return handles_[static_cast<std::size_t>(t)];
  }
  MDB_txn* txn_;
  const table_handles& handles_;
};

// A transaction of the backend's own, holding a pass through the resize
// gate for its whole life.
class owned_txn final : public lmdb_view {
 public:
  owned_txn(resize_gate::pass pass, map_file::lock file_lock, lmdb::txn t,
            const table_handles& handles)
      : lmdb_view(t.get(), handles),
        pass_(std::move(pass)),
        file_lock_(std::move(file_lock)),
        handle_(std::move(t)) {}
  result<void> commit() override {
    auto r = handle_.commit();
    end();
    return r;
  }
  void abort() noexcept override {
    handle_.abort();
    end();
  }

 private:
  void end() noexcept {
    txn_ = nullptr;
    file_lock_ = map_file::lock();
    pass_.release();
  }
  // Declared first, released last: the transaction ends before the map may
  // be resized.
  resize_gate::pass pass_;
  // A pwrite writer's shared lock on data.mdb (map_file.hpp).
  map_file::lock file_lock_;
  lmdb::txn handle_;
};

}  // namespace

std::unique_ptr<snapshot> view_of(MDB_txn* txn, const table_handles& handles) {
  return std::make_unique<lmdb_view>(txn, handles);
}

result<std::unique_ptr<lmdb_backend>> lmdb_backend::open(const options& opts) {
  auto e = open_environment(opts, access::read_write, "an engine");
  if (!e) return e.error();
  // The sub-database handles (and a new database's stamp) outlive the
  // first transaction only once it commits.
  if (auto r = e->txn.commit(); !r) return r.error();
  std::unique_ptr<lmdb_backend> b(new lmdb_backend());
  b->claim_ = std::move(e->claim);
  b->file_ = std::move(e->file);
  b->write_map_ = e->write_map;
  b->unreserved_.store(e->map_unreserved);
  b->env_ = std::move(e->env);
  b->handles_ = e->handles;
  b->opts_ = opts;
  return b;
}

lmdb_backend::~lmdb_backend() = default;

result<void> lmdb_backend::adopt_resized_map() const {
  return gate_.exclusively([this]() -> result<void> {
    map_file::lock held;
    if (write_map_) {
      auto locked = file_.lock_exclusively();
      if (!locked) return locked.error();
      held = std::move(*locked);
    }
    auto reserved = adopt_map_size(env_.get(), write_map_, file_);
    if (!reserved) return reserved.error();
    // Adopted but not reserved: readers go on, writers are refused with
    // storage_full until a reservation succeeds.
    if (!*reserved) unreserved_.store(true);
    return {};
  });
}

result<void> lmdb_backend::reserve_adopted_map() const {
  auto held = file_.lock_exclusively();
  if (!held) return held.error();
  auto length = file_.size();
  if (!length) return length.error();
  MDB_envinfo info;
  mdb_env_info(env_.get(), &info);
  if (auto r = file_.reserve(info.me_mapsize, *length); !r) return r;
  unreserved_.store(false);
  return {};
}

result<void> lmdb_backend::resize_to(std::uint64_t wanted) {
  map_file::lock held;
  if (write_map_) {
    auto locked = file_.lock_exclusively();
    if (!locked) return locked.error();
    held = std::move(*locked);
    auto length = file_.size();
    if (!length) return length.error();
    wanted = std::max(wanted, *length);
    // Reserved before mapped: a full disk fails here, not in a write.
    if (auto r = file_.reserve(wanted, *length); !r) return r;
    unreserved_.store(false);
  }
  if (int rc = mdb_env_set_mapsize(env_.get(), wanted); rc != 0) {
    return lmdb::to_error(rc, "resizing the map");
  }
  return {};
}

result<std::unique_ptr<snapshot>> lmdb_backend::begin_read() const {
  auto t = begin(MDB_RDONLY);
  if (!t) return t.error();
  return std::unique_ptr<snapshot>(std::move(*t));
}

result<std::unique_ptr<write_batch>> lmdb_backend::begin_write() {
  return begin(0);
}

result<std::unique_ptr<write_batch>> lmdb_backend::begin(unsigned flags) const {
  for (int attempt = 0;; ++attempt) {
    resize_gate::pass pass = gate_.enter();
    map_file::lock file_lock;
    if ((flags & MDB_RDONLY) == 0) {
      if (write_map_ && unreserved_.load()) {
        if (auto r = reserve_adopted_map(); !r) return r.error();
      }
      if (!write_map_) {
        // Its commit may extend the file: no writable map's resize (in
        // another process) may measure the file meanwhile.
        auto locked = file_.lock_shared();
        if (!locked) return locked.error();
        file_lock = std::move(*locked);
      }
    }
    MDB_txn* t = nullptr;
    const int rc = mdb_txn_begin(env_.get(), nullptr, flags, &t);
    if (rc == 0) {
      return std::unique_ptr<write_batch>(new owned_txn(
          std::move(pass), std::move(file_lock), lmdb::txn(t), handles_));
    }
    if (rc != MDB_MAP_RESIZED || attempt >= max_resize_adoptions) {
      return lmdb::to_error(rc, (flags & MDB_RDONLY) != 0
                                    ? "beginning a read transaction"
                                    : "beginning a write transaction");
    }
    pass.release();
    file_lock = map_file::lock();
    if (auto r = adopt_resized_map(); !r) return r.error();
  }
}

result<bool> lmdb_backend::grow() {
  return gate_.exclusively([this]() -> result<bool> {
    MDB_envinfo info;
    mdb_env_info(env_.get(), &info);
    const std::uint64_t current = info.me_mapsize;
    if (current >= opts_.max_map_size) return false;
    const std::uint64_t next =
        std::min<std::uint64_t>(current * 2, opts_.max_map_size);
    if (auto r = resize_to(next); !r) return r.error();
    return true;
  });
}

result<void> lmdb_backend::grow_beyond_limit(std::uint64_t bytes) {
  return gate_.exclusively([this, bytes]() -> result<void> {
    MDB_envinfo info;
    mdb_env_info(env_.get(), &info);
    return resize_to(info.me_mapsize + bytes);
  });
}

result<void> lmdb_backend::recycle_freed_space() {
  auto w = begin_write();
  if (!w) return w.error();
  // Rewriting the schema version with its own value dirties a page, so the
  // commit writes a new meta page with the next transaction id.
  if (auto r = (*w)->put(table::meta, meta_schema_key,
                         keys::sequence(schema_version));
      !r) {
    (*w)->abort();
    return r;
  }
  return (*w)->commit();
}

result<bool> lmdb_backend::open_elsewhere() const {
  return open_in_other_processes(opts_.path);
}

bool lmdb_backend::can_grow() const {
  // Inside the gate: a reader adopting another process's size changes it.
  resize_gate::pass pass = gate_.enter();
  MDB_envinfo info;
  mdb_env_info(env_.get(), &info);
  return info.me_mapsize < opts_.max_map_size;
}

std::uint64_t lmdb_backend::map_size() const {
  resize_gate::pass pass = gate_.enter();
  MDB_envinfo info;
  mdb_env_info(env_.get(), &info);
  return info.me_mapsize;
}

}  // namespace jobstate::store
