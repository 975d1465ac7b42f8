// jobstate_crash_test: crash safety with real processes and SIGKILL.
//
// The parent runs many rounds. In each, it starts itself again as a child
// (`--child <db> <seed>`), which opens the database at default durability
// and drives jobs through random legal mutations (create, keyed create,
// batches, start, progress, complete, fail, cancel, cascade cancel, rerun of
// jobs and batches, purge), reporting over a pipe, one line per event:
//
//   I <op> <id|->             about to run a mutation (the one in flight)
//   A <id> <revision> <status> acknowledged: the job is durably at least so
//   D                          the mutation returned (success or failure)
//
// A mutation's A lines and its D go out in one write(2) (under PIPE_BUF, so
// atomically): the parent sees all of a mutation's acknowledgements or none.
//
// The parent SIGKILLs the child at a random moment (after a random number
// of acknowledgements, plus a random delay), then
//   1. runs check_database on what the crash left: it must be sound;
//   2. reopens the engine and checks that every acknowledged job is there,
//      at least at its acknowledged revision (at exactly its status when at
//      that revision), that a standalone job moved at most by the one
//      mutation in flight, and that a purged job was finished;
//   3. lists every job and checks that the only jobs never acknowledged are
//      the whole output of the one create in flight (a job, or a batch with
//      all its children), never part of it.
//
// Environment: JOBSTATE_CRASH_SEED (the seed, printed at the start; set it to
// repeat a run, kill timing aside), JOBSTATE_CRASH_KILLS (rounds, default
// 220), JOBSTATE_TEST_TMP (where databases go). Exit status 0 when every
// round passes; figures are printed at the end.
#include <jobstate/check.hpp>
#include <jobstate/jobstate.hpp>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
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

namespace {

using namespace jobstate;
using namespace std::chrono_literals;

constexpr std::string_view account = "crash";
constexpr std::string_view project = "test";

job_ref ref_of(const job_id& id) {
  return job_ref{std::string(account), std::string(project), id};
}

// ------------------------------------------------------------------ child

class child {
 public:
  child(engine& e, std::uint64_t seed) : e_(e), rng_(seed) {}

  void load() {
    list_query q;
    q.account_id = account;
    q.project_id = project;
    q.limit = 100;
    for (int page = 0; page < 4; ++page) {
      auto p = e_.list(q);
      if (!p) return;
      for (const job& j : p->jobs) remember(j.id, j.status, j.is_batch);
      if (p->next_cursor.empty()) return;
      q.cursor = p->next_cursor;
    }
  }

  [[noreturn]] void run() {
    for (;;) step();
  }

 private:
  struct known {
    job_id id;
    job_status status;
    bool is_batch;
  };

  static void write_all(const std::string& text) {
    // A pipe writes up to PIPE_BUF bytes atomically: a kill never leaves
    // part of it.
    if (::write(STDOUT_FILENO, text.data(), text.size()) !=
        static_cast<ssize_t>(text.size())) {
      std::_Exit(3);
    }
  }

  // Announces the mutation about to run.
  static void emit(const std::string& line) { write_all(line + "\n"); }

  // Queues the acknowledgement of `j`, sent with done().
  void ack(const job& j) {
    acks_ += "A " + j.id.to_string() + " " + std::to_string(j.revision) + " " +
             std::string(to_string(j.status)) + "\n";
    remember(j.id, j.status, j.is_batch);
  }

  // Sends the queued acknowledgements and "D" in one write.
  void done() {
    write_all(acks_ + "D\n");
    acks_.clear();
  }

  // Acknowledges a new batch made by a rerun: its children too.
  void ack_with_children(const job& parent) {
    ack(parent);
    if (!parent.is_batch) return;
    list_query q;
    q.account_id = account;
    q.project_id = project;
    q.parent_id = parent.id;
    q.limit = 1000;
    auto p = e_.list(q);
    if (!p) std::_Exit(4);
    for (const job& c : p->jobs) ack(c);
  }

  void remember(const job_id& id, job_status s, bool is_batch) {
    auto it = index_.find(id);
    if (it == index_.end()) {
      index_.emplace(id, jobs_.size());
      jobs_.push_back({id, s, is_batch});
    } else {
      jobs_[it->second].status = s;
    }
  }

  // A random known job for which `want` holds, if one is found quickly.
  template <class Pred>
  std::optional<known> pick(Pred want) {
    if (jobs_.empty()) return std::nullopt;
    std::uniform_int_distribution<std::size_t> d(0, jobs_.size() - 1);
    for (int tries = 0; tries < 24; ++tries) {
      const known& k = jobs_[d(rng_)];
      if (want(k)) return k;
    }
    return std::nullopt;
  }

  // After a failed mutation our view of the job is stale: look again.
  void refresh(const job_id& id) {
    auto j = e_.get(ref_of(id));
    if (j) remember(id, j->status, j->is_batch);
  }

  template <class Mutation>
  void mutate(const char* op, const known& k, Mutation&& m) {
    emit(std::string("I ") + op + " " + k.id.to_string());
    auto r = m(ref_of(k.id));
    if (r) {
      ack_with_children(*r);
    } else {
      refresh(k.id);
    }
    done();
  }

  create_request request(bool keyed) {
    create_request r;
    r.account_id = account;
    r.project_id = project;
    r.kind = "convert";
    r.input = boost::json::object{{"n", counter_++ % 7}};
    if (keyed) {
      r.input = boost::json::object{{"keyed", true}};
      r.idempotency_key =
          "key-" +
          std::to_string(std::uniform_int_distribution<int>(0, 40)(rng_));
    }
    return r;
  }

  void step() {
    const int roll = std::uniform_int_distribution<int>(0, 999)(rng_);
    auto pending = [](const known& k) {
      return k.status == job_status::pending && !k.is_batch;
    };
    auto running = [](const known& k) {
      return k.status == job_status::running && !k.is_batch;
    };
    auto open = [](const known& k) { return !is_terminal(k.status); };
    auto finished = [](const known& k) { return is_terminal(k.status); };

    if (roll < 60) {
      emit("I create_keyed -");
      if (auto r = e_.create(request(true))) ack(r->job);
      done();
    } else if (roll < 200) {
      emit("I create -");
      if (auto r = e_.create(request(false))) ack(r->job);
      done();
    } else if (roll < 260) {
      batch_request b;
      b.parent = request(false);
      b.parent.kind = "batch";
      const int n = std::uniform_int_distribution<int>(1, 6)(rng_);
      for (int i = 0; i < n; ++i) b.children.push_back({"page", i, {}, {}});
      emit("I create_batch -");
      if (auto r = e_.create_batch(b)) {
        ack(r->parent);
        for (const job_id& id : r->child_ids) {
          acks_ += "A " + id.to_string() + " 1 pending\n";
          remember(id, job_status::pending, false);
        }
      }
      done();
    } else if (roll < 480) {
      if (auto k = pick(pending)) {
        mutate("start", *k, [&](const job_ref& r) { return e_.start(r); });
      }
    } else if (roll < 620) {
      if (auto k = pick(running)) {
        mutate("progress", *k, [&](const job_ref& r) {
          progress p;
          p.percent = std::uniform_real_distribution<double>(0, 100)(rng_);
          p.details = boost::json::object{{"step", counter_++}};
          return e_.report_progress(r, p);
        });
      }
    } else if (roll < 840) {
      if (auto k = pick(running)) {
        mutate("complete", *k, [&](const job_ref& r) {
          completion c;
          const int how = std::uniform_int_distribution<int>(0, 3)(rng_);
          c.status = how == 0   ? job_status::failed
                     : how == 1 ? job_status::partially_succeeded
                                : job_status::succeeded;
          if (c.status == job_status::failed) {
            c.error = job_error{"boom", "failed on purpose"};
          } else {
            c.result = boost::json::object{{"pages", how}};
          }
          return e_.complete(r, c);
        });
      }
    } else if (roll < 900) {
      if (auto k = pick(open)) {
        mutate("cancel", *k,
               [&](const job_ref& r) { return e_.cancel(r, "crash test"); });
      }
    } else if (roll < 990) {
      if (auto k = pick(finished)) {
        mutate("rerun", *k, [&](const job_ref& r) { return e_.rerun(r); });
      }
    } else {
      emit("I purge -");
      (void)e_.purge(purge_request{std::chrono::seconds(0), 20});
      done();
    }
  }

  engine& e_;
  std::mt19937_64 rng_;
  std::vector<known> jobs_;
  std::map<job_id, std::size_t> index_;
  std::int64_t counter_ = 0;
  std::string acks_;
};

int child_main(const std::string& path, std::uint64_t seed) {
  options opts;
  opts.path = path;  // Everything else as documented: durability::full.
  auto e = engine::open(opts);
  if (!e) {
    std::cerr << "crash child: open: " << e.error().message() << "\n";
    return 1;
  }
  child c(**e, seed);
  c.load();
  c.run();
}

// ----------------------------------------------------------------- parent

struct acked {
  std::uint64_t revision = 0;
  job_status status = job_status::pending;
};

struct figures {
  std::uint64_t rounds = 0;
  std::uint64_t kills = 0;
  std::uint64_t mutations_acked = 0;
  std::uint64_t mutations_started = 0;
  std::uint64_t in_flight_landed = 0;
  std::uint64_t integrity_checks = 0;
  std::uint64_t jobs_verified = 0;
  std::uint64_t purged_verified = 0;
};

struct round_output {
  std::vector<std::pair<job_id, acked>> acks;
  std::optional<std::string> in_flight;  // "<op> <id|->"
  std::uint64_t finished = 0;            // Mutations that returned.
  std::uint64_t mutations = 0;           // Of those, the acknowledged ones.
  std::uint64_t started = 0;
  bool acked_current = false;
};

// Reads whole lines from the child until it has acknowledged `kill_after`
// mutations, then waits `delay` and kills it; then drains the pipe.
round_output drive(const std::string& self, const std::string& path,
                   std::uint64_t seed, int kill_after,
                   std::chrono::microseconds delay, figures& f,
                   std::string& failure) {
  round_output out;
  int fds[2];
  if (::pipe(fds) != 0) {
    failure = "pipe failed";
    return out;
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    const std::string s = std::to_string(seed);
    ::execl(self.c_str(), self.c_str(), "--child", path.c_str(), s.c_str(),
            static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  ::close(fds[1]);
  std::string buffer;
  bool killed = false;
  const auto give_up = std::chrono::steady_clock::now() + 20s;
  auto kill_now = [&] {
    if (!killed) {
      if (delay.count() > 0) std::this_thread::sleep_for(delay);
      ::kill(pid, SIGKILL);
      killed = true;
    }
  };
  auto handle = [&](const std::string& line) {
    std::istringstream in(line);
    std::string tag;
    in >> tag;
    if (tag == "I") {
      std::string rest;
      std::getline(in, rest);
      out.in_flight = rest.substr(rest.empty() ? 0 : 1);
      ++out.started;
    } else if (tag == "A") {
      std::string id, status;
      std::uint64_t revision = 0;
      in >> id >> revision >> status;
      auto parsed = job_id::parse(id);
      auto s = parse_job_status(status);
      if (!parsed || !s) {
        failure = "unreadable line from the child: " + line;
        return;
      }
      out.acks.emplace_back(*parsed, acked{revision, *s});
      out.acked_current = true;
    } else if (tag == "D") {
      ++out.finished;
      if (out.acked_current) ++out.mutations;
      out.acked_current = false;
      out.in_flight.reset();
    }
  };
  if (kill_after == 0) kill_now();
  char chunk[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
    if (n <= 0) break;
    buffer.append(chunk, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = buffer.find('\n')) != std::string::npos) {
      const std::string line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      handle(line);
      if (!killed && static_cast<int>(out.finished) >= kill_after) kill_now();
    }
    if (!killed && std::chrono::steady_clock::now() > give_up) {
      ::kill(pid, SIGKILL);
      killed = true;
      failure = "the child made no progress for 20 s";
    }
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!killed || !WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
    if (failure.empty()) {
      failure = "the child ended by itself (status " + std::to_string(status) +
                ") before it was killed";
    }
  } else {
    ++f.kills;
  }
  return out;
}

// Verifies the database after a kill; returns a description of what is
// wrong, or nothing.
std::optional<std::string> verify(const std::string& path,
                                  std::map<job_id, acked>& acks,
                                  const round_output& round, figures& f) {
  std::ostringstream why;
  // 1. What the crash left must be sound (read-only: before any reopen).
  auto report = check_database(path);
  ++f.integrity_checks;
  if (!report && acks.empty()) {
    // Killed while the very first open was creating the database, before
    // its first commit: LMDB's file exists, jobstate's stamp does not yet.
    // Nothing was acknowledged; opening must finish the job.
    {
      options first;
      first.path = path;
      auto e = engine::open(first);
      if (!e)
        return "open after a kill during creation: " + e.error().message();
    }
    report = check_database(path);
    ++f.integrity_checks;
  }
  if (!report) return "check_database: " + report.error().message();
  if (!report->ok()) {
    why << "integrity check found " << report->problems.size() << " problems:";
    for (const auto& p : report->problems) why << "\n    " << to_string(p);
    return why.str();
  }

  // 2. Every acknowledged mutation is there.
  options opts;
  opts.path = path;
  auto e = engine::open(opts);
  if (!e) return "reopen: " + e.error().message();
  std::optional<job_id> in_flight_target;
  std::string in_flight_op;
  if (round.in_flight) {
    std::istringstream in(*round.in_flight);
    std::string target;
    in >> in_flight_op >> target;
    in_flight_target = job_id::parse(target);
  }
  for (auto& [id, a] : acks) {
    auto j = (*e)->get(ref_of(id));
    ++f.jobs_verified;
    if (!j) {
      if (j.code() == errc::gone && j.error().current_status() &&
          is_terminal(*j.error().current_status()) &&
          j.error().current_revision() >= a.revision) {
        ++f.purged_verified;
        continue;
      }
      why << "job " << id.to_string() << " acknowledged at revision "
          << a.revision << " (" << to_string(a.status)
          << ") is unreadable: " << j.error().message();
      return why.str();
    }
    if (j->revision < a.revision ||
        (j->revision == a.revision && j->status != a.status)) {
      why << "job " << id.to_string() << " acknowledged at revision "
          << a.revision << " (" << to_string(a.status) << ") is at revision "
          << j->revision << " (" << to_string(j->status) << ")";
      return why.str();
    }
    // A standalone job moves only by its own mutations: at most the one in
    // flight may have landed unacknowledged.
    if (!j->is_batch && !j->parent_id) {
      const std::uint64_t allowed =
          a.revision + (in_flight_target == id ? 1 : 0);
      if (j->revision > allowed) {
        why << "job " << id.to_string() << " acknowledged at revision "
            << a.revision << " is at revision " << j->revision
            << ", with no mutation of it in flight";
        return why.str();
      }
      if (j->revision > a.revision) ++f.in_flight_landed;
    }
    // What survived a crash is durable: later rounds hold the job to it.
    a = acked{j->revision, j->status};
  }

  // 3. Jobs never acknowledged: only the whole output of a create in flight.
  std::vector<job> unknown;
  list_query q;
  q.account_id = account;
  q.project_id = project;
  q.limit = 1000;
  for (;;) {
    auto page = (*e)->list(q);
    if (!page) return "list: " + page.error().message();
    for (job& j : page->jobs) {
      if (!acks.contains(j.id)) unknown.push_back(std::move(j));
    }
    if (page->next_cursor.empty()) break;
    q.cursor = page->next_cursor;
  }
  if (!unknown.empty()) {
    const bool creates =
        in_flight_op == "create" || in_flight_op == "create_keyed" ||
        in_flight_op == "create_batch" || in_flight_op == "rerun";
    std::size_t parents = 0, children = 0, total = 0;
    for (const job& j : unknown) {
      if (j.is_batch) {
        ++parents;
        total = j.progress.counts ? j.progress.counts->total : 0;
      } else if (j.parent_id) {
        ++children;
      }
    }
    const bool one_job =
        unknown.size() == 1 && !unknown[0].is_batch && !unknown[0].parent_id;
    const bool one_batch =
        parents == 1 && children == total && unknown.size() == 1 + children;
    if (!creates || !(one_job || one_batch)) {
      why << unknown.size() << " jobs were never acknowledged (in flight: "
          << (round.in_flight ? *round.in_flight : "nothing") << "):";
      for (const job& j : unknown) {
        why << "\n    " << j.id.to_string() << " " << to_string(j.status)
            << (j.is_batch ? " batch" : "") << (j.parent_id ? " child" : "");
      }
      return why.str();
    }
    ++f.in_flight_landed;
    // Durable now: later rounds hold them to it.
    for (const job& j : unknown) acks[j.id] = acked{j.revision, j.status};
  }
  return std::nullopt;
}

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::strtoull(v, nullptr, 10);
}

int parent_main(const std::string& self) {
  const std::uint64_t seed = env_number(
      "JOBSTATE_CRASH_SEED",
      static_cast<std::uint64_t>(
          std::chrono::system_clock::now().time_since_epoch().count()) ^
          static_cast<std::uint64_t>(::getpid()));
  const std::uint64_t rounds = env_number("JOBSTATE_CRASH_KILLS", 220);
  std::cout << "crash test: seed " << seed << " (JOBSTATE_CRASH_SEED=" << seed
            << " repeats it), " << rounds << " kills" << std::endl;

  const char* tmp = std::getenv("JOBSTATE_TEST_TMP");
  const std::filesystem::path root =
      std::filesystem::path(tmp != nullptr && *tmp != '\0'
                                ? tmp
                                : std::filesystem::temp_directory_path()) /
      ("crash-" + std::to_string(::getpid()));
  std::filesystem::create_directories(root);

  std::mt19937_64 rng(seed);
  figures f;
  std::map<job_id, acked> acks;
  std::string path;
  const auto started = std::chrono::steady_clock::now();
  for (std::uint64_t round = 0; round < rounds; ++round) {
    // A fresh database now and then keeps each round's checks short.
    if (round % 55 == 0) {
      path = (root / ("db-" + std::to_string(round))).string();
      acks.clear();
    }
    const std::uint64_t child_seed = rng();
    // Kill points: a quarter during start-up (0..30 ms after the fork:
    // exec, opening, recovery), the rest after 1..40 mutations plus 0..3 ms.
    const int kill_after = std::uniform_int_distribution<int>(0, 3)(rng) == 0
                               ? 0
                               : std::uniform_int_distribution<int>(1, 40)(rng);
    const auto delay =
        std::chrono::microseconds(std::uniform_int_distribution<int>(
            0, kill_after == 0 ? 30000 : 3000)(rng));
    std::string failure;
    round_output out =
        drive(self, path, child_seed, kill_after, delay, f, failure);
    ++f.rounds;
    if (!failure.empty()) {
      std::cerr << "crash test: round " << round << " (seed " << seed
                << "): " << failure << "\n";
      return 1;
    }
    f.mutations_acked += out.mutations;
    f.mutations_started += out.started;
    for (const auto& [id, a] : out.acks) {
      acked& known = acks[id];
      if (a.revision >= known.revision) known = a;
    }
    // The database is new only once the child got far enough to make it.
    if (!std::filesystem::exists(std::filesystem::path(path) / "data.mdb")) {
      continue;
    }
    if (auto problem = verify(path, acks, out, f)) {
      std::cerr << "crash test: round " << round << " (seed " << seed
                << ", kill after " << kill_after << " mutations + "
                << delay.count() << " us, database " << path
                << " kept): " << *problem << "\n";
      return 1;
    }
  }
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  std::cout << "crash test: passed. seed " << seed << "; " << f.rounds
            << " rounds, " << f.kills << " kills (SIGKILL), "
            << f.mutations_acked << " mutations acknowledged ("
            << f.mutations_started << " started), " << f.in_flight_landed
            << " unacknowledged mutations found landed whole, "
            << f.integrity_checks << " integrity checks, " << f.jobs_verified
            << " job checks (" << f.purged_verified << " purged), in "
            << elapsed.count() << " ms" << std::endl;
  std::filesystem::remove_all(root);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string_view(argv[1]) == "--child") {
    return child_main(argv[2], std::strtoull(argv[3], nullptr, 10));
  }
  if (argc != 1) {
    std::cerr << "usage: jobstate_crash_test (see the environment variables "
                 "in tests/crash/crash_test.cpp)\n";
    return 2;
  }
  return parent_main(std::filesystem::read_symlink("/proc/self/exe").string());
}
