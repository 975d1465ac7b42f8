#include "support/file_size_limit.hpp"

#include <gtest/gtest.h>

namespace jobstate::test {

file_size_limit::file_size_limit(std::uint64_t bytes) {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  EXPECT_EQ(::sigaction(SIGXFSZ, &ignore, &previous_action_), 0);
  EXPECT_EQ(::getrlimit(RLIMIT_FSIZE, &previous_), 0);
  rlimit lower = previous_;
  lower.rlim_cur = static_cast<rlim_t>(bytes);
  EXPECT_EQ(::setrlimit(RLIMIT_FSIZE, &lower), 0);
}

file_size_limit::~file_size_limit() {
  ::setrlimit(RLIMIT_FSIZE, &previous_);
  ::sigaction(SIGXFSZ, &previous_action_, nullptr);
}

}  // namespace jobstate::test
