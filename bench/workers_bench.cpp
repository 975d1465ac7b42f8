// Workers (docs/workers.md): what a claim costs beside the start it
// replaces, and how soon a waiting worker gets a job created for it.
//
//  - workers/claim/<durability>/threads:N: N worker threads; each iteration
//    creates a job, claims the first claimable one (a lease of a minute)
//    and completes it with its lease epoch: three durable writes.
//  - workers/start/<durability>/threads:N: the same workload through start
//    (the job the thread created): the baseline, measured in the same run.
//    The target: claim's jobs_per_s >= 0.8x start's with 8 workers.
//  - workers/handoff/<durability>: one worker waits in a claim (wait of a
//    second); each iteration creates a job and times until the worker's
//    claim returns it: p50_us and p99_us from create's return (the create
//    durable) to the claim's (its own commit included), and
//    from_call_p50_us from create's call. The target: p50 <= 20 us in
//    process.
// Counters as lifecycle_bench.cpp's (jobs_per_s, writes_per_s, latency of
// one write).
#include "bench_support.hpp"

#include <atomic>
#include <thread>

namespace jobstate::bench {
namespace {

using namespace std::chrono_literals;

struct workers_fixture {
  explicit workers_fixture(durability d)
      : dir("workers"), eng(open_engine(engine_options(dir.path(), d))) {}
  scratch_dir dir;
  std::unique_ptr<engine> eng;
  std::atomic<std::uint64_t> next{0};
};

claim_request claim_for(int worker) {
  claim_request r;
  r.account_id = std::string(account);
  r.project_id = std::string(project);
  r.kinds = {std::string(kind)};
  r.worker_id = "bench-worker-" + std::to_string(worker);
  r.lease_ttl = 60s;
  r.with_history = false;
  return r;
}

// Runs `write` and records its latency.
template <class Write>
auto timed(std::vector<std::uint32_t>& latencies, Write&& write) {
  const auto t0 = clock::now();
  auto r = write();
  latencies.push_back(static_cast<std::uint32_t>(nanos(t0, clock::now())));
  return r;
}

void bm_claim(benchmark::State& state, durability d) {
  run_producers<workers_fixture>(
      state, [d] { return std::make_unique<workers_fixture>(d); },
      [](workers_fixture& f, int worker, std::vector<std::uint32_t>& lat) {
        engine& e = *f.eng;
        const std::uint64_t n = f.next.fetch_add(1);
        auto created = timed(lat, [&] { return e.create(make_create(n)); });
        if (!created) fail("create", created.error());
        const claim_request r = claim_for(worker);
        auto claimed = timed(lat, [&] { return e.claim(r); });
        if (!claimed) fail("claim", claimed.error());
        if (!*claimed) fail("claim: no job to claim");
        const job& j = **claimed;
        mutation_options fence;
        fence.lease_epoch = j.lease->epoch;
        fence.with_history = false;
        auto done = timed(lat, [&] {
          return e.complete(ref_to(j.id), make_completion(n), fence);
        });
        if (!done) fail("complete", done.error());
      },
      3);
}

void bm_start(benchmark::State& state, durability d) {
  run_producers<workers_fixture>(
      state, [d] { return std::make_unique<workers_fixture>(d); },
      [](workers_fixture& f, int, std::vector<std::uint32_t>& lat) {
        engine& e = *f.eng;
        const std::uint64_t n = f.next.fetch_add(1);
        auto created = timed(lat, [&] { return e.create(make_create(n)); });
        if (!created) fail("create", created.error());
        mutation_options opts;
        opts.with_history = false;
        const job_ref ref = ref_to(created->job.id);
        auto started = timed(lat, [&] { return e.start(ref, opts); });
        if (!started) fail("start", started.error());
        auto done = timed(
            lat, [&] { return e.complete(ref, make_completion(n), opts); });
        if (!done) fail("complete", done.error());
      },
      3);
}

void bm_handoff(benchmark::State& state, durability d) {
  scratch_dir dir("workers-handoff");
  auto eng = open_engine(engine_options(dir.path(), d));
  std::atomic<std::int64_t> claimed_at{0};  // steady ns; 0: not yet
  std::atomic<bool> stop{false};
  std::thread worker([&] {
    claim_request r = claim_for(0);
    r.wait = 1s;
    while (!stop.load()) {
      auto got = eng->claim(r);
      if (!got) fail("claim", got.error());
      if (*got) {
        claimed_at.store(std::chrono::duration_cast<std::chrono::nanoseconds>(
                             clock::now().time_since_epoch())
                             .count(),
                         std::memory_order_release);
      }
    }
  });
  // Let the worker fall asleep in its claim before the first job.
  std::this_thread::sleep_for(20ms);
  std::vector<std::uint32_t> from_durable;
  std::vector<std::uint32_t> from_call;
  std::uint64_t n = 0;
  for (auto _ : state) {
    claimed_at.store(0, std::memory_order_relaxed);
    const auto called = clock::now();
    auto created = eng->create(make_create(n++));
    const auto durable = clock::now();
    if (!created) fail("create", created.error());
    std::int64_t at = 0;
    while ((at = claimed_at.load(std::memory_order_acquire)) == 0) {
    }
    const auto at_ns = clock::time_point(std::chrono::nanoseconds(at));
    from_durable.push_back(static_cast<std::uint32_t>(nanos(durable, at_ns)));
    from_call.push_back(static_cast<std::uint32_t>(nanos(called, at_ns)));
    state.PauseTiming();
    // The worker is back in its claim, asleep, before the next job.
    std::this_thread::sleep_for(200us);
    state.ResumeTiming();
  }
  stop.store(true);
  worker.join();
  set_latency_counters(state, from_durable);
  state.counters["from_call_p50_us"] = quantile(from_call, 0.5) / 1e3;
}

}  // namespace
}  // namespace jobstate::bench

int main(int argc, char** argv) {
  using namespace jobstate::bench;
  struct named {
    const char* name;
    jobstate::durability value;
  };
  for (const named d : {named{"full", jobstate::durability::full},
                        named{"no_sync", jobstate::durability::no_sync}}) {
    benchmark::RegisterBenchmark(
        (std::string("workers/claim/") + d.name).c_str(),
        [v = d.value](benchmark::State& s) { bm_claim(s, v); })
        ->Threads(1)
        ->Threads(8)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(
        (std::string("workers/start/") + d.name).c_str(),
        [v = d.value](benchmark::State& s) { bm_start(s, v); })
        ->Threads(1)
        ->Threads(8)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(
        (std::string("workers/handoff/") + d.name).c_str(),
        [v = d.value](benchmark::State& s) { bm_handoff(s, v); })
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
  return run_benchmarks(argc, argv);
}
