// A temporary directory for one test, removed with everything in it when the
// test is done.
#ifndef JOBSTATE_TESTS_SUPPORT_TEMP_DIR_HPP
#define JOBSTATE_TESTS_SUPPORT_TEMP_DIR_HPP

#include <cstdint>
#include <filesystem>
#include <string_view>

namespace jobstate::test {

/// Makes a fresh, uniquely named directory under $JOBSTATE_TEST_TMP (set by
/// ctest), or under the system's temporary directory when that is unset, and
/// removes it recursively on destruction. Move-only; not thread-safe.
class temp_dir {
 public:
  explicit temp_dir(std::string_view prefix = "jobstate");
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  temp_dir(temp_dir&& other) noexcept;
  temp_dir& operator=(temp_dir&& other) noexcept;

  /// The directory; empty after a move.
  const std::filesystem::path& path() const noexcept { return path_; }
  /// `path() / name`; nothing is created.
  std::filesystem::path sub(std::string_view name) const;

  /// Total size in bytes of the regular files below `path()`.
  std::uintmax_t disk_usage() const;

 private:
  std::filesystem::path path_;
};

/// The directory temporary test data goes under.
std::filesystem::path test_tmp_root();

}  // namespace jobstate::test

#endif  // JOBSTATE_TESTS_SUPPORT_TEMP_DIR_HPP
