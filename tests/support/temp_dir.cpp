#include "support/temp_dir.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace jobstate::test {

std::filesystem::path test_tmp_root() {
  if (const char* env = std::getenv("JOBSTATE_TEST_TMP"); env && *env) {
    std::filesystem::path root(env);
    std::filesystem::create_directories(root);
    return root;
  }
  return std::filesystem::temp_directory_path();
}

namespace {

std::string unique_suffix() {
  static std::atomic<unsigned> counter{0};
  static const std::uint64_t seed = [] {
    std::random_device rd;
    return (std::uint64_t{rd()} << 32) ^ rd();
  }();
  std::mt19937_64 rng(seed + counter.fetch_add(1));
  static constexpr char digits[] = "0123456789abcdef";
  std::string s = std::to_string(::getpid()) + "-";
  std::uint64_t bits = rng();
  for (int i = 0; i < 12; ++i, bits >>= 4) s += digits[bits & 0xf];
  return s;
}

}  // namespace

temp_dir::temp_dir(std::string_view prefix) {
  const auto root = test_tmp_root();
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto candidate = root / (std::string(prefix) + "-" + unique_suffix());
    if (std::filesystem::create_directory(candidate)) {
      path_ = std::move(candidate);
      return;
    }
  }
  throw std::runtime_error("temp_dir: cannot create a unique directory under " +
                           root.string());
}

temp_dir::~temp_dir() {
  if (path_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

temp_dir::temp_dir(temp_dir&& other) noexcept
    : path_(std::exchange(other.path_, {})) {}

temp_dir& temp_dir::operator=(temp_dir&& other) noexcept {
  if (this != &other) {
    if (!path_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(path_, ignored);
    }
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

std::filesystem::path temp_dir::sub(std::string_view name) const {
  return path_ / std::filesystem::path(name);
}

std::uintmax_t temp_dir::disk_usage() const {
  std::uintmax_t total = 0;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(path_)) {
    if (entry.is_regular_file()) total += entry.file_size();
  }
  return total;
}

}  // namespace jobstate::test
