// The suite's deadlock watchdog: a test that runs longer than its limit
// fails at once, printing its name and every thread's stack (through gdb,
// when installed), instead of hanging until CI's own limit ends the run.
//
// Linked into every GoogleTest binary of tests/; it installs itself before
// main() runs. The limit is JOBSTATE_TEST_WATCHDOG_SECONDS (default 180, 0
// turns the watchdog off); ctest's TIMEOUT on each test is the outer
// bound.
#include <gtest/gtest.h>

#include <spawn.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <sys/wait.h>
#include <thread>

extern char** environ;

namespace jobstate::test {
namespace {

std::chrono::seconds watchdog_limit() {
  const char* text = std::getenv("JOBSTATE_TEST_WATCHDOG_SECONDS");
  if (text == nullptr || *text == '\0') return std::chrono::seconds(180);
  return std::chrono::seconds(std::strtol(text, nullptr, 10));
}

// Prints every thread's stack of this process: gdb attaches, prints and
// detaches. Without gdb, says so.
void print_all_stacks() {
  const std::string pid = std::to_string(::getpid());
  const char* argv[] = {"gdb", "-p",  pid.c_str(),           "-batch",
                        "-nx", "-ex", "thread apply all bt", nullptr};
  pid_t child = -1;
  if (::posix_spawnp(&child, "gdb", nullptr, nullptr,
                     const_cast<char* const*>(argv), environ) != 0) {
    std::fprintf(stderr, "watchdog: gdb is not installed: no stacks\n");
    return;
  }
  int status = 0;
  ::waitpid(child, &status, 0);
}

class watchdog final : public testing::EmptyTestEventListener {
 public:
  explicit watchdog(std::chrono::seconds limit) : limit_(limit) {
    std::thread([this] { watch(); }).detach();
  }

  void OnTestStart(const testing::TestInfo& info) override {
    std::lock_guard lock(mutex_);
    name_ = std::string(info.test_suite_name()) + "." + info.name();
    deadline_ = std::chrono::steady_clock::now() + limit_;
    running_ = true;
    changed_.notify_all();
  }
  void OnTestEnd(const testing::TestInfo&) override {
    std::lock_guard lock(mutex_);
    running_ = false;
    changed_.notify_all();
  }

 private:
  // Runs for the life of the process (detached: a test binary ends with
  // exit(), which does not wait for it).
  void watch() {
    std::unique_lock lock(mutex_);
    while (true) {
      changed_.wait(lock, [this] { return running_; });
      const auto deadline = deadline_;
      if (changed_.wait_until(lock, deadline, [&] {
            return !running_ || deadline_ != deadline;
          })) {
        continue;
      }
      std::fprintf(stderr,
                   "\nwatchdog: %s is still running after %lld s: a deadlock "
                   "or a hang. Every thread's stack follows.\n",
                   name_.c_str(), static_cast<long long>(limit_.count()));
      std::fflush(stderr);
      print_all_stacks();
      std::fprintf(stderr, "watchdog: %s FAILED (timed out)\n", name_.c_str());
      std::fflush(stderr);
      std::_Exit(124);
    }
  }

  const std::chrono::seconds limit_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string name_;
  std::chrono::steady_clock::time_point deadline_;
  bool running_ = false;
};

const bool installed = [] {
  const auto limit = watchdog_limit();
  if (limit.count() > 0) {
    testing::UnitTest::GetInstance()->listeners().Append(new watchdog(limit));
  }
  return true;
}();

}  // namespace
}  // namespace jobstate::test
