// jobstate_test_writer: a second process for cross_process_test.cpp. Opens
// the engine whose database is at argv[1] and performs one command:
//
//   create   <account> <project> [count]  creates count (default 1) jobs,
//                                          one commit each; prints each id
//   start    <account> <project> <id>     pending -> running
//   complete <account> <project> <id> [status]
//                                          running -> status (default
//                                          succeeded)
//   cancel   <account> <project> <id>     -> cancelled
//   cycle    <account> <project> <count>  count times: create, start,
//                                          complete (three commits); prints
//                                          each id
//   run      <account> <project> <id>...  starts and at once completes
//                                          each job (two commits each)
//   fill     <account> <project> <count> <bytes> <map-size> <durability>
//                                          creates count jobs of <bytes> of
//                                          input each, one commit each, in a
//                                          database opened with that initial
//                                          map size and durability (to make
//                                          the map grow); prints each id
//   claim    <account> <project> <ttl-ms>   claims one "parse" job under a
//                                          lease of ttl-ms and exits without
//                                          renewing it (a worker that died);
//                                          prints the job's id
//   linger   <account> <project> <ms>     keeps the engine open for ms
//                                          milliseconds (its timers acting)
//   hold     <marker-file> <ms>           holds the database's write lock
//                                          (a raw LMDB write transaction)
//                                          for ms milliseconds, creating
//                                          marker-file once it holds it; no
//                                          engine is opened
//   attach   <marker-file> <ms>           keeps the database's LMDB
//                                          environment open (no
//                                          transaction, as a process of
//                                          another build would) for ms
//                                          milliseconds, creating
//                                          marker-file once open; no engine
//                                          is opened
//
// After the mutations it prints "done <ns>", ns being the steady clock
// (CLOCK_MONOTONIC, shared by every process on the machine) read when the
// last mutation returned. Exit status: 0 done, 1 a jobstate error (printed
// on stderr), 2 bad usage.
#include <jobstate/jobstate.hpp>

#include "support/raw_db.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using namespace jobstate;

int usage() {
  std::cerr
      << "usage: jobstate_test_writer <db-path> "
         "create|start|complete|cancel|cycle|run|fill|hold|attach <account> "
         "<project> "
         "[<id>|<count>] [status|<bytes> <map-size> <durability> "
         "[pwrite]]\n";
  return 2;
}

template <class T>
T must(result<T> r, std::string_view what) {
  if (!r) {
    std::cerr << "jobstate_test_writer: " << what << ": " << r.error().message()
              << "\n";
    std::exit(1);
  }
  return std::move(*r);
}

job_id parse_id(const std::string& text) {
  auto id = job_id::parse(text);
  if (!id) {
    std::cerr << "jobstate_test_writer: not a job id: " << text << "\n";
    std::exit(2);
  }
  return *id;
}

job_id create_one(engine& e, const std::string& account,
                  const std::string& project, std::size_t blob_bytes = 0) {
  create_request r;
  r.account_id = account;
  r.project_id = project;
  r.kind = "parse";
  r.input = boost::json::object{{"document", "from-another-process.pdf"}};
  if (blob_bytes > 0) {
    r.input.as_object()["blob"] = std::string(blob_bytes, 'w');
  }
  return must(e.create(r), "create").job.id;
}

std::optional<durability> parse_durability(std::string_view name) {
  if (name == "full") return durability::full;
  if (name == "no_meta_sync") return durability::no_meta_sync;
  if (name == "no_sync") return durability::no_sync;
  return std::nullopt;
}

completion succeeded() {
  completion c;
  c.status = job_status::succeeded;
  c.result = boost::json::object{{"pages", 3}};
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) return usage();
  const std::vector<std::string> args(argv + 1, argv + argc);
  const std::string& command = args[1];
  const std::string& account = args[2];
  const std::string& project = args[3];

  if (command == "hold") {
    // The engine's committer blocks in its next write transaction until
    // this ends, so that whatever is queued meanwhile commits as one batch.
    const long ms = std::atol(args[3].c_str());
    if (ms < 1) return usage();
    jobstate::test::raw_db held(args[0]);
    std::ofstream(args[2]) << "held\n";
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    std::cout << "done 0\n";
    return 0;  // The transaction is abandoned: nothing was written.
  }

  if (command == "attach") {
    const long ms = std::atol(args[3].c_str());
    if (ms < 1) return usage();
    MDB_env* raw = nullptr;
    if (mdb_env_create(&raw) != 0) return 1;
    const store::lmdb::env attached(raw);
    if (int rc = mdb_env_set_maxdbs(raw, 32); rc != 0) return 1;
    if (int rc = mdb_env_open(raw, args[0].c_str(), MDB_NOTLS, 0644); rc != 0) {
      std::cerr << "mdb_env_open: " << mdb_strerror(rc) << "\n";
      return 1;
    }
    std::ofstream(args[2]) << "attached\n";
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    std::cout << "done 0\n";
    return 0;
  }

  // As tests/support/test_engine.cpp's fast_options.
  options opts;
  opts.path = args[0];
  opts.durability = durability::no_sync;
  opts.map_size = std::uint64_t{16} << 20;
  std::size_t blob_bytes = 0;
  if (command == "fill") {
    if (args.size() < 8) return usage();
    blob_bytes = std::strtoul(args[5].c_str(), nullptr, 10);
    opts.map_size = std::strtoull(args[6].c_str(), nullptr, 10);
    auto d = parse_durability(args[7]);
    if (blob_bytes == 0 || opts.map_size == 0 || !d) return usage();
    opts.durability = *d;
    // Pages copied with pwrite instead of through a writable map.
    if (args.size() > 8) {
      if (args[8] != "pwrite") return usage();
      opts.write_map = false;
    }
  }
  auto e = must(engine::open(opts), "open " + opts.path);

  if (command == "create" || command == "cycle" || command == "fill") {
    const long count = args.size() > 4 ? std::atol(args[4].c_str()) : 1;
    if (count < 1) return usage();
    for (long i = 0; i < count; ++i) {
      const job_id id = create_one(*e, account, project, blob_bytes);
      if (command == "cycle") {
        const job_ref ref{account, project, id};
        must(e->start(ref), "start");
        must(e->complete(ref, succeeded()), "complete");
      }
      std::cout << id.to_string() << "\n";
    }
  } else if (command == "claim") {
    if (args.size() < 5) return usage();
    claim_request r;
    r.account_id = account;
    r.project_id = project;
    r.kinds = {"parse"};
    r.worker_id = "writer-" + std::to_string(::getpid());
    r.lease_ttl = std::chrono::milliseconds(std::atol(args[4].c_str()));
    auto claimed = must(e->claim(r), "claim");
    if (!claimed) {
      std::cerr << "claim: no job to claim\n";
      return 1;
    }
    std::cout << claimed->id.to_string() << "\n";
  } else if (command == "linger") {
    if (args.size() < 5) return usage();
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::atol(args[4].c_str())));
  } else if (command == "run") {
    for (std::size_t i = 4; i < args.size(); ++i) {
      const job_ref ref{account, project, parse_id(args[i])};
      must(e->start(ref), "start");
      must(e->complete(ref, succeeded()), "complete");
    }
  } else if (command == "start" || command == "complete" ||
             command == "cancel") {
    if (args.size() < 5) return usage();
    const job_ref ref{account, project, parse_id(args[4])};
    if (command == "start") {
      must(e->start(ref), "start");
    } else if (command == "cancel") {
      must(e->cancel(ref, "cancelled by another process"), "cancel");
    } else {
      completion c = succeeded();
      if (args.size() > 5) {
        auto s = parse_job_status(args[5]);
        if (!s) return usage();
        c.status = *s;
        if (*s == job_status::failed) {
          c.error = job_error{"writer", "failed by another process"};
        }
      }
      must(e->complete(ref, c), "complete");
    }
  } else {
    return usage();
  }
  const auto done = std::chrono::steady_clock::now().time_since_epoch();
  std::cout
      << "done "
      << std::chrono::duration_cast<std::chrono::nanoseconds>(done).count()
      << "\n";
  std::cout.flush();
  return 0;
}
