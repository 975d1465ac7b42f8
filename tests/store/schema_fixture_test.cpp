// The on-disk format stays readable: a database that an earlier build wrote
// (tests/store/fixtures/schema-1, see its README.md) opens with this build
// and answers exactly what that build answered.
#include <jobstate/check.hpp>
#include <jobstate/jobstate.hpp>
#include <jobstate/json.hpp>

#include "store/job_store.hpp"
#include "store/keys.hpp"
#include "support/jobs.hpp"
#include "support/raw_db.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#ifndef JOBSTATE_TEST_FIXTURES
#error "JOBSTATE_TEST_FIXTURES must name tests/store/fixtures"
#endif

namespace jobstate {
namespace {

namespace fs = std::filesystem;

const fs::path fixture = fs::path(JOBSTATE_TEST_FIXTURES) / "schema-1";

boost::json::array expected_jobs() {
  std::ifstream in(fixture / "jobs.json");
  const std::string text{std::istreambuf_iterator<char>(in),
                         std::istreambuf_iterator<char>()};
  return boost::json::parse(text).as_array();
}

// A copy of the fixture's database, which opening may change.
class SchemaFixture : public testing::Test {
 protected:
  SchemaFixture() : dir_("schema-fixture"), path_(dir_.path() / "db") {
    fs::create_directories(path_);
    fs::copy_file(fixture / "data.mdb", path_ / "data.mdb");
  }
  std::string path() const { return path_.string(); }

 private:
  test::temp_dir dir_;
  fs::path path_;
};

TEST_F(SchemaFixture, EveryJobReadsBackAsTheWritingBuildAnswered) {
  options o;
  o.path = path();
  auto e = engine::open(o);
  ASSERT_TRUE(e.has_value()) << e.error().message();
  const boost::json::array expected = expected_jobs();
  ASSERT_EQ(expected.size(), 12u);
  for (const boost::json::value& want : expected) {
    const auto& w = want.as_object();
    const auto id = job_id::parse(w.at("id").as_string());
    ASSERT_TRUE(id.has_value());
    const job_ref ref{std::string(w.at("account_id").as_string()),
                      std::string(w.at("project_id").as_string()), *id};
    auto got = (*e)->get(ref);
    if (!w.contains("status")) {  // An answer that was an error.
      ASSERT_FALSE(got.has_value()) << "job " << id->to_string();
      EXPECT_EQ(got.error().message(), w.at("error").as_string());
      continue;
    }
    ASSERT_TRUE(got.has_value()) << got.error().message();
    EXPECT_EQ(to_json(*got), want) << "job " << id->to_string();
  }
  auto last = (*e)->last_sequence();
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(*last, 29u);
  auto feed = (*e)->changes(0);
  ASSERT_TRUE(feed.has_value()) << feed.error().message();
  EXPECT_EQ(feed->changes.size(), 29u);
}

TEST_F(SchemaFixture, TheCheckAsksForAnEngineToMigrateFirst) {
  auto report = check_database(path());
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.code(), errc::unsupported_version);
  EXPECT_NE(report.error().message().find("schema version 1"),
            std::string::npos)
      << report.error().message();
  EXPECT_NE(report.error().message().find("migrates it"), std::string::npos)
      << report.error().message();
}

TEST_F(SchemaFixture, ADamagedRecordStopsTheMigrationAndChangesNothing) {
  const auto id =
      job_id::parse(expected_jobs().at(1).as_object().at("id").as_string());
  ASSERT_TRUE(id.has_value());
  {
    test::raw_db raw(path());
    std::string bytes = *raw.get(&store::databases::jobs, store::keys::id(*id));
    bytes[bytes.size() / 2] ^= 0x20;
    raw.put(&store::databases::jobs, store::keys::id(*id), bytes);
    raw.commit();
  }
  options o;
  o.path = path();
  auto e = engine::open(o);
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.code(), errc::corrupt);
  EXPECT_NE(e.error().message().find(id->to_string()), std::string::npos)
      << e.error().message();
  // Still schema 1, every other record as it was: the check says so.
  auto report = check_database(path());
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.code(), errc::unsupported_version);
}

TEST_F(SchemaFixture, TakesNewWritesAndChecksClean) {
  {
    options o;
    o.path = path();
    auto e = engine::open(o);
    ASSERT_TRUE(e.has_value()) << e.error().message();
    const job made = test::create_job(**e);
    EXPECT_TRUE((*e)->start(test::ref_of(made)).has_value());
    auto last = (*e)->last_sequence();
    ASSERT_TRUE(last.has_value());
    EXPECT_EQ(*last, 31u);
  }
  auto report = check_database(path());
  ASSERT_TRUE(report.has_value()) << report.error().message();
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(report->jobs, 12u);
  EXPECT_EQ(report->tombstones, 1u);
}

}  // namespace
}  // namespace jobstate
