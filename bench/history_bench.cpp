// What a job's history costs its next write: one progress report on a
// running job, timed alone (manual time), at durability no_sync (the CPU)
// and full (the CPU and the pages each commit writes and syncs), answered
// without the history (mutation_options::with_history = false: the write
// alone) or whole (the default: the write, then the history read back):
//  - history/progress/<durability>/<answer>/events:2: on a job just created
//    and started (two history events), a new one for every report;
//  - history/progress/<durability>/<answer>/events:N: on jobs that already
//    have N events (N = 1,000 by default, JOBSTATE_BENCH_HISTORY), reports
//    spread over a pool so that each job grows by at most a tenth during
//    the run.
// The target is events:1000 at no more than 1.2x events:2, for the
// write (without_history).
#include "bench_support.hpp"

#include <string>
#include <utility>

namespace jobstate::bench {
namespace {

constexpr std::size_t pool_size = 20;

job_id start_new_job(engine& e, std::uint64_t n) {
  auto created = e.create(make_create(n));
  if (!created) fail("create", created.error());
  const job_ref ref = ref_to(created->job.id);
  if (auto s = e.start(ref, make_start_options()); !s) fail("start", s.error());
  return created->job.id;
}

void report(benchmark::State& state, engine& e, const job_id& id,
            const mutation_options& answer) {
  const auto began = clock::now();
  auto p = e.report_progress(ref_to(id), make_progress(), answer);
  const auto ended = clock::now();
  if (!p) fail("report_progress", p.error());
  state.SetIterationTime(std::chrono::duration<double>(ended - began).count());
}

void bm_progress_on_new_job(benchmark::State& state, durability d,
                            const mutation_options& answer) {
  scratch_dir dir("history-new");
  auto eng = open_engine(engine_options(dir.path(), d));
  std::uint64_t n = 0;
  for (auto _ : state) report(state, *eng, start_new_job(*eng, n++), answer);
  state.counters["events_before"] = 2;
}

void bm_progress_on_long_history(benchmark::State& state, durability d,
                                 const mutation_options& answer) {
  const auto events = static_cast<std::uint64_t>(state.range(0));
  scratch_dir dir("history-long");
  // The pool is built without syncing; the timed writes use `d`.
  std::vector<job_id> pool;
  {
    auto filler = open_engine(engine_options(dir.path(), durability::no_sync));
    for (std::size_t i = 0; i < pool_size; ++i) {
      pool.push_back(start_new_job(*filler, i));
      for (std::uint64_t k = 2; k < events; ++k) {
        if (auto p =
                filler->report_progress(ref_to(pool.back()), make_progress());
            !p) {
          fail("report_progress", p.error());
        }
      }
    }
  }
  auto eng = open_engine(engine_options(dir.path(), d));
  std::size_t next = 0;
  for (auto _ : state) {
    report(state, *eng, pool[next], answer);
    next = (next + 1) % pool.size();
  }
  state.counters["events_before"] = static_cast<double>(events);
}

void register_history_benchmarks() {
  const auto events =
      static_cast<std::int64_t>(env_size("JOBSTATE_BENCH_HISTORY", 1000));
  mutation_options without_history;
  without_history.with_history = false;
  for (const auto& [name, d] : {std::pair{"no_sync", durability::no_sync},
                                std::pair{"full", durability::full}}) {
    for (const auto& [answer_name, answer] :
         {std::pair{"without_history", without_history},
          std::pair{"whole", mutation_options{}}}) {
      const std::string prefix =
          std::string("history/progress/") + name + "/" + answer_name;
      benchmark::RegisterBenchmark(
          (prefix + "/events:2").c_str(),
          [d = d, answer = answer](benchmark::State& s) {
            bm_progress_on_new_job(s, d, answer);
          })
          ->UseManualTime()
          ->Iterations(2000)
          ->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark(
          prefix.c_str(),
          [d = d, answer = answer](benchmark::State& s) {
            bm_progress_on_long_history(s, d, answer);
          })
          ->ArgName("events")
          ->Arg(events)
          ->UseManualTime()
          ->Iterations(static_cast<benchmark::IterationCount>(pool_size) *
                       std::max<std::int64_t>(events / 10, 1))
          ->Unit(benchmark::kMicrosecond);
    }
  }
}

}  // namespace
}  // namespace jobstate::bench

int main(int argc, char** argv) {
  jobstate::bench::register_history_benchmarks();
  return jobstate::bench::run_benchmarks(argc, argv);
}
