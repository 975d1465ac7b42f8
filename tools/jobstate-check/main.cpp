// jobstate-check: verifies a jobstate database without writing to it.
//
//   jobstate-check [--max-problems N] [--quiet] <database directory>
//
// Prints each problem on a line of its own, then a summary. Exit status:
// 0 the database is sound, 1 problems were found, 2 bad usage or the check
// could not run (no database there, another schema, unreadable files).
#include <jobstate/check.hpp>

#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

namespace {

int usage() {
  std::cerr << "usage: jobstate-check [--max-problems N] [--quiet] <path>\n"
               "Checks the jobstate database in directory <path> without "
               "modifying it.\n"
               "Exit status: 0 sound, 1 problems found, 2 could not check.\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  jobstate::check_options opts;
  bool quiet = false;
  std::string path;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--max-problems" && i + 1 < argc) {
      char* end = nullptr;
      const unsigned long long n = std::strtoull(argv[++i], &end, 10);
      if (end == argv[i] || *end != '\0') return usage();
      opts.max_problems = static_cast<std::size_t>(n);
    } else if (arg == "--quiet" || arg == "-q") {
      quiet = true;
    } else if (arg == "--help" || arg == "-h") {
      usage();
      return 0;
    } else if (!arg.empty() && arg[0] == '-') {
      return usage();
    } else if (path.empty()) {
      path = arg;
    } else {
      return usage();
    }
  }
  if (path.empty()) return usage();

  auto report = jobstate::check_database(path, opts);
  if (!report) {
    std::cerr << "jobstate-check: " << report.error().message() << "\n";
    return 2;
  }
  if (!quiet) {
    for (const jobstate::check_problem& p : report->problems) {
      std::cout << jobstate::to_string(p) << "\n";
    }
  }
  std::cout << path << ": " << report->jobs << " jobs, " << report->tombstones
            << " tombstones, " << report->index_entries << " index entries, "
            << report->changes << " changes (last sequence "
            << report->last_sequence << "): ";
  if (report->ok()) {
    std::cout << "ok\n";
    return 0;
  }
  std::cout << report->problems.size()
            << (report->truncated ? "+ problems (list truncated)\n"
                                  : " problems\n");
  return 1;
}
