// The writable map's disk reservation (lib/store/map_file.hpp): the whole
// map is reserved before any transaction may write through it, the file is
// never cut below another process's map, and where the reservation cannot
// be made the backend writes with pwrite instead.
#include <jobstate/check.hpp>
#include <jobstate/engine.hpp>
#include <jobstate/options.hpp>

#include "store/lmdb_backend.hpp"
#include "support/file_size_limit.hpp"
#include "support/jobs.hpp"
#include "support/temp_dir.hpp"
#include "support/test_engine.hpp"
#include "support/waits.hpp"
#include "support/writer_process.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <system_error>
#include <vector>

namespace jobstate::store {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t one_mib = std::uint64_t{1} << 20;

class MapReservation : public ::testing::Test {
 protected:
  MapReservation() { std::filesystem::create_directories(options_.path); }

  std::unique_ptr<lmdb_backend> open() const {
    return lmdb_backend::open(options_).value();
  }

  // The data file's length and the disk its blocks take.
  struct file_space {
    std::uint64_t length = 0;
    std::uint64_t allocated = 0;
  };
  file_space data_file() const {
    struct stat st {};
    const std::string path = options_.path + "/data.mdb";
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return {static_cast<std::uint64_t>(st.st_size),
            static_cast<std::uint64_t>(st.st_blocks) * 512};
  }

  test::temp_dir dir_{"map-reservation"};
  options options_ = test::fast_options(dir_.path());
};

TEST_F(MapReservation, AWriteMapIsReservedOnDiskWhole) {
  options_.map_size = 4 * one_mib;
  auto db = open();
  ASSERT_TRUE(db->write_map());
  const file_space f = data_file();
  EXPECT_GE(f.length, 4 * one_mib);
  EXPECT_GE(f.allocated, f.length) << "the map has holes a write could hit";
}

TEST_F(MapReservation, EachGrowthIsReservedBeforeTheMapGrows) {
  options_.map_size = one_mib;
  options_.max_map_size = 16 * one_mib;
  auto db = open();
  ASSERT_TRUE(db->write_map());
  for (int growth = 0; growth < 3; ++growth) {
    auto grew = db->grow();
    ASSERT_TRUE(grew.has_value() && *grew) << "growth " << growth;
    const file_space f = data_file();
    EXPECT_EQ(f.length, db->map_size()) << "growth " << growth;
    EXPECT_GE(f.allocated, f.length) << "growth " << growth;
  }
  ASSERT_TRUE(test::ok(db->grow_beyond_limit(one_mib)));
  EXPECT_GE(data_file().allocated, db->map_size());
}

TEST_F(MapReservation, WithoutAWriteMapTheFileGrowsAsWritten) {
  options_.map_size = 4 * one_mib;
  options_.write_map = false;
  auto db = open();
  EXPECT_FALSE(db->write_map());
  EXPECT_LT(data_file().length, one_mib);
}

TEST_F(MapReservation, AMapThatCannotBeReservedIsWrittenWithPwrite) {
  // The process may write files of 2 MiB at most: a 16 MiB map can be
  // neither extended nor reserved, so the backend opens without it, and
  // writes that fit still commit.
  options_.map_size = 16 * one_mib;
  auto db = [&] {
    test::file_size_limit limit(2 * one_mib);
    return open();
  }();
  EXPECT_FALSE(db->write_map());
  auto w = db->begin_write();
  ASSERT_TRUE(w.has_value());
  ASSERT_TRUE(test::ok((*w)->put(table::jobs, "key", "value")));
  ASSERT_TRUE(test::ok((*w)->commit()));
  auto r = db->begin_read();
  ASSERT_TRUE(r.has_value());
  auto got = (*r)->get(table::jobs, "key");
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ(**got, "value");
}

TEST_F(MapReservation,
       AGrowthPastTheDiskFailsWithStorageFullAndChangesNothing) {
  options_.map_size = one_mib;
  options_.max_map_size = 64 * one_mib;
  auto db = open();
  ASSERT_TRUE(db->write_map());
  {
    test::file_size_limit limit(3 * one_mib);
    auto grew = db->grow();  // to 2 MiB: fits
    ASSERT_TRUE(grew.has_value() && *grew);
    grew = db->grow();  // to 4 MiB: cannot be reserved
    ASSERT_FALSE(grew.has_value());
    EXPECT_EQ(grew.error().code(), errc::storage_full);
    EXPECT_EQ(db->map_size(), 2 * one_mib) << "grew without its reservation";
  }
  auto grew = db->grow();
  ASSERT_TRUE(grew.has_value() && *grew);
  EXPECT_EQ(db->map_size(), 4 * one_mib);
  EXPECT_GE(data_file().allocated, 4 * one_mib);
}

// Another process fills the database (map 1 MiB, growing), with a
// writable map or with pwrite; this one, with a writable map, opens it
// again and again with a 1 MiB map and writes, once the other has grown.
// An open that set the file to its own, smaller map would cut the file
// under the other process's map (its writes past the new end: SIGBUS) or
// under its pwrite commit (pages lost); neither may happen.
class MapReservationAcrossProcesses
    : public ::testing::TestWithParam<const char*> {
 protected:
  void run() {
    test::temp_dir dir("map-reservation");
    options opts = test::fast_options(dir.path());
    opts.map_size = one_mib;
    std::filesystem::create_directories(opts.path);
    const std::string data = opts.path + "/data.mdb";
    // About 12 MB: the other process grows its map four times, and is
    // still writing while this one reopens.
    constexpr int other_jobs = 4000;
    constexpr int reopenings = 40;
    std::vector<std::string> args = {opts.path,
                                     "fill",
                                     std::string(test::account),
                                     std::string(test::project),
                                     std::to_string(other_jobs),
                                     "3000",
                                     std::to_string(one_mib),
                                     test::name_of(opts.durability)};
    if (std::string_view(GetParam()) == "pwrite") args.push_back("pwrite");
    test::writer_process other(args);
    // Begin once the other process has grown its map at least once.
    const auto grown = [&] {
      std::error_code ec;
      return std::filesystem::file_size(data, ec) > 2 * one_mib;
    };
    ASSERT_TRUE(test::eventually(grown, test::hang_guard))
        << "the other process never grew the map";
    for (int i = 0; i < reopenings; ++i) {
      auto eng = engine::open(opts);
      ASSERT_TRUE(eng.has_value())
          << "reopening " << i << ": " << eng.error().message();
      auto made = (*eng)->create(test::make_request(
          "ingest",
          boost::json::object{{"n", i}, {"blob", test::text_of_size(3000)}}));
      ASSERT_TRUE(made.has_value()) << made.error().message();
    }
    const test::writer_output out = other.finish(120s);
    EXPECT_EQ(out.exit_code, 0)
        << "the other process failed or died (SIGBUS is " << SIGBUS << ")";
    EXPECT_EQ(out.ids().size(), static_cast<std::size_t>(other_jobs));
    {
      auto eng = test::open_engine(opts);
      EXPECT_EQ(test::list_all(*eng, test::make_query(1000)).size(),
                static_cast<std::size_t>(other_jobs + reopenings));
    }
    auto report = check_database(opts.path);
    ASSERT_TRUE(report.has_value()) << report.error().message();
    EXPECT_TRUE(report->ok())
        << (report->problems.empty() ? "truncated"
                                     : report->problems.front().detail);
  }
};

TEST_P(MapReservationAcrossProcesses, ReopeningWithASmallMapWhileAnotherGrows) {
  run();
}

INSTANTIATE_TEST_SUITE_P(OtherProcessWrites, MapReservationAcrossProcesses,
                         ::testing::Values("write_map", "pwrite"));

}  // namespace
}  // namespace jobstate::store
