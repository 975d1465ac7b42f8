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

class EngineDiskFull : public testing::TestWithParam<bool> {
 protected:
  // With a writable map the disk fills at a growth, which reserves before
  // it maps: storage_full. Without, LMDB finds it in a page write that came
  // up short, and reports that as EIO: io_error, whose message names free
  // disk space (docs/operations.md).
  static void expect_full(const error& failure) {
    if (GetParam()) {
      EXPECT_EQ(failure.code(), errc::storage_full) << failure.message();
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
  const std::filesystem::path mount_point = dir.sub("fs");
  std::filesystem::create_directories(mount_point);
  if (::mount("jobstate-test", mount_point.c_str(), "tmpfs", 0, "size=8m") !=
      0) {
    const int e = errno;
    GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(e);
  }
  struct unmount_at_end {
    std::string at;
    ~unmount_at_end() { ::umount2(at.c_str(), MNT_DETACH); }
  } unmount{mount_point.string()};
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

INSTANTIATE_TEST_SUITE_P(WriteMapOnAndOff, EngineDiskFull, testing::Bool(),
                         [](const testing::TestParamInfo<bool>& i) {
                           return i.param ? "write_map" : "pwrite";
                         });

}  // namespace
}  // namespace jobstate
