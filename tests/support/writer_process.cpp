#include "support/writer_process.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <sys/wait.h>

extern char** environ;

#ifndef JOBSTATE_TEST_WRITER
#error "JOBSTATE_TEST_WRITER must name the jobstate_test_writer executable"
#endif

namespace jobstate::test {

using namespace std::chrono_literals;

std::vector<job_id> writer_output::ids() const {
  std::vector<job_id> out;
  for (const auto& l : lines) {
    if (auto id = job_id::parse(l)) out.push_back(*id);
  }
  return out;
}

writer_process::writer_process(const std::vector<std::string>& args) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2: " << std::strerror(errno);
    return;
  }
  std::vector<std::string> all = {JOBSTATE_TEST_WRITER};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  const int rc =
      ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ADD_FAILURE() << "posix_spawn " << argv[0] << ": " << std::strerror(rc);
    ::close(fds[0]);
    pid_ = -1;
    return;
  }
  out_ = fds[0];
}

writer_process::~writer_process() {
  if (pid_ > 0) finish(0ms);
}

writer_output writer_process::finish(std::chrono::milliseconds limit) {
  writer_output result;
  if (pid_ <= 0) return result;
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  bool killed = false;
  while (out_ >= 0) {
    pollfd p{out_, POLLIN, 0};
    const int n = ::poll(&p, 1, 20);
    if (n > 0) {
      char buf[4096];
      const ssize_t got = ::read(out_, buf, sizeof buf);
      if (got > 0) {
        text.append(buf, static_cast<std::size_t>(got));
        continue;
      }
      if (got == 0 || errno != EINTR) break;  // EOF: it exited.
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      killed = true;
      break;
    }
  }
  if (out_ >= 0) ::close(out_);
  out_ = -1;
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  if (killed && limit > 0ms) {
    ADD_FAILURE() << "the writer did not finish within " << limit.count()
                  << " ms; killed";
  }
  result.exit_code =
      WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("done ", 0) == 0) {
      result.done_ns = std::stoll(line.substr(5));
    } else {
      result.lines.push_back(line);
    }
  }
  return result;
}

// Runs the writer to its end.
writer_output run_writer(const std::vector<std::string>& args) {
  writer_process p(args);
  return p.finish();
}

}  // namespace jobstate::test
