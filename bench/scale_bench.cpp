// How get latency and disk use change with the number of jobs.
//
// scale/jobs:N: a database of N completed jobs (each created, started,
// updated once with progress, succeeded; default options except no fsync
// while loading), then engine::get of uniformly random ids. Counters:
// bytes_per_job (disk blocks of the database directory / N),
// apparent_bytes_per_job (file sizes / N: LMDB's file holds the pages in use
// and its free list), gets_per_s, gets_per_cpu_s (gets per second of this
// thread's CPU time: what the machine's other load does not change), p50_us
// and p99_us (one get in 16, timed alone), load_s, warm_s. Before the gets,
// the database files are read once (warm_s), so that the page cache holds
// them when they fit in memory: a get then costs what the engine and the
// B-tree's depth cost, not a disk read.
//
// Sizes: JOBSTATE_BENCH_SCALE_JOBS, a comma-separated list (default 10000).
// jobstate_bench_scale_big is this file built with a default of 10000000
// (JOBSTATE_BENCH_SCALE_BIG): a long run, not part of the smoke tests.
#include "bench_support.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <iostream>
#include <random>

#ifndef JOBSTATE_BENCH_SCALE_BIG
#define JOBSTATE_BENCH_SCALE_BIG 0
#endif

namespace jobstate::bench {
namespace {

struct database {
  explicit database(std::uint64_t jobs)
      : dir("scale"),
        eng(open_engine(engine_options(dir.path(), durability::no_sync))) {
    const auto t0 = clock::now();
    ids = load_jobs(*eng, jobs, 4);
    load_seconds = static_cast<double>(nanos(t0, clock::now())) / 1e9;
    // Close to measure the files as they rest, then reopen for reads with
    // the default durability.
    eng.reset();
    allocated = dir.allocated_bytes();
    apparent = dir.apparent_bytes();
    eng = open_engine(engine_options(dir.path(), durability::full));
    const auto t1 = clock::now();
    warm_page_cache();
    warm_seconds = static_cast<double>(nanos(t1, clock::now())) / 1e9;
    std::cerr << "scale: " << jobs << " jobs loaded in " << load_seconds
              << " s; " << allocated << " bytes on disk\n";
  }
  // Reads the database files once, so that gets measure the engine and the
  // B-tree's depth, not the disk (as long as the files fit in memory).
  void warm_page_cache() const {
    std::vector<char> buffer(std::size_t{1} << 20);
    for (const auto& entry :
         std::filesystem::recursive_directory_iterator(dir.path())) {
      if (!entry.is_regular_file()) continue;
      const int fd = ::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) fail("open " + entry.path().string());
      while (::read(fd, buffer.data(), buffer.size()) > 0) {
      }
      ::close(fd);
    }
  }

  scratch_dir dir;
  std::unique_ptr<engine> eng;
  std::vector<job_id> ids;
  double load_seconds = 0;
  double warm_seconds = 0;
  std::uint64_t allocated = 0;
  std::uint64_t apparent = 0;
};

// The database of the size being measured, kept across repetitions.
database& db(std::uint64_t jobs) {
  static std::unique_ptr<database> current;
  if (!current || current->ids.size() != jobs) {
    current.reset();  // Free the previous size's disk first.
    current = std::make_unique<database>(jobs);
  }
  return *current;
}

void bm_scale(benchmark::State& state) {
  const auto jobs = static_cast<std::uint64_t>(state.range(0));
  database& d = db(jobs);
  std::mt19937_64 rng(0x5ca1e);
  std::uniform_int_distribution<std::size_t> pick(0, d.ids.size() - 1);
  std::vector<std::uint32_t> sampled;
  sampled.reserve(1 << 16);
  std::uint64_t gets = 0;
  job_ref ref = ref_to(job_id{});
  const auto cpu0 = thread_cpu_nanos();
  for (auto _ : state) {
    ref.id = d.ids[pick(rng)];
    const bool timed = (gets & 15) == 0;
    const auto t0 = timed ? clock::now() : clock::time_point{};
    auto j = d.eng->get(ref);
    if (timed) {
      sampled.push_back(static_cast<std::uint32_t>(nanos(t0, clock::now())));
    }
    if (!j) fail("get", j.error());
    benchmark::DoNotOptimize(j);
    ++gets;
  }
  const auto cpu = thread_cpu_nanos() - cpu0;
  using benchmark::Counter;
  const auto n = static_cast<double>(jobs);
  state.counters["jobs"] = n;
  state.counters["bytes_per_job"] = static_cast<double>(d.allocated) / n;
  state.counters["apparent_bytes_per_job"] =
      static_cast<double>(d.apparent) / n;
  state.counters["load_s"] = d.load_seconds;
  state.counters["warm_s"] = d.warm_seconds;
  state.counters["gets_per_s"] =
      Counter(static_cast<double>(gets), Counter::kIsRate);
  state.counters["gets_per_cpu_s"] =
      cpu > 0 ? static_cast<double>(gets) * 1e9 / static_cast<double>(cpu) : 0;
  state.counters["p50_us"] = quantile(sampled, 0.50) / 1e3;
  state.counters["p99_us"] = quantile(sampled, 0.99) / 1e3;
}

}  // namespace
}  // namespace jobstate::bench

int main(int argc, char** argv) {
  using namespace jobstate::bench;
  const std::uint64_t fallback = JOBSTATE_BENCH_SCALE_BIG ? 10000000 : 10000;
  auto* b = benchmark::RegisterBenchmark("scale", bm_scale)
                ->ArgName("jobs")
                ->UseRealTime();
  for (std::uint64_t jobs : env_sizes("JOBSTATE_BENCH_SCALE_JOBS", {fallback})) {
    b->Arg(static_cast<std::int64_t>(jobs));
  }
  return run_benchmarks(argc, argv);
}
