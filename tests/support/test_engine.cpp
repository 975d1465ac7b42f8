#include "support/test_engine.hpp"

#include <jobstate/result.hpp>

#include <utility>

namespace jobstate::test {

jobstate::options fast_options(const std::filesystem::path& dir) {
  jobstate::options opts;
  opts.path = (dir / "db").string();
  opts.durability = durability::no_sync;
  opts.map_size = std::uint64_t{16} << 20;
  return opts;
}

std::unique_ptr<engine> open_engine(const jobstate::options& opts) {
  return engine::open(opts).value();
}

test_engine::test_engine() : test_engine([](jobstate::options&) {}) {}

test_engine::test_engine(const std::function<void(jobstate::options&)>& tweak)
    : dir_("engine"), options_(fast_options(dir_.path())) {
  tweak(options_);
  engine_ = open_engine(options_);
}

void test_engine::reopen() {
  engine_.reset();
  engine_ = open_engine(options_);
}

}  // namespace jobstate::test
