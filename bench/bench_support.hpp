// What the benchmarks share: scratch directories, sizes from the
// environment, the lifecycle's payloads, latency percentiles, memory and disk
// probes, and a main() that records the machine in the JSON context.
//
// Sizes default to small values so that the ctest smoke runs finish in
// seconds; scripts/bench sets the real ones through environment variables
// (see docs/performance.md).
#ifndef JOBSTATE_BENCH_BENCH_SUPPORT_HPP
#define JOBSTATE_BENCH_BENCH_SUPPORT_HPP

#include <jobstate/jobstate.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/io_context.hpp>
#include <boost/json/value.hpp>

#include <barrier>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace jobstate::bench {

using clock = std::chrono::steady_clock;

/// Nanoseconds from `from` to `to` (negative when `to` is earlier).
inline std::int64_t nanos(clock::time_point from, clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(to - from)
      .count();
}

/// A fresh directory under $JOBSTATE_TEST_TMP (set by ctest) or the system's
/// temporary directory, removed with its contents on destruction. Not
/// thread-safe; move-only.
class scratch_dir {
 public:
  explicit scratch_dir(std::string_view prefix);
  ~scratch_dir();
  scratch_dir(scratch_dir&& other) noexcept;
  scratch_dir& operator=(scratch_dir&&) = delete;
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }
  /// Bytes of the regular files below path() (their apparent sizes).
  std::uint64_t apparent_bytes() const;
  /// Bytes of disk blocks allocated to the files below path().
  std::uint64_t allocated_bytes() const;

 private:
  std::filesystem::path path_;
};

/// The root scratch directories are made under.
std::filesystem::path scratch_root();

/// The unsigned integer in environment variable `name`, or `fallback` when
/// it is unset or empty. Accepts a k/M suffix (1M = 1000000).
std::uint64_t env_size(const char* name, std::uint64_t fallback);

/// A comma-separated list of sizes from `name` (e.g. "10000,10M").
std::vector<std::uint64_t> env_sizes(const char* name,
                                     const std::vector<std::uint64_t>& fallback);

// ------------------------------------------------------------ the workload

/// The tenancy every benchmark job lives in.
inline constexpr std::string_view account = "acme";
inline constexpr std::string_view project = "bench";
inline constexpr std::string_view kind = "document.parse";

/// A job's input: a JSON object whose serialized form is about 200 bytes,
/// varied by `n` so that records differ.
boost::json::value make_input(std::uint64_t n);
/// A succeeded job's result: about 200 bytes of JSON.
boost::json::value make_result(std::uint64_t n);
/// Details recorded on the "started" and on the completion history events.
boost::json::value start_details();
boost::json::value finish_details();

/// The four requests of one lifecycle, ready to send.
create_request make_create(std::uint64_t n);
mutation_options make_start_options();
progress make_progress();
completion make_completion(std::uint64_t n);

/// The job_ref of a job in the benchmark tenancy.
job_ref ref_to(const job_id& id);

/// Engine options for the benchmarks: `path`, `d`, and the rest default.
options engine_options(const std::filesystem::path& path, durability d);

/// Opens an engine or aborts the process with the error.
std::unique_ptr<engine> open_engine(const options& opts);

/// Runs one lifecycle with the blocking API (create, start, one progress
/// update, succeed), appending each write's latency in nanoseconds to
/// `latencies` when it is not null. Aborts the process on any error.
void run_lifecycle(engine& e, std::uint64_t n,
                   std::vector<std::uint32_t>* latencies);

/// Fills `e` with `count` jobs through the asynchronous API, keeping
/// `in_flight` jobs going. Every job is created; `completed_per_4` jobs out
/// of every 4 (0 to 4) are then started, updated once with progress and
/// completed as succeeded, the others stay pending. Returns the ids in
/// creation order. Aborts the process on any error.
std::vector<job_id> load_jobs(engine& e, std::uint64_t count,
                              unsigned completed_per_4,
                              std::size_t in_flight = 512);

/// Keeps `in_flight` lifecycles going through the asynchronous API, with
/// completion handlers on `io`: when a job's write completes, its handler
/// issues the job's next write, and a finished job makes room for a new one.
/// Not thread-safe: call it, and run `io`, from one thread. Each write's
/// latency (initiation to handler) is recorded. Aborts on any error.
class lifecycle_pipeline {
 public:
  lifecycle_pipeline(engine& e, boost::asio::io_context& io,
                     std::size_t in_flight);

  /// Starts `in_flight` lifecycles; the handlers, run by `io`, keep going.
  void start();
  /// Starts no new lifecycle; those under way finish.
  void stop() { stopping_ = true; }

  std::uint64_t completed() const { return completed_; }
  std::size_t active() const { return active_; }
  /// Latencies of the writes completed so far, in nanoseconds.
  std::vector<std::uint32_t>& latencies() { return latencies_; }

 private:
  void record(clock::time_point from);
  void begin();
  void on_created(std::uint64_t n, job_ref ref);
  void on_started(std::uint64_t n, job_ref ref);
  void on_progressed(std::uint64_t n, job_ref ref);

  engine& engine_;
  boost::asio::io_context& io_;
  const std::size_t in_flight_;
  bool stopping_ = false;
  std::uint64_t next_ = 0;
  std::uint64_t completed_ = 0;
  std::size_t active_ = 0;
  std::vector<std::uint32_t> latencies_;
};

/// Aborts the process with `what` and the error: a benchmark that fails
/// must not report numbers.
[[noreturn]] void fail(std::string_view what, const jobstate::error& e);
[[noreturn]] void fail(std::string_view what);

// ------------------------------------------------------------ statistics

/// The q-quantile (0..1) of `v` (nearest rank), in the units of `v`;
/// reorders `v`. 0 for an empty vector.
double quantile(std::vector<std::uint32_t>& v, double q);
double quantile(std::vector<std::int64_t>& v, double q);
double mean(const std::vector<std::uint32_t>& v);

/// Sets counters p50_us, p99_us and mean_us (and, with `prefix`,
/// <prefix>p50_us, ...) from latencies in nanoseconds.
void set_latency_counters(benchmark::State& state,
                          std::vector<std::uint32_t>& latencies_ns,
                          std::string_view prefix = {});

// ------------------------------------------------------------ producers

/// Runs a benchmark whose threads (Google Benchmark's ->Threads(n)) are
/// producers sharing one `Fixture`, made by thread 0 with `make()` before
/// the timed loop and destroyed by it once every thread is done. Each
/// iteration of each thread calls `body(fixture, thread_index, latencies)`:
/// one job's lifecycle, appending each write's latency in nanoseconds.
///
/// Counters: jobs_per_s and writes_per_s (all threads together, per second
/// of wall time), producers, and the latency percentiles over every write of
/// every thread (set by thread 0 alone, so that Google Benchmark's sum over
/// threads is that one value).
template <class Fixture, class Make, class Body>
void run_producers(benchmark::State& state, Make make, Body body,
                   int writes_per_job = 4) {
  // One set per Fixture type; reset by thread 0 of the next run, whose
  // threads start only after every thread of this one has returned.
  static std::unique_ptr<Fixture> fixture;
  static std::unique_ptr<std::barrier<>> all_done;
  static std::mutex merge_mutex;
  static std::vector<std::uint32_t> merged;
  if (state.thread_index() == 0) {
    fixture = make();
    all_done = std::make_unique<std::barrier<>>(state.threads());
    merged.clear();
  }
  std::vector<std::uint32_t> latencies;
  latencies.reserve(4096);
  std::uint64_t jobs = 0;
  for (auto _ : state) {
    body(*fixture, state.thread_index(), latencies);
    ++jobs;
  }
  {
    std::lock_guard lock(merge_mutex);
    merged.insert(merged.end(), latencies.begin(), latencies.end());
  }
  all_done->arrive_and_wait();
  using benchmark::Counter;
  state.counters["jobs_per_s"] =
      Counter(static_cast<double>(jobs), Counter::kIsRate);
  state.counters["writes_per_s"] = Counter(
      static_cast<double>(jobs * static_cast<std::uint64_t>(writes_per_job)),
      Counter::kIsRate);
  if (state.thread_index() == 0) {
    state.counters["producers"] = state.threads();
    set_latency_counters(state, merged);
    fixture.reset();
  }
}

// ------------------------------------------------------------ memory

/// Bytes the C heap has handed out and not taken back (mallinfo2).
std::uint64_t heap_in_use();
/// Resident set size of this process, in bytes (/proc/self/statm).
std::uint64_t resident_bytes();
/// CPU time of the whole process (all threads), in nanoseconds.
std::int64_t process_cpu_nanos();
/// CPU time of the calling thread, in nanoseconds.
std::int64_t thread_cpu_nanos();

// ------------------------------------------------------------ main

/// Runs the registered benchmarks, adding to the report's context what the
/// results depend on: CPU model, the scratch directory and its file system,
/// the load average at the start (and on stderr at the end), and every JOBSTATE_BENCH_* variable.
int run_benchmarks(int argc, char** argv);

}  // namespace jobstate::bench

#endif  // JOBSTATE_BENCH_BENCH_SUPPORT_HPP
