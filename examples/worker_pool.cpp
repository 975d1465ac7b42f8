// worker_pool: worker processes that survive the loss of one of them.
//
// The supervisor creates jobs with a retry policy that reruns a job whose
// lease lapsed, and starts worker processes that claim jobs (waiting for
// work without polling), work on them in steps, renew their lease with a
// heartbeat after each step and complete them fenced by the lease's epoch.
// Once a worker holds a job, the supervisor kills it with SIGKILL and
// starts a replacement. The dead worker's lease lapses, the engine fails
// its job with "lease_expired" and, in the same write, reruns it (after a
// short backoff) as attempt 2, which another worker takes. The supervisor
// follows each job's lineage (original_job_id) to its last attempt and
// prints what happened. It exits 0 when every job's last attempt succeeded.
//
// Usage: jobstate_example_worker_pool [DATABASE_DIR]
//        (default: a new temporary directory, removed at the end)
#include <jobstate/jobstate.hpp>

#include <boost/json.hpp>

#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <vector>

extern char** environ;

namespace {

using namespace std::chrono_literals;
using jobstate::job;
using jobstate::job_status;

constexpr const char* account = "acme";
constexpr const char* project = "render-farm";
constexpr int jobs = 24;
constexpr int workers = 3;
constexpr int steps = 4;
constexpr auto step_time = 25ms;
constexpr auto lease_ttl = 400ms;

// Fails loudly: an example that hides its errors teaches nothing.
template <class T>
T must(jobstate::result<T> r, const char* what) {
  if (!r) {
    std::cerr << what << ": " << r.error().message() << "\n";
    std::exit(1);
  }
  return std::move(*r);
}

jobstate::options options_for(const std::string& path) {
  jobstate::options o;
  o.path = path;
  // The example's durability is the default one: full (fsync per commit).
  return o;
}

// ------------------------------------------------------------ a worker

int run_worker(const std::string& path, const std::string& name) {
  auto engine = must(jobstate::engine::open(options_for(path)), "open");
  jobstate::claim_request claim;
  claim.account_id = account;
  claim.project_id = project;
  claim.kinds = {"render"};
  claim.worker_id = name;
  claim.lease_ttl =
      std::chrono::duration_cast<std::chrono::milliseconds>(lease_ttl);
  claim.wait = 2s;  // Sleeps until a job is claimable, without polling.
  claim.with_history = false;
  for (;;) {
    auto claimed = must(engine->claim(claim), "claim");
    if (!claimed) continue;  // The wait ended: wait again.
    const job& j = *claimed;
    const jobstate::job_ref ref{account, project, j.id};
    jobstate::mutation_options fenced;
    fenced.lease_epoch = j.lease->epoch;
    fenced.with_history = false;
    bool lost = false;
    for (int step = 1; step <= steps && !lost; ++step) {
      std::this_thread::sleep_for(step_time);  // The work.
      jobstate::progress p;
      p.percent = 100.0 * step / steps;
      auto beat = engine->heartbeat(ref, fenced, p);
      lost = !beat || beat->cancelled;  // Lost or cancelled: drop the job.
    }
    if (lost) continue;
    jobstate::completion done;
    done.result = boost::json::object{{"frames", 24}, {"by", name}};
    // lease_lost here would mean someone else owns the outcome now.
    (void)engine->complete(ref, done, fenced);
  }
}

// ------------------------------------------------------ the supervisor

pid_t start_worker(const std::string& self, const std::string& path,
                   const std::string& name) {
  std::vector<std::string> args{self, "--worker", path, name};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv.data(), environ) !=
      0) {
    std::cerr << "cannot start a worker\n";
    std::exit(1);
  }
  return pid;
}

// The running job `worker` holds, if any.
std::optional<job> held_by(const jobstate::engine& e,
                           const std::string& worker) {
  jobstate::list_query q;
  q.account_id = account;
  q.project_id = project;
  q.status = job_status::running;
  q.with_history = false;
  for (const job& j : must(e.list(q), "list").jobs) {
    if (j.lease && j.lease->worker_id == worker) return j;
  }
  return std::nullopt;
}

// The last attempt of job `j` (its first attempt): each retry names the
// attempt before it as its original_job_id.
job last_attempt(jobstate::engine& e, job j) {
  for (;;) {
    const jobstate::job_ref ref{account, project, j.id};
    auto done =
        must(e.wait(ref, jobstate::wait_condition::terminal(), 60s), "wait");
    if (done.timed_out) {
      std::cerr << "job " << j.id.to_string() << " did not finish\n";
      std::exit(1);
    }
    j = done.job;
    if (j.status == job_status::succeeded) return j;
    jobstate::list_query q;
    q.account_id = account;
    q.project_id = project;
    q.original_job_id = j.id;
    auto retries = must(e.list(q), "list").jobs;
    if (retries.empty()) return j;  // Failed for good.
    j = retries.front();
  }
}

int run_supervisor(const std::string& self, const std::string& path) {
  auto engine = must(jobstate::engine::open(options_for(path)), "open");
  std::vector<job> created;
  for (int i = 0; i < jobs; ++i) {
    jobstate::create_request r;
    r.account_id = account;
    r.project_id = project;
    r.kind = "render";
    r.input = boost::json::object{{"scene", i}};
    jobstate::retry_policy retry;
    retry.max_attempts = 3;
    retry.initial_backoff = 50ms;
    retry.retry_on = {"lease_expired"};
    r.retry = retry;
    created.push_back(must(engine->create(r), "create").job);
  }
  std::map<std::string, pid_t> pids;
  for (int i = 1; i <= workers; ++i) {
    const std::string name = "worker-" + std::to_string(i);
    pids[name] = start_worker(self, path, name);
  }
  // Kill worker-1 as soon as it holds a job; a replacement takes its place.
  std::optional<job> victim;
  while (!(victim = held_by(*engine, "worker-1"))) {
    std::this_thread::sleep_for(5ms);
  }
  ::kill(pids["worker-1"], SIGKILL);
  ::waitpid(pids["worker-1"], nullptr, 0);
  pids.erase("worker-1");
  pids["worker-4"] = start_worker(self, path, "worker-4");
  std::cout << "killed worker-1 (SIGKILL) while it held job "
            << victim->id.to_string() << "\n";

  int succeeded = 0;
  for (const job& first : created) {
    const job last = last_attempt(*engine, first);
    if (last.status == job_status::succeeded) ++succeeded;
    if (first.id == victim->id) {
      std::cout << "  its lease lapsed; attempt " << last.attempt << " ("
                << last.id.to_string() << ") was "
                << jobstate::to_string(last.status) << " by "
                << last.lease->worker_id << "\n";
    }
  }
  for (auto& [name, pid] : pids) {
    ::kill(pid, SIGTERM);
    ::waitpid(pid, nullptr, 0);
  }
  const auto stats = must(engine->stats(), "stats");
  std::cout << succeeded << " of " << jobs << " jobs succeeded; "
            << stats.jobs_by_status[static_cast<int>(job_status::failed)]
            << " attempt(s) failed on the way\n";
  return succeeded == jobs ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe");
  if (argc == 4 && std::string(argv[1]) == "--worker") {
    return run_worker(argv[2], argv[3]);
  }
  const bool temporary = argc < 2;
  const std::filesystem::path path =
      temporary ? std::filesystem::temp_directory_path() /
                      ("jobstate-worker-pool-" + std::to_string(::getpid()))
                : std::filesystem::path(argv[1]);
  if (!temporary) std::filesystem::remove_all(path);  // A fresh run.
  const int rc = run_supervisor(self, path.string());
  if (temporary) std::filesystem::remove_all(path);
  return rc;
}
