// A real engine for a fuzz target, in a fresh directory under TMPDIR that
// goes with it. Made once per process: a fuzz target has no test fixture,
// and any failure to set it up aborts, as a finding would.
#ifndef JOBSTATE_TESTS_FUZZ_FUZZ_DATABASE_HPP
#define JOBSTATE_TESTS_FUZZ_FUZZ_DATABASE_HPP

#include <jobstate/engine.hpp>

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

namespace jobstate::fuzz {

class fuzz_database {
 public:
  /// Opens an engine with `opts` (its path is set here) at no_sync, with
  /// cross-process notifications off: a fuzz run needs neither.
  explicit fuzz_database(options opts) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "jobstate-fuzz-XXXXXX")
            .string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    dir_ = tmpl;
    opts.path = (dir_ / "db").string();
    opts.durability = durability::no_sync;
    opts.cross_process_notifications = false;
    auto opened = engine::open(opts);
    if (!opened) std::abort();
    engine_ = std::move(*opened);
  }
  ~fuzz_database() {
    engine_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  fuzz_database(const fuzz_database&) = delete;
  fuzz_database& operator=(const fuzz_database&) = delete;

  engine& get() { return *engine_; }
  /// The database directory (the engine's `options::path`).
  std::filesystem::path path() const { return dir_ / "db"; }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<engine> engine_;
};

}  // namespace jobstate::fuzz

#endif  // JOBSTATE_TESTS_FUZZ_FUZZ_DATABASE_HPP
