// Baselines for the lifecycle benchmark: the same four writes per job, with
// the same payloads, against
//  - raw LMDB, one write transaction per write (the floor the engine builds
//    on), with full durability and with MDB_NOSYNC, 1 to 16 producer threads,
//    and with MDB_NOSYNC | MDB_WRITEMAP, 1 thread;
//  - raw LMDB, 64 writes per transaction: 64 jobs advance one step each per
//    transaction (the ceiling group commit can reach);
//  - SQLite in WAL mode with synchronous=FULL, one transaction per write
//    (autocommit statements, prepared once per thread), 1 to 16 threads.
//
// What one write stores, in both: the job's whole record as JSON text
// (id, tenancy, kind, status, timestamps, input, result, progress, history
// with the details of the start and completion events, revision), keyed by
// the 16-byte id, plus a (tenancy, status, id) index entry moved on each
// status change. Each producer keeps its job's record in memory, so a write
// is one put (LMDB) or one statement (SQLite): no read, no decode, no
// validation, no change feed. That makes these a floor, not a rival
// implementation.
#include "bench_support.hpp"

#include <boost/json/serialize.hpp>
#include <lmdb.h>

#include <atomic>
#include <sqlite3.h>

namespace jobstate::bench {
namespace {

// ------------------------------------------------------------ the record

std::int64_t now_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One job as a baseline producer keeps it, rendered to JSON text per write.
struct baseline_job {
  explicit baseline_job(std::uint64_t n)
      : id(job_id::generate()),
        n(n),
        input(boost::json::serialize(make_input(n))),
        created_at(now_micros()) {
    add_event("created", "pending", "null");
  }

  void add_event(std::string_view step, std::string_view status_name,
                 std::string_view details) {
    const std::int64_t at = now_micros();
    std::string e = "{\"step\":\"";
    e += step;
    e += "\",\"at\":" + std::to_string(at) +
         ",\"duration_ms\":" + std::to_string((at - last_event) / 1000) +
         ",\"status\":\"";
    e += status_name;
    e += "\",\"details\":";
    e += details;
    e += '}';
    history.push_back(std::move(e));
    last_event = at;
    ++revision;
  }
  void start() {
    status = 1;
    started_at = now_micros();
    add_event("started", "running", start_details_text());
  }
  void report_progress() {
    progress = "{\"percent\":50,\"counts\":null,\"details\":null}";
    add_event("progress", "running", "null");
  }
  void complete() {
    status = 2;
    completed_at = now_micros();
    result = boost::json::serialize(make_result(n));
    add_event("succeeded", "succeeded", finish_details_text());
  }

  std::string history_text() const {
    std::string h = "[";
    for (std::size_t i = 0; i < history.size(); ++i) {
      if (i != 0) h += ',';
      h += history[i];
    }
    h += ']';
    return h;
  }

  std::string render() const {
    static constexpr const char* names[] = {"pending", "running", "succeeded"};
    std::string s;
    s.reserve(1024);
    s += "{\"id\":\"" + id.to_string() + "\",\"account_id\":\"";
    s += account;
    s += "\",\"project_id\":\"";
    s += project;
    s += "\",\"kind\":\"";
    s += kind;
    s += "\",\"status\":\"";
    s += names[status];
    s += "\",\"created_at\":" + std::to_string(created_at);
    s += ",\"started_at\":" +
         (started_at ? std::to_string(started_at) : std::string("null"));
    s += ",\"completed_at\":" +
         (completed_at ? std::to_string(completed_at) : std::string("null"));
    s += ",\"input\":" + input;
    s += ",\"result\":" + (result.empty() ? std::string("null") : result);
    s += ",\"progress\":" + progress;
    s += ",\"history\":" + history_text();
    s += ",\"revision\":" + std::to_string(revision) + "}";
    return s;
  }

  static const std::string& start_details_text() {
    static const std::string text = boost::json::serialize(start_details());
    return text;
  }
  static const std::string& finish_details_text() {
    static const std::string text = boost::json::serialize(finish_details());
    return text;
  }

  std::string_view key() const {
    return {reinterpret_cast<const char*>(id.bytes().data()), job_id::size};
  }
  std::string status_key() const {
    // scope, status, id: what a list by status seeks on.
    std::string k = std::string(account) + '/' + std::string(project) + '/';
    k += static_cast<char>(status);
    k += key();
    return k;
  }

  job_id id;
  std::uint64_t n;
  std::string input;
  std::string result;
  std::string progress = "{\"percent\":null,\"counts\":null,\"details\":null}";
  std::vector<std::string> history;
  int status = 0;
  std::int64_t created_at;
  std::int64_t started_at = 0;
  std::int64_t completed_at = 0;
  std::int64_t last_event = 0;
  std::uint64_t revision = 0;
};

// ------------------------------------------------------------ raw LMDB

void check(int rc, const char* what) {
  if (rc != 0) fail(std::string(what) + ": " + mdb_strerror(rc));
}

MDB_val val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}

struct lmdb_fixture {
  explicit lmdb_fixture(bool sync, bool write_map = false)
      : dir("baseline-lmdb") {
    check(mdb_env_create(&env), "mdb_env_create");
    check(mdb_env_set_maxdbs(env, 4), "mdb_env_set_maxdbs");
    check(mdb_env_set_mapsize(env, std::size_t{8} << 30),
          "mdb_env_set_mapsize");
    const unsigned flags =
        (sync ? 0u : MDB_NOSYNC) | (write_map ? MDB_WRITEMAP : 0u);
    check(mdb_env_open(env, dir.path().c_str(), flags, 0644), "mdb_env_open");
    MDB_txn* t = nullptr;
    check(mdb_txn_begin(env, nullptr, 0, &t), "mdb_txn_begin");
    check(mdb_dbi_open(t, "jobs", MDB_CREATE, &jobs), "mdb_dbi_open jobs");
    check(mdb_dbi_open(t, "by_status", MDB_CREATE, &by_status),
          "mdb_dbi_open by_status");
    check(mdb_txn_commit(t), "mdb_txn_commit");
  }
  ~lmdb_fixture() { mdb_env_close(env); }
  lmdb_fixture(const lmdb_fixture&) = delete;
  lmdb_fixture& operator=(const lmdb_fixture&) = delete;

  scratch_dir dir;
  MDB_env* env = nullptr;
  MDB_dbi jobs = 0;
  MDB_dbi by_status = 0;
  std::atomic<std::uint64_t> next{0};
};

// The writes of one step, inside `t`: the record, and the status index when
// the status moved from `old_status_key` (empty on insert).
void lmdb_write(const lmdb_fixture& f, MDB_txn* t, const baseline_job& j,
                const std::string& old_status_key) {
  const std::string record = j.render();
  MDB_val k = val(j.key());
  MDB_val v = val(record);
  check(mdb_put(t, f.jobs, &k, &v, 0), "mdb_put record");
  const std::string status_key = j.status_key();
  if (status_key != old_status_key) {
    if (!old_status_key.empty()) {
      MDB_val old = val(old_status_key);
      check(mdb_del(t, f.by_status, &old, nullptr), "mdb_del index");
    }
    MDB_val sk = val(status_key);
    MDB_val empty{0, nullptr};
    check(mdb_put(t, f.by_status, &sk, &empty, 0), "mdb_put index");
  }
}

// One step of `j` (`change` moves it on) in a transaction of its own.
template <class Change>
void lmdb_step(const lmdb_fixture& f, baseline_job& j, Change change,
               std::vector<std::uint32_t>& latencies) {
  const auto t0 = clock::now();
  const std::string old_status_key = j.status_key();
  change(j);
  MDB_txn* t = nullptr;
  check(mdb_txn_begin(f.env, nullptr, 0, &t), "mdb_txn_begin");
  lmdb_write(f, t, j, old_status_key);
  check(mdb_txn_commit(t), "mdb_txn_commit");
  latencies.push_back(static_cast<std::uint32_t>(nanos(t0, clock::now())));
}

void lmdb_lifecycle(lmdb_fixture& f, int,
                    std::vector<std::uint32_t>& latencies) {
  baseline_job j(f.next.fetch_add(1));
  {
    // The insert: the record and the pending index entry.
    const auto t0 = clock::now();
    MDB_txn* t = nullptr;
    check(mdb_txn_begin(f.env, nullptr, 0, &t), "mdb_txn_begin");
    lmdb_write(f, t, j, std::string());
    check(mdb_txn_commit(t), "mdb_txn_commit");
    latencies.push_back(static_cast<std::uint32_t>(nanos(t0, clock::now())));
  }
  auto moved = [&](auto change) { lmdb_step(f, j, change, latencies); };
  moved([](baseline_job& b) { b.start(); });
  moved([](baseline_job& b) { b.report_progress(); });
  moved([](baseline_job& b) { b.complete(); });
}

void bm_lmdb_txn_per_write(benchmark::State& state, bool sync,
                           bool write_map = false) {
  run_producers<lmdb_fixture>(
      state,
      [sync, write_map] {
        return std::make_unique<lmdb_fixture>(sync, write_map);
      },
      lmdb_lifecycle);
}

// 64 jobs in a wave: transaction k applies step k of every job.
void bm_lmdb_batched(benchmark::State& state, bool sync) {
  const auto per_txn = static_cast<std::size_t>(state.range(0));
  lmdb_fixture f(sync);
  std::vector<std::uint32_t> latencies;
  latencies.reserve(1 << 16);
  std::uint64_t jobs = 0;
  using step_fn = void (*)(baseline_job&);
  const step_fn steps[] = {
      [](baseline_job& b) { b.start(); },
      [](baseline_job& b) { b.report_progress(); },
      [](baseline_job& b) { b.complete(); },
  };
  for (auto _ : state) {
    std::vector<baseline_job> wave;
    wave.reserve(per_txn);
    std::vector<std::string> old_keys(per_txn);
    for (int step = 0; step < 4; ++step) {
      const auto t0 = clock::now();
      MDB_txn* t = nullptr;
      check(mdb_txn_begin(f.env, nullptr, 0, &t), "mdb_txn_begin");
      for (std::size_t i = 0; i < per_txn; ++i) {
        if (step == 0) {
          wave.emplace_back(f.next.fetch_add(1));
          old_keys[i] = wave[i].status_key();
        } else {
          old_keys[i] = wave[i].status_key();
          steps[step - 1](wave[i]);
        }
        lmdb_write(f, t, wave[i], step == 0 ? std::string() : old_keys[i]);
      }
      check(mdb_txn_commit(t), "mdb_txn_commit");
      // Every write of the transaction is acknowledged at its commit.
      const auto took = static_cast<std::uint32_t>(nanos(t0, clock::now()));
      latencies.insert(latencies.end(), per_txn, took);
    }
    jobs += per_txn;
  }
  using benchmark::Counter;
  state.counters["jobs_per_s"] =
      Counter(static_cast<double>(jobs), Counter::kIsRate);
  state.counters["writes_per_s"] =
      Counter(static_cast<double>(jobs * 4), Counter::kIsRate);
  state.counters["in_flight"] = static_cast<double>(per_txn);
  set_latency_counters(state, latencies);
}

// ------------------------------------------------------------ SQLite

void check_sqlite(sqlite3* db, int rc, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    fail(std::string(what) + ": " + sqlite3_errmsg(db));
  }
}

// Prepared statements of one producer thread.
class sqlite_statements {
 public:
  explicit sqlite_statements(sqlite3* db) : db_(db) {
    insert_ = prepare(
        "INSERT INTO jobs(id, account_id, project_id, kind, status,"
        " created_at, input, progress, history, revision)"
        " VALUES(?1, ?2, ?3, ?4, 0, ?5, ?6, ?7, ?8, ?9)");
    start_ = prepare(
        "UPDATE jobs SET status = 1, started_at = ?2, history = ?3,"
        " revision = ?4 WHERE id = ?1");
    progress_ = prepare(
        "UPDATE jobs SET progress = ?2, history = ?3, revision = ?4"
        " WHERE id = ?1");
    complete_ = prepare(
        "UPDATE jobs SET status = 2, completed_at = ?2, result = ?3,"
        " history = ?4, revision = ?5 WHERE id = ?1");
  }
  ~sqlite_statements() {
    for (sqlite3_stmt* s : {insert_, start_, progress_, complete_}) {
      sqlite3_finalize(s);
    }
  }
  sqlite_statements(const sqlite_statements&) = delete;
  sqlite_statements& operator=(const sqlite_statements&) = delete;

  void lifecycle(baseline_job& j, std::vector<std::uint32_t>& latencies) {
    auto t0 = clock::now();
    bind_id(insert_, j);
    bind_text(insert_, 2, account);
    bind_text(insert_, 3, project);
    bind_text(insert_, 4, kind);
    sqlite3_bind_int64(insert_, 5, j.created_at);
    bind_text(insert_, 6, j.input);
    bind_text(insert_, 7, j.progress);
    const std::string h0 = j.history_text();
    bind_text(insert_, 8, h0);
    sqlite3_bind_int64(insert_, 9, static_cast<std::int64_t>(j.revision));
    run(insert_, latencies, t0);

    t0 = clock::now();
    j.start();
    bind_id(start_, j);
    sqlite3_bind_int64(start_, 2, j.started_at);
    const std::string h1 = j.history_text();
    bind_text(start_, 3, h1);
    sqlite3_bind_int64(start_, 4, static_cast<std::int64_t>(j.revision));
    run(start_, latencies, t0);

    t0 = clock::now();
    j.report_progress();
    bind_id(progress_, j);
    bind_text(progress_, 2, j.progress);
    const std::string h2 = j.history_text();
    bind_text(progress_, 3, h2);
    sqlite3_bind_int64(progress_, 4, static_cast<std::int64_t>(j.revision));
    run(progress_, latencies, t0);

    t0 = clock::now();
    j.complete();
    bind_id(complete_, j);
    sqlite3_bind_int64(complete_, 2, j.completed_at);
    bind_text(complete_, 3, j.result);
    const std::string h3 = j.history_text();
    bind_text(complete_, 4, h3);
    sqlite3_bind_int64(complete_, 5, static_cast<std::int64_t>(j.revision));
    run(complete_, latencies, t0);
  }

 private:
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    check_sqlite(db_, sqlite3_prepare_v2(db_, sql, -1, &s, nullptr), sql);
    return s;
  }
  static void bind_text(sqlite3_stmt* s, int i, std::string_view text) {
    sqlite3_bind_text(s, i, text.data(), static_cast<int>(text.size()),
                      SQLITE_STATIC);
  }
  static void bind_id(sqlite3_stmt* s, const baseline_job& j) {
    sqlite3_bind_blob(s, 1, j.id.bytes().data(), job_id::size, SQLITE_STATIC);
  }
  void run(sqlite3_stmt* s, std::vector<std::uint32_t>& latencies,
           clock::time_point t0) {
    const int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) check_sqlite(db_, rc, "sqlite3_step");
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    latencies.push_back(static_cast<std::uint32_t>(nanos(t0, clock::now())));
  }

  sqlite3* db_;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* start_ = nullptr;
  sqlite3_stmt* progress_ = nullptr;
  sqlite3_stmt* complete_ = nullptr;
};

struct sqlite_fixture {
  explicit sqlite_fixture(int threads) : dir("baseline-sqlite") {
    const std::string path = (dir.path() / "jobs.db").string();
    // One connection in serialized mode, shared by the producer threads:
    // SQLite has one writer at a time anyway, and the connection's mutex
    // queues them without the busy handler's sleeps.
    check_sqlite(db,
                 sqlite3_open_v2(path.c_str(), &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                     SQLITE_OPEN_FULLMUTEX,
                                 nullptr),
                 "sqlite3_open_v2");
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    exec(
        "CREATE TABLE jobs("
        " id BLOB PRIMARY KEY, account_id TEXT NOT NULL,"
        " project_id TEXT NOT NULL, kind TEXT NOT NULL,"
        " status INTEGER NOT NULL, created_at INTEGER NOT NULL,"
        " started_at INTEGER, completed_at INTEGER, input TEXT NOT NULL,"
        " result TEXT, progress TEXT NOT NULL, history TEXT NOT NULL,"
        " revision INTEGER NOT NULL) WITHOUT ROWID");
    exec(
        "CREATE INDEX jobs_by_status ON jobs(account_id, project_id, status,"
        " id)");
    for (int i = 0; i < threads; ++i) {
      statements.push_back(std::make_unique<sqlite_statements>(db));
    }
  }
  ~sqlite_fixture() {
    statements.clear();
    sqlite3_close_v2(db);
  }
  sqlite_fixture(const sqlite_fixture&) = delete;
  sqlite_fixture& operator=(const sqlite_fixture&) = delete;

  void exec(const char* sql) {
    check_sqlite(db, sqlite3_exec(db, sql, nullptr, nullptr, nullptr), sql);
  }

  scratch_dir dir;
  sqlite3* db = nullptr;
  std::vector<std::unique_ptr<sqlite_statements>> statements;  // per thread
  std::atomic<std::uint64_t> next{0};
};

void bm_sqlite(benchmark::State& state) {
  run_producers<sqlite_fixture>(
      state,
      [threads = state.threads()] {
        return std::make_unique<sqlite_fixture>(threads);
      },
      [](sqlite_fixture& f, int thread, std::vector<std::uint32_t>& latencies) {
        baseline_job j(f.next.fetch_add(1));
        f.statements[static_cast<std::size_t>(thread)]->lifecycle(j, latencies);
      });
}

}  // namespace

void register_baseline_benchmarks() {
  struct lmdb_case {
    const char* name;
    bool sync;
  };
  for (const lmdb_case c :
       {lmdb_case{"full", true}, lmdb_case{"nosync", false}}) {
    benchmark::RegisterBenchmark(
        (std::string("lifecycle/lmdb_txn_per_write/") + c.name).c_str(),
        [sync = c.sync](benchmark::State& s) {
          bm_lmdb_txn_per_write(s, sync);
        })
        ->ThreadRange(1, 16)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(
        (std::string("lifecycle/lmdb_batched/") + c.name).c_str(),
        [sync = c.sync](benchmark::State& s) { bm_lmdb_batched(s, sync); })
        ->ArgName("per_txn")
        ->Arg(64)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
  // The engine writes through a writable map (options::write_map): LMDB
  // with MDB_WRITEMAP too, beside the default above.
  benchmark::RegisterBenchmark(
      "lifecycle/lmdb_txn_per_write/nosync_writemap",
      [](benchmark::State& s) { bm_lmdb_txn_per_write(s, false, true); })
      ->Threads(1)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("lifecycle/sqlite_wal/full", bm_sqlite)
      ->ThreadRange(1, 16)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
}

}  // namespace jobstate::bench
