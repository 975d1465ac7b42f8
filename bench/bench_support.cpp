#include "bench_support.hpp"

#include <jobstate/async.hpp>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <malloc.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <numeric>
#include <random>
#include <sstream>
#include <system_error>

extern char** environ;

namespace jobstate::bench {

// ------------------------------------------------------------ directories

std::filesystem::path scratch_root() {
  if (const char* env = std::getenv("JOBSTATE_TEST_TMP"); env && *env) {
    std::filesystem::path root(env);
    std::filesystem::create_directories(root);
    return root;
  }
  return std::filesystem::temp_directory_path();
}

scratch_dir::scratch_dir(std::string_view prefix) {
  static std::atomic<unsigned> counter{0};
  std::random_device rd;
  const auto root = scratch_root();
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto candidate =
        root / (std::string(prefix) + "-" + std::to_string(::getpid()) + "-" +
                std::to_string(counter.fetch_add(1)) + "-" +
                std::to_string(rd() % 100000));
    if (std::filesystem::create_directory(candidate)) {
      path_ = std::move(candidate);
      return;
    }
  }
  fail("cannot create a scratch directory under " + root.string());
}

scratch_dir::~scratch_dir() {
  if (path_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

scratch_dir::scratch_dir(scratch_dir&& other) noexcept
    : path_(std::exchange(other.path_, {})) {}

std::uint64_t scratch_dir::apparent_bytes() const {
  std::uint64_t total = 0;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(path_)) {
    if (entry.is_regular_file()) total += entry.file_size();
  }
  return total;
}

std::uint64_t scratch_dir::allocated_bytes() const {
  std::uint64_t total = 0;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(path_)) {
    struct stat st {};
    if (entry.is_regular_file() && ::stat(entry.path().c_str(), &st) == 0) {
      total += static_cast<std::uint64_t>(st.st_blocks) * 512;
    }
  }
  return total;
}

// ------------------------------------------------------------ environment

namespace {

std::uint64_t parse_size(std::string_view text, const char* name) {
  std::uint64_t value = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    value = value * 10 + static_cast<std::uint64_t>(text[i] - '0');
  }
  const std::string_view rest = text.substr(i);
  if (i == 0) fail(std::string(name) + ": not a number: " + std::string(text));
  if (rest.empty()) return value;
  if (rest == "k" || rest == "K") return value * 1000;
  if (rest == "m" || rest == "M") return value * 1000000;
  fail(std::string(name) + ": bad suffix in " + std::string(text));
}

}  // namespace

std::uint64_t env_size(const char* name, std::uint64_t fallback) {
  const char* env = std::getenv(name);
  if (env == nullptr || *env == '\0') return fallback;
  return parse_size(env, name);
}

std::vector<std::uint64_t> env_sizes(
    const char* name, const std::vector<std::uint64_t>& fallback) {
  const char* env = std::getenv(name);
  if (env == nullptr || *env == '\0') return fallback;
  std::vector<std::uint64_t> sizes;
  std::string_view text(env);
  while (!text.empty()) {
    const auto comma = text.find(',');
    sizes.push_back(parse_size(text.substr(0, comma), name));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return sizes;
}

// ------------------------------------------------------------ workload

namespace {

std::string padded_number(std::uint64_t n, std::size_t width) {
  std::string s = std::to_string(n);
  if (s.size() < width) s.insert(0, width - s.size(), '0');
  return s;
}

}  // namespace

boost::json::value make_input(std::uint64_t n) {
  const std::string doc = "doc-" + padded_number(n, 10);
  // 196 bytes serialized (make_result: 201).
  return boost::json::object{
      {"document_id", doc},
      {"source_url", "s3://acme-ingest/2024/11/24/" + doc + ".pdf"},
      {"pages", boost::json::array{1, 2, 3, 4, 5, 6, 7, 8}},
      {"options", boost::json::object{{"ocr", true},
                                      {"language", "en"},
                                      {"dpi", 300},
                                      {"tables", true},
                                      {"priority", n % 5}}},
  };
}

boost::json::value make_result(std::uint64_t n) {
  const std::string doc = "doc-" + padded_number(n, 10);
  return boost::json::object{
      {"pages", 8},
      {"words", 1000 + n % 9000},
      {"tables", 2},
      {"language", "en"},
      {"confidence", 0.975},
      {"output_url", "s3://acme-results/2024/11/24/" + doc + ".json"},
      {"checksum", "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b82"},
  };
}

boost::json::value start_details() {
  return boost::json::object{{"worker", "worker-07"}, {"host", "node-3"}};
}

boost::json::value finish_details() {
  return boost::json::object{{"worker", "worker-07"}, {"attempts", 1}};
}

create_request make_create(std::uint64_t n) {
  create_request r;
  r.account_id = std::string(account);
  r.project_id = std::string(project);
  r.kind = std::string(kind);
  r.input = make_input(n);
  return r;
}

mutation_options make_start_options() {
  mutation_options o;
  o.details = start_details();
  return o;
}

progress make_progress() {
  progress p;
  p.percent = 50;
  return p;
}

completion make_completion(std::uint64_t n) {
  completion c;
  c.status = job_status::succeeded;
  c.result = make_result(n);
  return c;
}

job_ref ref_to(const job_id& id) {
  return job_ref{std::string(account), std::string(project), id};
}

options engine_options(const std::filesystem::path& path, durability d) {
  options o;
  o.path = path.string();
  o.durability = d;
  return o;
}

std::unique_ptr<engine> open_engine(const options& opts) {
  auto e = engine::open(opts);
  if (!e) fail("engine::open", e.error());
  return std::move(*e);
}

void run_lifecycle(engine& e, std::uint64_t n,
                   std::vector<std::uint32_t>* latencies) {
  auto record = [latencies](clock::time_point from) {
    if (latencies) {
      latencies->push_back(
          static_cast<std::uint32_t>(nanos(from, clock::now())));
    }
  };
  auto t = clock::now();
  auto created = e.create(make_create(n));
  if (!created) fail("create", created.error());
  record(t);
  const job_ref ref = ref_to(created->job.id);

  t = clock::now();
  if (auto r = e.start(ref, make_start_options()); !r) fail("start", r.error());
  record(t);

  t = clock::now();
  if (auto r = e.report_progress(ref, make_progress()); !r) {
    fail("report_progress", r.error());
  }
  record(t);

  mutation_options done;
  done.details = finish_details();
  t = clock::now();
  if (auto r = e.complete(ref, make_completion(n), done); !r) {
    fail("complete", r.error());
  }
  record(t);
}

// ------------------------------------------------------------ pipeline

lifecycle_pipeline::lifecycle_pipeline(engine& e, boost::asio::io_context& io,
                                       std::size_t in_flight)
    : engine_(e), io_(io), in_flight_(in_flight) {}

void lifecycle_pipeline::start() {
  for (std::size_t i = 0; i < in_flight_; ++i) begin();
}

void lifecycle_pipeline::record(clock::time_point from) {
  latencies_.push_back(static_cast<std::uint32_t>(nanos(from, clock::now())));
}

void lifecycle_pipeline::begin() {
  if (stopping_) return;
  ++active_;
  const std::uint64_t n = next_++;
  const auto t = clock::now();
  async_create(engine_, make_create(n),
               boost::asio::bind_executor(
                   io_, [this, n, t](boost::system::error_code ec,
                                     created_job c) {
                     if (ec) fail("async_create: " + ec.message());
                     record(t);
                     on_created(n, ref_to(c.job.id));
                   }));
}

void lifecycle_pipeline::on_created(std::uint64_t n, job_ref ref) {
  const auto t = clock::now();
  async_start(engine_, ref, make_start_options(),
              boost::asio::bind_executor(
                  io_, [this, n, ref, t](boost::system::error_code ec,
                                         job) mutable {
                    if (ec) fail("async_start: " + ec.message());
                    record(t);
                    on_started(n, std::move(ref));
                  }));
}

void lifecycle_pipeline::on_started(std::uint64_t n, job_ref ref) {
  const auto t = clock::now();
  async_report_progress(
      engine_, ref, make_progress(), mutation_options{},
      boost::asio::bind_executor(
          io_, [this, n, ref, t](boost::system::error_code ec, job) mutable {
            if (ec) fail("async_report_progress: " + ec.message());
            record(t);
            on_progressed(n, std::move(ref));
          }));
}

void lifecycle_pipeline::on_progressed(std::uint64_t n, job_ref ref) {
  mutation_options done;
  done.details = finish_details();
  const auto t = clock::now();
  async_complete(
      engine_, std::move(ref), make_completion(n), std::move(done),
      boost::asio::bind_executor(
          io_, [this, t](boost::system::error_code ec, job) {
            if (ec) fail("async_complete: " + ec.message());
            record(t);
            ++completed_;
            --active_;
            begin();
          }));
}

namespace {

// The state of load_jobs: single-threaded, on one io_context.
class loader {
 public:
  loader(engine& e, std::uint64_t count, unsigned completed_per_4)
      : engine_(e), count_(count), completed_per_4_(completed_per_4) {
    ids_.resize(count);
  }

  std::vector<job_id> run(std::size_t in_flight) {
    if (count_ == 0) return {};
    chains_ = in_flight;
    for (std::size_t i = 0; i < in_flight; ++i) begin();
    io_.run();
    return std::move(ids_);
  }

 private:
  template <class F>
  auto on_io(F f) {
    return boost::asio::bind_executor(io_, std::move(f));
  }
  static void check(boost::system::error_code ec, const char* what) {
    if (ec) fail(std::string("load_jobs: ") + what + ": " + ec.message());
  }

  void begin() {
    if (next_ == count_) {
      if (++finished_chains_ == chains_) work_.reset();
      return;
    }
    const std::uint64_t n = next_++;
    async_create(engine_, make_create(n),
                 on_io([this, n](boost::system::error_code ec, created_job c) {
                   check(ec, "async_create");
                   ids_[n] = c.job.id;
                   if (n % 4 < completed_per_4_) {
                     start(n);
                   } else {
                     begin();
                   }
                 }));
  }
  void start(std::uint64_t n) {
    async_start(engine_, ref_to(ids_[n]), make_start_options(),
                on_io([this, n](boost::system::error_code ec, job) {
                  check(ec, "async_start");
                  report(n);
                }));
  }
  void report(std::uint64_t n) {
    async_report_progress(engine_, ref_to(ids_[n]), make_progress(),
                          mutation_options{},
                          on_io([this, n](boost::system::error_code ec, job) {
                            check(ec, "async_report_progress");
                            complete(n);
                          }));
  }
  void complete(std::uint64_t n) {
    mutation_options done;
    done.details = finish_details();
    async_complete(engine_, ref_to(ids_[n]), make_completion(n),
                   std::move(done),
                   on_io([this](boost::system::error_code ec, job) {
                     check(ec, "async_complete");
                     begin();
                   }));
  }

  engine& engine_;
  const std::uint64_t count_;
  const unsigned completed_per_4_;
  boost::asio::io_context io_;
  // Ops pending in the engine are not work of io_ until they complete.
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
      work_{io_.get_executor()};
  std::size_t chains_ = 0;
  std::size_t finished_chains_ = 0;
  std::uint64_t next_ = 0;
  std::vector<job_id> ids_;
};

}  // namespace

std::vector<job_id> load_jobs(engine& e, std::uint64_t count,
                              unsigned completed_per_4,
                              std::size_t in_flight) {
  return loader(e, count, completed_per_4).run(in_flight);
}

void fail(std::string_view what, const jobstate::error& e) {
  std::cerr << "benchmark failed: " << what << ": " << e.message() << "\n";
  std::abort();
}

void fail(std::string_view what) {
  std::cerr << "benchmark failed: " << what << "\n";
  std::abort();
}

// ------------------------------------------------------------ statistics

namespace {

template <class T>
double nearest_rank(std::vector<T>& v, double q) {
  if (v.empty()) return 0;
  auto rank = static_cast<std::size_t>(q * static_cast<double>(v.size()));
  rank = std::min(rank, v.size() - 1);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(rank),
                   v.end());
  return static_cast<double>(v[rank]);
}

}  // namespace

double quantile(std::vector<std::uint32_t>& v, double q) {
  return nearest_rank(v, q);
}

double quantile(std::vector<std::int64_t>& v, double q) {
  return nearest_rank(v, q);
}

double mean(const std::vector<std::uint32_t>& v) {
  if (v.empty()) return 0;
  const double sum = std::accumulate(v.begin(), v.end(), 0.0);
  return sum / static_cast<double>(v.size());
}

void set_latency_counters(benchmark::State& state,
                          std::vector<std::uint32_t>& latencies_ns,
                          std::string_view prefix) {
  const std::string p(prefix);
  state.counters[p + "mean_us"] = mean(latencies_ns) / 1e3;
  state.counters[p + "p50_us"] = quantile(latencies_ns, 0.50) / 1e3;
  state.counters[p + "p99_us"] = quantile(latencies_ns, 0.99) / 1e3;
}

// ------------------------------------------------------------ memory

std::uint64_t heap_in_use() {
  const struct mallinfo2 m = ::mallinfo2();
  return m.uordblks + m.hblkhd;
}

std::uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0;
  std::uint64_t resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

std::int64_t process_cpu_nanos() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return std::int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

std::int64_t thread_cpu_nanos() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// ------------------------------------------------------------ main

namespace {

std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        auto model = line.substr(colon + 1);
        model.erase(0, model.find_first_not_of(' '));
        return model;
      }
    }
  }
  return "unknown";
}

std::string file_system_of(const std::filesystem::path& path) {
  // The mount whose mount point is the longest prefix of `path`.
  std::ifstream mounts("/proc/self/mounts");
  std::string device, mount_point, type, rest;
  std::string best_device = "unknown", best_type, best_point;
  const std::string p = std::filesystem::weakly_canonical(path).string();
  while (mounts >> device >> mount_point >> type) {
    std::getline(mounts, rest);
    const bool prefix =
        p.rfind(mount_point, 0) == 0 &&
        (p.size() == mount_point.size() || mount_point == "/" ||
         p[mount_point.size()] == '/');
    if (prefix && mount_point.size() >= best_point.size()) {
      best_point = mount_point;
      best_device = device;
      best_type = type;
    }
  }
  return best_device + " (" + best_type + ") mounted on " + best_point;
}

std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string one, five, fifteen;
  f >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

}  // namespace

int run_benchmarks(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const auto root = scratch_root();
  benchmark::AddCustomContext("jobstate_cpu_model", cpu_model());
  benchmark::AddCustomContext("jobstate_nproc",
                              std::to_string(::sysconf(_SC_NPROCESSORS_ONLN)));
  benchmark::AddCustomContext("jobstate_scratch_dir", root.string());
  benchmark::AddCustomContext("jobstate_scratch_fs", file_system_of(root));
  benchmark::AddCustomContext("jobstate_load_average_at_start",
                              load_average());
  for (char** env = environ; *env != nullptr; ++env) {
    const std::string_view kv(*env);
    if (kv.rfind("JOBSTATE_BENCH_", 0) == 0) {
      const auto eq = kv.find('=');
      benchmark::AddCustomContext(std::string(kv.substr(0, eq)),
                                  std::string(kv.substr(eq + 1)));
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::cerr << "load average at the end: " << load_average() << "\n";
  return 0;
}

}  // namespace jobstate::bench
