// Lifecycle throughput of the engine: each job is created (a ~200-byte JSON
// input), started (a history event with details), updated once with progress
// and completed as succeeded (a ~200-byte result, a history event with
// details): four durable writes, each acknowledged before the job's next.
//
//  - lifecycle/engine/<durability>/threads:N: N producer threads on the
//    blocking API;
//  - lifecycle/engine_pwrite/<durability>/threads:N: the same without the
//    writable map (options::write_map = false);
//  - lifecycle/engine_async/<durability>/in_flight:64: one thread running an
//    io_context that keeps 64 lifecycles in flight through the asynchronous
//    mutations (each completion handler starts the job's next write).
//
// The baselines (same workload, same binary, so one run measures both) are
// in baseline_bench.cpp. Counters: jobs_per_s, writes_per_s, and the
// latency of one write (mean_us, p50_us, p99_us); asynchronous runs also
// writes_per_commit (how many writes each group commit took, on average).
#include "bench_support.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>

namespace jobstate::bench {
namespace {

namespace asio = boost::asio;

// ------------------------------------------------------------ blocking

struct engine_fixture {
  engine_fixture(durability d, bool write_map)
      : dir("lifecycle"), eng(open_engine([&] {
          options o = engine_options(dir.path(), d);
          o.write_map = write_map;
          return o;
        }())) {}
  scratch_dir dir;
  std::unique_ptr<engine> eng;
  std::atomic<std::uint64_t> next{0};
};

void bm_engine_blocking(benchmark::State& state, durability d,
                        bool write_map = true) {
  run_producers<engine_fixture>(
      state,
      [d, write_map] { return std::make_unique<engine_fixture>(d, write_map); },
      [](engine_fixture& f, int, std::vector<std::uint32_t>& latencies) {
        run_lifecycle(*f.eng, f.next.fetch_add(1), &latencies);
      });
}

// ------------------------------------------------------------ asynchronous

void bm_engine_async(benchmark::State& state, durability d) {
  const auto in_flight = static_cast<std::size_t>(state.range(0));
  scratch_dir dir("lifecycle-async");
  auto eng = open_engine(engine_options(dir.path(), d));
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  lifecycle_pipeline driver(*eng, io, in_flight);
  driver.latencies().reserve(1 << 16);

  bool started = false;
  for (auto _ : state) {
    // One iteration is one lifecycle completed; the others stay in flight
    // across iterations, so the pipeline never drains while timed.
    if (!started) {
      driver.start();
      started = true;
    }
    const std::uint64_t target = driver.completed() + 1;
    while (driver.completed() < target) io.run_one();
  }
  const std::uint64_t jobs = driver.completed();
  driver.stop();
  while (driver.active() > 0) io.run_one();
  // The engine releases the work it tracked on io just after queueing a
  // handler: run until it has, or io could die under it.
  work.reset();
  io.run();

  using benchmark::Counter;
  state.counters["jobs_per_s"] =
      Counter(static_cast<double>(jobs), Counter::kIsRate);
  state.counters["writes_per_s"] =
      Counter(static_cast<double>(jobs * 4), Counter::kIsRate);
  state.counters["in_flight"] = static_cast<double>(in_flight);
  // How well group commit batches: writes per LMDB transaction.
  if (auto stats = eng->stats(); stats && stats->commits.count > 0) {
    state.counters["writes_per_commit"] =
        static_cast<double>(jobs * 4) /
        static_cast<double>(stats->commits.count);
  }
  set_latency_counters(state, driver.latencies());
}

// ------------------------------------------------------------ registration

struct durability_case {
  const char* name;
  durability value;
};
constexpr durability_case durabilities[] = {
    {"full", durability::full},
    {"no_sync", durability::no_sync},
};

void register_engine_benchmarks() {
  for (const auto& d : durabilities) {
    benchmark::RegisterBenchmark(
        (std::string("lifecycle/engine/") + d.name).c_str(),
        [v = d.value](benchmark::State& s) { bm_engine_blocking(s, v); })
        ->ThreadRange(1, 16)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(
        (std::string("lifecycle/engine_async/") + d.name).c_str(),
        [v = d.value](benchmark::State& s) { bm_engine_async(s, v); })
        ->ArgName("in_flight")
        ->Arg(64)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
    // Pages copied into the file with pwrite (options::write_map false):
    // what the writable map saves.
    benchmark::RegisterBenchmark(
        (std::string("lifecycle/engine_pwrite/") + d.name).c_str(),
        [v = d.value](benchmark::State& s) { bm_engine_blocking(s, v, false); })
        ->Threads(1)
        ->Threads(8)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
}

}  // namespace

void register_baseline_benchmarks();  // baseline_bench.cpp

}  // namespace jobstate::bench

int main(int argc, char** argv) {
  jobstate::bench::register_engine_benchmarks();
  jobstate::bench::register_baseline_benchmarks();
  return jobstate::bench::run_benchmarks(argc, argv);
}
