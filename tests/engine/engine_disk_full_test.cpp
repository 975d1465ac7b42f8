// A disk that fills up under the engine, with and without a writable map:
// writes fail with storage_full, what was acknowledged stays readable, and
// writing works again once there is room. With a writable map a full disk
// must never reach a write through the map (SIGBUS would end the process):
// the map's growth is reserved first (lib/store/map_file.hpp).
#include <jobstate/engine.hpp>

#include "support/file_size_limit.hpp"
#include "support/jobs.hpp"
#include "support/temp_dir.hpp"
#include "support/test_engine.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <sys/mount.h>
#include <sys/stat.h>
#include <vector>

namespace jobstate {
namespace {

using test::make_request;
using test::ref_of;
using test::text_of_size;

constexpr std::uint64_t one_mib = std::uint64_t{1} << 20;

create_request big_request(int n) {
  return make_request(
      "ingest",
      boost::json::object{{"n", n}, {"blob", text_of_size(64 << 10)}});
}

// Creates jobs until one fails; returns those created, and the failure.
std::vector<job> create_until_full(engine& e, error* failure) {
  std::vector<job> made;
  for (int n = 0; n < 2000; ++n) {
    auto r = e.create(big_request(n));
    if (!r) {
      *failure = r.error();
      return made;
    }
    made.push_back(r->job);
  }
  ADD_FAILURE() << "2000 jobs of 64 KiB fit: the disk never filled";
  return made;
}

void expect_all_readable(const engine& e, const std::vector<job>& jobs) {
  for (const job& j : jobs) {
    auto got = e.get(ref_of(j));
    ASSERT_TRUE(got.has_value()) << got.error().message();
    EXPECT_EQ(got->revision, j.revision);
    EXPECT_EQ(got->input, j.input);
  }
}

options disk_full_options(const std::filesystem::path& dir, bool write_map) {
  options o = test::fast_options(dir);
  o.map_size = one_mib;
  o.max_map_size = std::uint64_t{64} << 20;
  o.write_map = write_map;
  return o;
}

// A tmpfs of `size` mounted at `at` (created) for one test, unmounted at
// its end.
class small_tmpfs {
 public:
  small_tmpfs(const std::filesystem::path& at, const char* size) : at_(at) {
    std::filesystem::create_directories(at_);
    const std::string opts = std::string("size=") + size;
    if (::mount("jobstate-test", at_.c_str(), "tmpfs", 0, opts.c_str()) == 0) {
      mounted_ = true;
    } else {
      const int e = errno;
      why_not_ = std::string("cannot mount a tmpfs here: ") + std::strerror(e);
    }
  }
  ~small_tmpfs() {
    if (mounted_) ::umount2(at_.c_str(), MNT_DETACH);
  }
  small_tmpfs(const small_tmpfs&) = delete;
  small_tmpfs& operator=(const small_tmpfs&) = delete;
  bool mounted() const { return mounted_; }
  const std::string& why_not() const { return why_not_; }

 private:
  std::filesystem::path at_;
  bool mounted_ = false;
  std::string why_not_;
};

class EngineDiskFull : public testing::TestWithParam<bool> {
 protected:
  // With a writable map the disk fills at a growth, which reserves before
  // it maps: storage_full. Without, LMDB finds it in a page write that came
  // up short, and reports that as EIO: io_error, whose message names free
  // disk space (docs/operations.md).
  static void expect_full(const error& failure) {
    if (GetParam()) {
      EXPECT_EQ(failure.code(), errc::storage_full) << failure.message();
      // Said as what it is: the disk, not the map's configured limit.
      EXPECT_NE(failure.detail().find("of disk for data.mdb"),
                std::string::npos)
          << failure.detail();
    } else {
      EXPECT_TRUE(failure.code() == errc::storage_full ||
                  failure.code() == errc::io_error)
          << failure.message();
    }
  }
};

TEST_P(EngineDiskFull, AFileSizeLimitIsStorageFullAndRoomComesBack) {
  test::temp_dir dir("disk-full");
  const options opts = disk_full_options(dir.path(), GetParam());
  auto eng = test::open_engine(opts);
  std::vector<job> made;
  error failure(errc::invalid_argument, "none");
  {
    test::file_size_limit limit(6 * one_mib);
    made = create_until_full(*eng, &failure);
  }
  expect_full(failure);
  EXPECT_GE(made.size(), 10u);
  expect_all_readable(*eng, made);
  // Room again: the next write grows the map and commits.
  auto more = eng->create(big_request(-1));
  ASSERT_TRUE(more.has_value()) << more.error().message();
  made.push_back(more->job);
  eng.reset();
  eng = test::open_engine(opts);
  expect_all_readable(*eng, made);
}

// A real file system that fills up (a small tmpfs). Needs the right to
// mount, which CI's root has; skipped, saying so, where it is missing.
TEST_P(EngineDiskFull, AFullFileSystemIsStorageFullNotACrash) {
  test::temp_dir dir("disk-full-fs");
  small_tmpfs fs(dir.sub("fs"), "8m");
  if (!fs.mounted()) GTEST_SKIP() << fs.why_not();
  const std::filesystem::path mount_point = dir.sub("fs");
  options opts = disk_full_options(mount_point, GetParam());
  std::filesystem::create_directories(opts.path);
  std::vector<job> made;
  {
    auto eng = test::open_engine(opts);
    error failure(errc::invalid_argument, "none");
    made = create_until_full(*eng, &failure);
    expect_full(failure);
    EXPECT_GE(made.size(), 10u);
    expect_all_readable(*eng, made);
  }
  // Reopened on the full file system: every acknowledged job is there.
  auto eng = test::open_engine(opts);
  expect_all_readable(*eng, made);
}

// A disk without room for the whole map at open: the engine opens without
// the writable map, gives back what the failed reservation took, and works.
TEST(EngineDiskFullAtOpen, AMapThatCannotBeReservedLeavesTheRoomItHad) {
  test::temp_dir dir("disk-full-open");
  small_tmpfs fs(dir.sub("fs"), "8m");
  if (!fs.mounted()) GTEST_SKIP() << fs.why_not();
  options opts = disk_full_options(dir.sub("fs"), true);
  opts.map_size = 16 * one_mib;  // twice the file system
  std::filesystem::create_directories(opts.path);
  auto eng = test::open_engine(opts);
  const job made = test::create_job(*eng);
  EXPECT_TRUE(eng->get(ref_of(made)).has_value());
  struct stat st {};
  ASSERT_EQ(::stat((opts.path + "/data.mdb").c_str(), &st), 0);
  EXPECT_LT(static_cast<std::uint64_t>(st.st_blocks) * 512, one_mib)
      << "the failed reservation kept its blocks";
  // The room is there for the jobs themselves.
  for (int n = 0; n < 40; ++n) {
    auto r = eng->create(big_request(n));  // 2.5 MiB in all
    ASSERT_TRUE(r.has_value()) << n << ": " << r.error().message();
  }
}

INSTANTIATE_TEST_SUITE_P(WriteMapOnAndOff, EngineDiskFull, testing::Bool(),
                         [](const testing::TestParamInfo<bool>& i) {
                           return i.param ? "write_map" : "pwrite";
                         });

}  // namespace
}  // namespace jobstate
