// jobstate_worker_kill_test: workers that die, with real processes.
//
// The parent creates JOBSTATE_WORKER_JOBS jobs (default 2,000) and starts 4
// worker processes (itself again, `--worker <db> <n>`). Each worker loops:
// claim a job (a lease of 300 ms, waiting up to 200 ms for work), work on it
// in a few steps (4 to 14 ms each; one step in a hundred stalls past the
// lease) with a heartbeat (and progress) after each, complete it with its
// lease epoch. It reports over a pipe, one line per event, each in
// one write(2):
//
//   C <id> <epoch>   claimed
//   D <id>           completed: acknowledged durable
//   F <id>           a write was fenced off (lease_lost): the lease was lost
//
// Every JOBSTATE_WORKER_KILL_MS (default 1,000) the parent SIGKILLs one
// worker at random and starts another. The jobs a killed worker held stay
// running until their lease lapses; then an engine (the parent's or a
// worker's: whichever expiry commits first) fails them with lease_expired,
// and the parent reruns each such job (retry is a rerun: a new job that
// records original_job_id). When every job's lineage has succeeded, the
// workers are stopped and the parent checks:
//   1. each lineage has exactly one succeeded job; every other attempt
//      failed with lease_expired;
//   2. each job has exactly one terminal history event;
//   3. each succeeded job was completed under its lease, before the lease
//      lapsed (its terminal event carries the lease's epoch, and completed_at
//      is before lease.expires_at): no worker whose lease had lapsed ever
//      completed a job;
//   4. every completion a worker acknowledged (D) is in the database;
//   5. the integrity check is clean.
// It prints the figures (kills, claims, reruns, fenced writes).
#include <jobstate/check.hpp>
#include <jobstate/jobstate.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <vector>

extern char** environ;

namespace {

using namespace jobstate;
using namespace std::chrono_literals;

constexpr std::string_view account = "workers";
constexpr std::string_view project = "kill-test";
constexpr auto lease_ttl = 300ms;

options db_options(const std::string& path) {
  options o;
  o.path = path;
  // A SIGKILL of a process loses nothing the page cache holds: no fsync
  // is needed to survive it (the crash test covers default durability).
  o.durability = durability::no_sync;
  return o;
}

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::strtoull(v, nullptr, 10);
}

// ----------------------------------------------------------------- worker

void say(const std::string& line) {
  const std::string text = line + "\n";
  if (::write(STDOUT_FILENO, text.data(), text.size()) !=
      static_cast<ssize_t>(text.size())) {
    std::_Exit(3);
  }
}

int worker_main(const std::string& path, int n) {
  auto opened = engine::open(db_options(path));
  if (!opened) {
    std::cerr << "worker " << n << ": " << opened.error().message() << "\n";
    return 1;
  }
  engine& e = **opened;
  std::mt19937 rng(static_cast<unsigned>(::getpid()));
  const std::filesystem::path stop = std::filesystem::path(path) / "stop";
  claim_request r;
  r.account_id = account;
  r.project_id = project;
  r.kinds = {"work"};
  r.worker_id =
      "worker-" + std::to_string(n) + "-" + std::to_string(::getpid());
  r.lease_ttl = lease_ttl;
  r.wait = 200ms;
  r.with_history = false;
  while (!std::filesystem::exists(stop)) {
    auto claimed = e.claim(r);
    if (!claimed) {
      std::cerr << "claim: " << claimed.error().message() << "\n";
      return 1;
    }
    if (!*claimed) continue;
    const job& j = **claimed;
    const job_ref ref{j.account_id, j.project_id, j.id};
    mutation_options fence;
    fence.lease_epoch = j.lease->epoch;
    fence.with_history = false;
    say("C " + j.id.to_string() + " " + std::to_string(j.lease->epoch));
    bool lost = false;
    const int steps = std::uniform_int_distribution<int>(1, 3)(rng);
    for (int s = 1; s <= steps && !lost; ++s) {
      // Now and then a worker stalls past its lease (a long pause, a slow
      // disk): the lease lapses under it, and its next write is fenced off.
      const bool stall = std::uniform_int_distribution<int>(0, 99)(rng) == 0;
      std::this_thread::sleep_for(
          stall ? lease_ttl + 200ms
                : std::chrono::microseconds(
                      std::uniform_int_distribution<int>(4000, 14000)(rng)));
      progress p;
      p.percent = 100.0 * s / (steps + 1);
      auto beat = e.heartbeat(ref, fence, p);
      if (!beat) {
        if (beat.code() != errc::lease_lost) {
          std::cerr << "heartbeat: " << beat.error().message() << "\n";
          return 1;
        }
        lost = true;
      } else if (beat->cancelled) {
        lost = true;
      }
    }
    if (!lost) {
      completion c;
      c.result = boost::json::object{{"by", r.worker_id}};
      auto done = e.complete(ref, c, fence);
      if (done) {
        say("D " + j.id.to_string());
        continue;
      }
      if (done.code() != errc::lease_lost) {
        std::cerr << "complete: " << done.error().message() << "\n";
        return 1;
      }
    }
    say("F " + j.id.to_string());
  }
  return 0;
}

// ----------------------------------------------------------------- parent

class worker_process {
 public:
  worker_process(const std::string& self, const std::string& path, int n) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
    std::vector<std::string> args = {self, "--worker", path, std::to_string(n)};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    const int rc =
        ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    ::posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) throw std::runtime_error("posix_spawn");
    out_ = fds[0];
    ::fcntl(out_, F_SETFL, O_NONBLOCK);
  }
  ~worker_process() {
    if (pid_ > 0) kill();
    if (out_ >= 0) ::close(out_);
  }
  worker_process(const worker_process&) = delete;
  worker_process& operator=(const worker_process&) = delete;

  // Appends whole lines read so far to `lines`.
  void drain(std::vector<std::string>& lines) {
    char buf[4096];
    for (;;) {
      const ssize_t got = ::read(out_, buf, sizeof buf);
      if (got <= 0) break;
      partial_.append(buf, static_cast<std::size_t>(got));
    }
    std::size_t nl;
    while ((nl = partial_.find('\n')) != std::string::npos) {
      lines.push_back(partial_.substr(0, nl));
      partial_.erase(0, nl + 1);
    }
  }
  void kill() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  // Waits for a clean exit; false (and a kill) past `limit`.
  bool join(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0;
      }
      std::this_thread::sleep_for(10ms);
    }
    kill();
    return false;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string partial_;
};

struct figures {
  std::uint64_t kills = 0;
  std::uint64_t claims = 0;
  std::uint64_t acknowledged = 0;
  std::uint64_t fenced = 0;
  std::uint64_t reruns = 0;
};

job_ref ref_of(const job_id& id) {
  return job_ref{std::string(account), std::string(project), id};
}

// Every job of the project, with its history.
std::vector<job> all_jobs(engine& e) {
  std::vector<job> out;
  list_query q;
  q.account_id = account;
  q.project_id = project;
  q.limit = 1000;
  for (;;) {
    auto page = e.list(q);
    if (!page) throw std::runtime_error(page.error().message());
    for (auto& j : page->jobs) out.push_back(std::move(j));
    if (page->next_cursor.empty()) return out;
    q.cursor = page->next_cursor;
  }
}

std::optional<std::string> verify(engine& e, const std::set<job_id>& roots,
                                  const std::set<job_id>& acknowledged) {
  const auto jobs = all_jobs(e);
  std::map<job_id, const job*> by_id;
  for (const job& j : jobs) by_id.emplace(j.id, &j);
  std::map<job_id, int> succeeded_per_root;
  for (const job& j : jobs) {
    job_id root = j.id;
    for (const job* at = &j; at->original_job_id;) {
      root = *at->original_job_id;
      at = by_id.at(root);
    }
    if (!roots.contains(root))
      return "job " + j.id.to_string() + " is no one's";
    int terminal = 0;
    for (const auto& ev : j.history) {
      if (is_terminal(ev.status)) ++terminal;
    }
    if (terminal != 1) {
      return "job " + j.id.to_string() + " has " + std::to_string(terminal) +
             " terminal events";
    }
    if (j.status == job_status::succeeded) {
      ++succeeded_per_root[root];
      if (!j.lease || j.history.back().epoch != j.lease->epoch ||
          *j.completed_at >= j.lease->expires_at) {
        return "job " + j.id.to_string() +
               " was completed without holding its lease";
      }
    } else if (j.status != job_status::failed || !j.error ||
               j.error->code != "lease_expired") {
      return "job " + j.id.to_string() + " ended " +
             std::string(to_string(j.status)) +
             (j.error ? " (" + j.error->code + ")" : std::string());
    }
  }
  for (const job_id& root : roots) {
    if (succeeded_per_root[root] != 1) {
      return "job " + root.to_string() + " succeeded " +
             std::to_string(succeeded_per_root[root]) +
             " times over its reruns";
    }
  }
  for (const job_id& id : acknowledged) {
    const auto it = by_id.find(id);
    if (it == by_id.end() || it->second->status != job_status::succeeded) {
      return "the acknowledged completion of job " + id.to_string() +
             " is lost";
    }
  }
  return std::nullopt;
}

int parent_main(const std::string& self) {
  const std::uint64_t jobs = env_number("JOBSTATE_WORKER_JOBS", 2000);
  const auto kill_every =
      std::chrono::milliseconds(env_number("JOBSTATE_WORKER_KILL_MS", 1000));
  const std::uint64_t seed = env_number(
      "JOBSTATE_WORKER_SEED",
      static_cast<std::uint64_t>(
          std::chrono::steady_clock::now().time_since_epoch().count()));
  std::cout << "worker kill test: " << jobs << " jobs, 4 workers, a SIGKILL "
            << "every " << kill_every.count() << " ms, seed " << seed
            << std::endl;
  const char* tmp = std::getenv("JOBSTATE_TEST_TMP");
  const std::filesystem::path root =
      std::filesystem::path(tmp != nullptr && *tmp != '\0'
                                ? tmp
                                : std::filesystem::temp_directory_path()) /
      ("worker-kill-" + std::to_string(::getpid()));
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  const std::string path = root.string();
  auto opened = engine::open(db_options(path));
  if (!opened) {
    std::cerr << opened.error().message() << "\n";
    return 1;
  }
  engine& e = **opened;
  std::set<job_id> roots;
  for (std::uint64_t i = 0; i < jobs; ++i) {
    create_request r;
    r.account_id = account;
    r.project_id = project;
    r.kind = "work";
    r.input = boost::json::object{{"n", i}};
    auto created = e.create(r);
    if (!created) {
      std::cerr << created.error().message() << "\n";
      return 1;
    }
    roots.insert(created->job.id);
  }

  std::mt19937_64 rng(seed);
  figures f;
  std::set<job_id> acknowledged;
  std::set<job_id> rerun_done;  // failed attempts already rerun
  std::vector<std::unique_ptr<worker_process>> workers;
  for (int n = 0; n < 4; ++n) {
    workers.push_back(std::make_unique<worker_process>(self, path, n));
  }
  const auto read_lines = [&] {
    std::vector<std::string> lines;
    for (auto& w : workers) w->drain(lines);
    for (const std::string& l : lines) {
      std::istringstream in(l);
      std::string tag, id_text;
      in >> tag >> id_text;
      const auto id = job_id::parse(id_text);
      if (!id) continue;
      if (tag == "C") ++f.claims;
      if (tag == "D") {
        ++f.acknowledged;
        acknowledged.insert(*id);
      }
      if (tag == "F") ++f.fenced;
    }
  };
  const auto started = std::chrono::steady_clock::now();
  auto next_kill = started + kill_every;
  for (;;) {
    std::this_thread::sleep_for(50ms);
    read_lines();
    if (std::chrono::steady_clock::now() >= next_kill) {
      const auto victim = std::uniform_int_distribution<std::size_t>(
          0, workers.size() - 1)(rng);
      read_lines();
      workers[victim]->kill();
      ++f.kills;
      workers[victim] = std::make_unique<worker_process>(
          self, path, static_cast<int>(victim));
      next_kill += kill_every;
    }
    // Retry is a rerun: each attempt whose lease expired gets one. Done when
    // nothing is left to run and no failed attempt waited for its rerun
    // (one failing between the two looks is rerun in the next round).
    bool reran = false;
    list_query failed;
    failed.account_id = account;
    failed.project_id = project;
    failed.status = job_status::failed;
    failed.limit = 1000;
    failed.with_history = false;
    for (;;) {
      auto page = e.list(failed);
      if (!page) {
        std::cerr << page.error().message() << "\n";
        return 1;
      }
      for (const job& j : page->jobs) {
        if (rerun_done.contains(j.id)) continue;
        auto again = e.rerun(ref_of(j.id));
        if (!again) {
          std::cerr << "rerun: " << again.error().message() << "\n";
          return 1;
        }
        rerun_done.insert(j.id);
        ++f.reruns;
        reran = true;
      }
      if (page->next_cursor.empty()) break;
      failed.cursor = page->next_cursor;
    }
    // Done when nothing is left to run (a rerun just made is pending).
    list_query open_jobs;
    open_jobs.account_id = account;
    open_jobs.project_id = project;
    open_jobs.limit = 1;
    open_jobs.with_history = false;
    open_jobs.status = job_status::pending;
    auto pending = e.list(open_jobs);
    open_jobs.status = job_status::running;
    auto running = e.list(open_jobs);
    if (!pending || !running) return 1;
    if (pending->jobs.empty() && running->jobs.empty() && !reran) {
      // Failed attempts are counted last: a lease expiring after the
      // listing above would fail a job that no list saw.
      list_query all_failed;
      all_failed.account_id = account;
      all_failed.project_id = project;
      all_failed.status = job_status::failed;
      all_failed.limit = 1000;
      all_failed.with_history = false;
      std::size_t failed_now = 0;
      for (;;) {
        auto page = e.list(all_failed);
        if (!page) return 1;
        failed_now += page->jobs.size();
        if (page->next_cursor.empty()) break;
        all_failed.cursor = page->next_cursor;
      }
      if (failed_now == rerun_done.size()) break;
    }
    if (std::chrono::steady_clock::now() - started > 240s) {
      std::cerr << "worker kill test: not done after 240 s\n";
      return 1;
    }
  }
  std::ofstream(root / "stop") << "stop\n";
  bool clean = true;
  for (auto& w : workers) clean = w->join(5s) && clean;
  read_lines();
  if (!clean) {
    std::cerr << "worker kill test: a worker did not stop cleanly\n";
    return 1;
  }
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  if (auto problem = verify(e, roots, acknowledged)) {
    std::cerr << "worker kill test (seed " << seed << ", database " << path
              << " kept): " << *problem << "\n";
    return 1;
  }
  opened->reset();  // The check needs the database closed in this process.
  auto report = check_database(path);
  if (!report || !report->problems.empty()) {
    std::cerr << "worker kill test: the integrity check "
              << (report ? "found " + std::to_string(report->problems.size()) +
                               " problems"
                         : report.error().message())
              << " (database " << path << " kept)\n";
    return 1;
  }
  std::cout << "worker kill test: passed in " << elapsed.count()
            << " ms: " << jobs << " jobs, " << f.kills
            << " workers killed (SIGKILL), " << f.claims << " claims, "
            << f.acknowledged << " completions acknowledged, " << f.reruns
            << " jobs failed by lease expiry and rerun, " << f.fenced
            << " worker writes fenced off (lease_lost), 0 completed by a "
               "worker whose lease had lapsed"
            << std::endl;
  std::filesystem::remove_all(root);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string_view(argv[1]) == "--worker") {
    return worker_main(argv[2], std::atoi(argv[3]));
  }
  if (argc != 1) {
    std::cerr << "usage: jobstate_worker_kill_test (see the environment "
                 "variables in tests/workers/worker_kill_test.cpp)\n";
    return 2;
  }
  return parent_main(std::filesystem::read_symlink("/proc/self/exe").string());
}
