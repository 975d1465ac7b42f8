// Batch jobs at scale (docs/batches.md):
//  - batch/create/children:N: one create_batch of N children (one commit);
//  - batch/complete_child/children:N: start + complete one child of an
//    N-child batch (its parent's counters move in the same commit);
//  - batch/complete_lone_job: start + complete a job with no parent, the
//    baseline the previous one must stay close to.
// N is 100,000 by default in a real run (JOBSTATE_BENCH_BATCH, e.g. 100k);
// the smoke run uses 1,000.
#include "bench_support.hpp"

namespace jobstate::bench {
namespace {

std::uint64_t batch_size() {
  return env_size("JOBSTATE_BENCH_BATCH", 1000);
}

batch_request make_batch(std::uint64_t children) {
  batch_request r;
  r.parent = make_create(0);
  r.parent.kind = "batch_parse";
  r.children.reserve(children);
  for (std::uint64_t i = 0; i < children; ++i) {
    r.children.push_back(batch_child{std::string(kind), make_input(i),
                                     "doc-" + std::to_string(i),
                                     std::nullopt});
  }
  return r;
}

options batch_options(const std::filesystem::path& path) {
  options o = engine_options(path, durability::full);
  o.limits.max_batch_children = 1'000'000;
  return o;
}

void bm_create_batch(benchmark::State& state) {
  const std::uint64_t n = batch_size();
  scratch_dir dir("batch-create");
  auto eng = open_engine(batch_options(dir.path()));
  const batch_request request = make_batch(n);
  for (auto _ : state) {
    auto b = eng->create_batch(request);
    if (!b) state.SkipWithError(b.error().message().c_str());
    benchmark::DoNotOptimize(b);
  }
  state.counters["children"] = static_cast<double>(n);
  state.counters["children_per_s"] = benchmark::Counter(
      static_cast<double>(n * state.iterations()), benchmark::Counter::kIsRate);
}

// Completes children of one big batch, one per iteration (start + complete:
// two durable writes, each moving the parent's counters).
void bm_complete_child(benchmark::State& state) {
  const std::uint64_t n = batch_size();
  scratch_dir dir("batch-child");
  auto eng = open_engine(batch_options(dir.path()));
  const auto b = eng->create_batch(make_batch(n));
  if (!b) {
    state.SkipWithError(b.error().message().c_str());
    return;
  }
  std::vector<std::uint32_t> latencies;
  std::size_t next = 0;
  for (auto _ : state) {
    if (next == b->child_ids.size()) {
      state.SkipWithError("ran out of children: raise JOBSTATE_BENCH_BATCH");
      break;
    }
    const job_ref ref = ref_to(b->child_ids[next++]);
    const auto t0 = clock::now();
    if (!eng->start(ref) || !eng->complete(ref, make_completion(next))) {
      state.SkipWithError("child mutation failed");
      break;
    }
    latencies.push_back(static_cast<std::uint32_t>(nanos(t0, clock::now())));
  }
  state.counters["children"] = static_cast<double>(n);
  set_latency_counters(state, latencies);
}

void bm_complete_lone_job(benchmark::State& state) {
  scratch_dir dir("batch-lone");
  auto eng = open_engine(batch_options(dir.path()));
  std::vector<std::uint32_t> latencies;
  std::uint64_t n = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const auto j = eng->create(make_create(++n));
    state.ResumeTiming();
    if (!j) {
      state.SkipWithError(j.error().message().c_str());
      break;
    }
    const job_ref ref = ref_to(j->job.id);
    const auto t0 = clock::now();
    if (!eng->start(ref) || !eng->complete(ref, make_completion(n))) {
      state.SkipWithError("mutation failed");
      break;
    }
    latencies.push_back(static_cast<std::uint32_t>(nanos(t0, clock::now())));
  }
  set_latency_counters(state, latencies);
}

BENCHMARK(bm_create_batch)->Name("batch/create")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(bm_complete_child)->Name("batch/complete_child")->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(bm_complete_lone_job)->Name("batch/complete_lone_job")->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace jobstate::bench

int main(int argc, char** argv) {
  return jobstate::bench::run_benchmarks(argc, argv);
}
