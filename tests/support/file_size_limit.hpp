// A lower limit on the size of files this process may write (RLIMIT_FSIZE)
// for one scope: what a full disk looks like to the storage layer, without
// a file system of its own. Writes and reservations past it fail with
// EFBIG; SIGXFSZ, which would end the process, is ignored meanwhile.
#ifndef JOBSTATE_TESTS_SUPPORT_FILE_SIZE_LIMIT_HPP
#define JOBSTATE_TESTS_SUPPORT_FILE_SIZE_LIMIT_HPP

#include <csignal>
#include <cstdint>
#include <sys/resource.h>

namespace jobstate::test {

class file_size_limit {
 public:
  explicit file_size_limit(std::uint64_t bytes);
  ~file_size_limit();
  file_size_limit(const file_size_limit&) = delete;
  file_size_limit& operator=(const file_size_limit&) = delete;

 private:
  rlimit previous_{};
  struct sigaction previous_action_ {};
};

}  // namespace jobstate::test

#endif  // JOBSTATE_TESTS_SUPPORT_FILE_SIZE_LIMIT_HPP
