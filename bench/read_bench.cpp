// Reads from a database of JOBSTATE_BENCH_JOBS jobs (default 10000 for the
// smoke run; scripts/bench uses 1000000): three jobs in four completed
// (created, started, one progress update, succeeded), one in four pending.
// The database is built once per process (no fsync, through the
// asynchronous API) and shared by every benchmark and repetition here.
//
//  - read/get/threads:N: engine::get of uniformly random ids, N threads.
//    Counters gets_per_s (all threads, per second of wall time),
//    gets_per_s_per_thread, gets_per_cpu_s (per second of the thread's own
//    CPU time: what the machine's other load does not change); p50_us and
//    p99_us from one get in 16, timed alone.
//  - read/get_without_history/threads:1: the same, with read_options
//    {.with_history = false}: the record alone (a status poll).
//  - read/list/<status>: engine::list, first page of 100 jobs of that status
//    (newest first). Counters pages_per_s, jobs_per_s, p50_us, p99_us.
//  - read/floor/lmdb_get/per_txn:T: what a get costs below the engine: an
//    LMDB read transaction and the lookup of the record's bytes, without
//    decoding them (the same random ids, one thread); T = 1: a transaction
//    per get, as engine::get does; T = 1000: the lookup alone. Counter
//    gets_per_cpu_s.
//  - read/floor/decode: what a get costs above LMDB: decoding a record
//    (checksum, fields, JSON values) into a job, from bytes in memory.
//    Counter decodes_per_cpu_s.
//  Together they show where a get's time goes, and what bounds it.
#include "bench_support.hpp"
#include "engine/engine_impl.hpp"
#include "store/codec.hpp"

#include <algorithm>
#include <atomic>
#include <iostream>
#include <optional>
#include <random>

namespace jobstate::bench {
namespace {

struct database {
  database()
      : dir("read"),
        eng(open_engine(engine_options(dir.path(), durability::no_sync))) {
    const std::uint64_t jobs = env_size("JOBSTATE_BENCH_JOBS", 10000);
    const auto t0 = clock::now();
    ids = load_jobs(*eng, jobs, 3);
    load_seconds = static_cast<double>(nanos(t0, clock::now())) / 1e9;
    disk_bytes = dir.allocated_bytes();
    std::cerr << "read: " << jobs << " jobs loaded in " << load_seconds
              << " s, " << disk_bytes << " bytes on disk\n";
  }
  scratch_dir dir;
  std::unique_ptr<engine> eng;
  std::vector<job_id> ids;
  double load_seconds = 0;
  std::uint64_t disk_bytes = 0;
};

database& db() {
  static database d;
  return d;
}

void add_database_counters(benchmark::State& state) {
  state.counters["db_jobs"] = static_cast<double>(db().ids.size());
  state.counters["db_bytes_per_job"] = static_cast<double>(db().disk_bytes) /
                                       static_cast<double>(db().ids.size());
}

void bm_get(benchmark::State& state, read_options how) {
  // Built before the threads start (by the first thread to get here; the
  // others wait on the static's initialisation).
  database& d = db();
  std::mt19937_64 rng(0x5eed + static_cast<unsigned>(state.thread_index()));
  std::uniform_int_distribution<std::size_t> pick(0, d.ids.size() - 1);
  std::vector<std::uint32_t> sampled;
  sampled.reserve(1 << 16);
  std::uint64_t gets = 0;
  job_ref ref = ref_to(job_id{});
  const auto cpu0 = thread_cpu_nanos();
  for (auto _ : state) {
    ref.id = d.ids[pick(rng)];
    if ((gets & 15) == 0) {
      const auto t0 = clock::now();
      auto j = d.eng->get(ref, how);
      sampled.push_back(static_cast<std::uint32_t>(nanos(t0, clock::now())));
      if (!j) fail("get", j.error());
      benchmark::DoNotOptimize(j);
    } else {
      auto j = d.eng->get(ref, how);
      if (!j) fail("get", j.error());
      benchmark::DoNotOptimize(j);
    }
    ++gets;
  }
  const auto cpu = thread_cpu_nanos() - cpu0;
  using benchmark::Counter;
  // Gets per second of this thread's CPU time, averaged over threads: what
  // the machine's other load does not change.
  state.counters["gets_per_cpu_s"] = Counter(
      cpu > 0 ? static_cast<double>(gets) * 1e9 / static_cast<double>(cpu) : 0,
      Counter::kAvgThreads);
  state.counters["gets_per_s"] =
      Counter(static_cast<double>(gets), Counter::kIsRate);
  state.counters["gets_per_s_per_thread"] =
      Counter(static_cast<double>(gets), Counter::kAvgThreadsRate);
  // Percentiles per thread, averaged over threads (they do the same work).
  state.counters["p50_us"] =
      Counter(quantile(sampled, 0.50) / 1e3, Counter::kAvgThreads);
  state.counters["p99_us"] =
      Counter(quantile(sampled, 0.99) / 1e3, Counter::kAvgThreads);
  if (state.thread_index() == 0) add_database_counters(state);
}

// Operations per second of this thread's CPU time since `cpu0`.
double per_cpu_second(std::uint64_t operations, std::int64_t cpu0) {
  const auto cpu = thread_cpu_nanos() - cpu0;
  return cpu > 0
             ? static_cast<double>(operations) * 1e9 / static_cast<double>(cpu)
             : 0;
}

void bm_floor_lmdb_get(benchmark::State& state) {
  database& d = db();
  const store::job_store& s = *engine_access::of(*d.eng).store_;
  std::mt19937_64 rng(0x5eed);
  std::uniform_int_distribution<std::size_t> pick(0, d.ids.size() - 1);
  std::uint64_t gets = 0;
  const auto cpu0 = thread_cpu_nanos();
  const auto per_txn = static_cast<std::uint64_t>(state.range(0));
  std::optional<store::read_txn> txn;
  for (auto _ : state) {
    if (gets % per_txn == 0) {
      txn.reset();
      auto t = s.begin_read();
      if (!t) fail("begin_read", t.error());
      txn.emplace(std::move(*t));
    }
    auto bytes = txn->find_record(d.ids[pick(rng)]);
    if (!bytes || !*bytes) fail("find_record");
    benchmark::DoNotOptimize(bytes->value().data());
    ++gets;
  }
  state.counters["gets_per_cpu_s"] = per_cpu_second(gets, cpu0);
}

void bm_floor_decode(benchmark::State& state) {
  database& d = db();
  const store::job_store& s = *engine_access::of(*d.eng).store_;
  // A sample of records, copied out of the map.
  std::vector<std::string> records;
  {
    auto txn = s.begin_read();
    if (!txn) fail("begin_read", txn.error());
    for (std::size_t i = 0; i < std::min<std::size_t>(d.ids.size(), 4096);
         ++i) {
      auto bytes = txn->find_record(d.ids[i]);
      if (!bytes || !*bytes) fail("find_record");
      records.emplace_back(**bytes);
    }
  }
  std::uint64_t decodes = 0;
  const auto cpu0 = thread_cpu_nanos();
  for (auto _ : state) {
    auto j = store::decode_record(records[decodes % records.size()]);
    if (!j) fail("decode", j.error());
    benchmark::DoNotOptimize(j);
    ++decodes;
  }
  state.counters["decodes_per_cpu_s"] = per_cpu_second(decodes, cpu0);
  state.counters["record_bytes"] = static_cast<double>(records[0].size());
}

void bm_list(benchmark::State& state, job_status status) {
  database& d = db();
  list_query q;
  q.account_id = std::string(account);
  q.project_id = std::string(project);
  q.status = status;
  q.limit = 100;
  std::vector<std::uint32_t> latencies;
  latencies.reserve(1 << 16);
  std::uint64_t pages = 0;
  std::uint64_t jobs = 0;
  for (auto _ : state) {
    const auto t0 = clock::now();
    auto page = d.eng->list(q);
    latencies.push_back(static_cast<std::uint32_t>(nanos(t0, clock::now())));
    if (!page) fail("list", page.error());
    if (page->jobs.size() != 100) fail("list: short page");
    jobs += page->jobs.size();
    ++pages;
    benchmark::DoNotOptimize(page);
  }
  using benchmark::Counter;
  state.counters["pages_per_s"] =
      Counter(static_cast<double>(pages), Counter::kIsRate);
  state.counters["jobs_per_s"] =
      Counter(static_cast<double>(jobs), Counter::kIsRate);
  set_latency_counters(state, latencies);
  add_database_counters(state);
}

}  // namespace
}  // namespace jobstate::bench

int main(int argc, char** argv) {
  using namespace jobstate::bench;
  benchmark::RegisterBenchmark("read/get",
                               [](benchmark::State& s) { bm_get(s, {}); })
      ->Threads(1)
      ->Threads(2)
      ->UseRealTime();
  // A status poll: the job without its history (one record, one lookup).
  benchmark::RegisterBenchmark(
      "read/get_without_history",
      [](benchmark::State& s) { bm_get(s, {.with_history = false}); })
      ->Threads(1)
      ->UseRealTime();
  benchmark::RegisterBenchmark("read/floor/lmdb_get", bm_floor_lmdb_get)
      ->ArgName("per_txn")
      ->Arg(1)
      ->Arg(1000)
      ->UseRealTime();
  benchmark::RegisterBenchmark("read/floor/decode", bm_floor_decode)
      ->UseRealTime();
  benchmark::RegisterBenchmark("read/list/succeeded", [](benchmark::State& s) {
    bm_list(s, jobstate::job_status::succeeded);
  })->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("read/list/pending", [](benchmark::State& s) {
    bm_list(s, jobstate::job_status::pending);
  })->Unit(benchmark::kMicrosecond);
  return run_benchmarks(argc, argv);
}
