// An engine opened in a temporary directory, for tests.
#ifndef JOBSTATE_TESTS_SUPPORT_TEST_ENGINE_HPP
#define JOBSTATE_TESTS_SUPPORT_TEST_ENGINE_HPP

#include <jobstate/engine.hpp>
#include <jobstate/options.hpp>

#include "support/temp_dir.hpp"

#include <functional>
#include <memory>

namespace jobstate::test {

/// Options for a database in `dir`: no fsync (tests need not survive a
/// machine crash) and a modest initial map; everything else as documented.
jobstate::options fast_options(const std::filesystem::path& dir);

/// Opens an engine or throws jobstate::system_error (which GoogleTest reports
/// with the error's message).
std::unique_ptr<engine> open_engine(const jobstate::options& opts);

/// Owns a temporary directory and an engine opened in it. Not thread-safe
/// itself; the engine it hands out is.
class test_engine {
 public:
  /// Opens with fast_options().
  test_engine();
  /// Opens with fast_options() modified by `tweak`.
  explicit test_engine(const std::function<void(jobstate::options&)>& tweak);
  test_engine(const test_engine&) = delete;
  test_engine& operator=(const test_engine&) = delete;

  /// REQUIRES: open.
  engine& operator*() const { return *engine_; }
  engine* operator->() const { return engine_.get(); }
  engine& get() const { return *engine_; }

  /// Destroys the engine (closing the database); the directory stays.
  void close() { engine_.reset(); }
  /// Closes when open, then opens the same directory with options().
  void reopen();
  bool is_open() const noexcept { return engine_ != nullptr; }

  /// The options used to open (and reopen) the engine.
  jobstate::options& options() noexcept { return options_; }
  const test::temp_dir& dir() const noexcept { return dir_; }

 private:
  test::temp_dir dir_;
  jobstate::options options_;
  std::unique_ptr<engine> engine_;
};

}  // namespace jobstate::test

#endif  // JOBSTATE_TESTS_SUPPORT_TEST_ENGINE_HPP
