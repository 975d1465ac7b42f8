// jobstate_test_writer (tests/support/writer_main.cpp) as a child process:
// the second process of the cross-process and map-growth tests.
#ifndef JOBSTATE_TESTS_SUPPORT_WRITER_PROCESS_HPP
#define JOBSTATE_TESTS_SUPPORT_WRITER_PROCESS_HPP

#include <jobstate/job_id.hpp>

#include "support/waits.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace jobstate::test {

/// What the writer reported.
struct writer_output {
  int exit_code = -1;  ///< Negative: killed by that signal.
  std::vector<std::string> lines;
  std::int64_t done_ns = 0;  ///< Steady clock when its last mutation returned.
  /// The lines that are job ids, in order.
  std::vector<job_id> ids() const;
};

/// jobstate_test_writer running with `args`, its standard output piped here.
/// A spawn failure is reported as a test failure. Not thread-safe.
class writer_process {
 public:
  explicit writer_process(const std::vector<std::string>& args);
  /// Kills the writer if it still runs.
  ~writer_process();
  writer_process(const writer_process&) = delete;
  writer_process& operator=(const writer_process&) = delete;

  /// Reads its output until it exits; kills it (a test failure) when that
  /// takes longer than `limit`.
  writer_output finish(std::chrono::milliseconds limit = hang_guard);

 private:
  pid_t pid_ = -1;
  int out_ = -1;
};

/// Runs the writer to its end.
writer_output run_writer(const std::vector<std::string>& args);

}  // namespace jobstate::test

#endif  // JOBSTATE_TESTS_SUPPORT_WRITER_PROCESS_HPP
