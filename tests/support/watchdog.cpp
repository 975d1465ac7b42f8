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

// What the watching thread and the listener share. Never destroyed: the
// thread outlives main(), and GoogleTest deletes its listeners at exit.
struct watch_state {
  explicit watch_state(std::chrono::seconds l) : limit(l) {}
  const std::chrono::seconds limit;
  std::mutex mutex;
  std::condition_variable changed;
  std::string name;
  std::chrono::steady_clock::time_point deadline;
  bool running = false;
};

// A global root, so that leak checkers see the state as reachable.
watch_state* the_state = nullptr;

// Runs for the life of the process (detached: a test binary ends with
// exit(), which does not wait for it).
[[noreturn]] void watch(watch_state& s) {
  std::unique_lock lock(s.mutex);
  while (true) {
    s.changed.wait(lock, [&] { return s.running; });
    const auto deadline = s.deadline;
    if (s.changed.wait_until(lock, deadline, [&] {
          return !s.running || s.deadline != deadline;
        })) {
      continue;
    }
    std::fprintf(stderr,
                 "\nwatchdog: %s is still running after %lld s: a deadlock "
                 "or a hang. Every thread's stack follows.\n",
                 s.name.c_str(), static_cast<long long>(s.limit.count()));
    std::fflush(stderr);
    print_all_stacks();
    std::fprintf(stderr, "watchdog: %s FAILED (timed out)\n", s.name.c_str());
    std::fflush(stderr);
    std::_Exit(124);
  }
}

class watchdog final : public testing::EmptyTestEventListener {
 public:
  explicit watchdog(std::chrono::seconds limit)
      : state_(*(the_state = new watch_state(limit))) {
    std::thread([&s = state_] { watch(s); }).detach();
  }

  void OnTestStart(const testing::TestInfo& info) override {
    std::lock_guard lock(state_.mutex);
    state_.name = std::string(info.test_suite_name()) + "." + info.name();
    state_.deadline = std::chrono::steady_clock::now() + state_.limit;
    state_.running = true;
    state_.changed.notify_all();
  }
  void OnTestEnd(const testing::TestInfo&) override {
    std::lock_guard lock(state_.mutex);
    state_.running = false;
    state_.changed.notify_all();
  }

 private:
  watch_state& state_;
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
