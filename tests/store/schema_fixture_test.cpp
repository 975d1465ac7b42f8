// The on-disk format stays readable: a database that an earlier build wrote
// (tests/store/fixtures/schema-1, see its README.md) is migrated to this
// build's schema when an engine opens it (unless another process has it
// open), and answers exactly what that build answered; a migration that
// fails changes nothing; the check reads both versions.
#include <jobstate/check.hpp>
#include <jobstate/jobstate.hpp>
#include <jobstate/json.hpp>

#include "store/meta.hpp"
#include "support/jobs.hpp"
#include "support/raw_db.hpp"
#include "support/temp_dir.hpp"
#include "support/waits.hpp"
#include "support/writer_process.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

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
  const fs::path& dir() const { return path_; }

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

TEST_F(SchemaFixture, MigratedPendingJobsAreClaimableOldestFirst) {
  options o;
  o.path = path();
  auto e = engine::open(o);
  ASSERT_TRUE(e.has_value()) << e.error().message();
  // The fixture's pending jobs that are not batch parents, per tenancy, in
  // id (creation) order: what claims take, one by one.
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> want;
  std::set<std::string> kinds;
  for (const boost::json::value& v : expected_jobs()) {
    const auto& w = v.as_object();
    if (!w.contains("status") || w.at("status") != "pending" ||
        w.at("is_batch").as_bool()) {
      continue;
    }
    want[{std::string(w.at("account_id").as_string()),
          std::string(w.at("project_id").as_string())}]
        .push_back(std::string(w.at("id").as_string()));
    kinds.insert(std::string(w.at("kind").as_string()));
  }
  ASSERT_FALSE(want.empty());
  for (auto& [scope, ids] : want) {
    std::sort(ids.begin(), ids.end());
    claim_request r;
    r.account_id = scope.first;
    r.project_id = scope.second;
    r.kinds.assign(kinds.begin(), kinds.end());
    r.worker_id = "after-migration";
    for (const std::string& id : ids) {
      auto claimed = (*e)->claim(r);
      ASSERT_TRUE(claimed.has_value()) << claimed.error().message();
      ASSERT_TRUE(claimed->has_value()) << "job " << id << " is not claimable";
      EXPECT_EQ((*claimed)->id.to_string(), id);
    }
    auto none = (*e)->claim(r);
    ASSERT_TRUE(none.has_value());
    EXPECT_FALSE(none->has_value());
  }
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

std::uint64_t stored_schema(const fs::path& dir) {
  test::raw_db raw(dir);
  auto v = raw.get(store::table::meta, store::meta_schema_key);
  if (!v) return 0;
  return store::keys::sequence_at(*v);
}

// The ids of the fixture's live jobs (jobs.json's entries with a status).
std::vector<job_id> live_ids() {
  std::vector<job_id> ids;
  for (const boost::json::value& want : expected_jobs()) {
    if (want.as_object().contains("status")) {
      ids.push_back(*job_id::parse(want.at("id").as_string()));
    }
  }
  return ids;
}

job raw_v1_job(const test::raw_db& raw, const job_id& id) {
  auto v = raw.get(store::table::jobs, store::keys::id(id));
  if (!v) throw std::runtime_error("no record for " + id.to_string());
  auto j = store::decode_job_v1(*v);
  if (!j) throw std::runtime_error(j.error().message());
  return std::move(*j);
}

TEST_F(SchemaFixture, TheCheckReadsItBeforeAndAfterTheMigration) {
  ASSERT_EQ(stored_schema(dir()), 1u);
  auto before = check_database(path());
  ASSERT_TRUE(before.has_value()) << before.error().message();
  EXPECT_TRUE(before->ok());
  EXPECT_EQ(before->jobs, 11u);
  EXPECT_EQ(stored_schema(dir()), 1u);  // The check writes nothing.
  {
    options o;
    o.path = path();
    auto e = engine::open(o);
    ASSERT_TRUE(e.has_value()) << e.error().message();
  }
  EXPECT_EQ(stored_schema(dir()), store::schema_version);
  auto after = check_database(path());
  ASSERT_TRUE(after.has_value()) << after.error().message();
  EXPECT_TRUE(after->ok());
  EXPECT_EQ(after->jobs, 11u);
}

TEST_F(SchemaFixture, AnotherProcessWithItOpenPostponesTheMigration) {
  const fs::path marker = dir().parent_path() / "attached";
  {
    test::writer_process other(
        {path(), "attach", marker.string(), std::to_string(60'000)});
    ASSERT_TRUE(test::eventually([&] { return fs::exists(marker); }))
        << "the other process never opened the database";
    options o;
    o.path = path();
    auto refused = engine::open(o);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code(), errc::unsupported_version);
    EXPECT_NE(refused.error().message().find("close the other processes"),
              std::string::npos)
        << refused.error().message();
    EXPECT_EQ(stored_schema(dir()), 1u);
  }  // The other process is killed, its environment closed.
  options o;
  o.path = path();
  auto e = engine::open(o);
  ASSERT_TRUE(e.has_value()) << e.error().message();
  EXPECT_EQ((*e)->get(job_ref{"acct", "proj", live_ids().front()}).value().id,
            live_ids().front());
}

TEST_F(SchemaFixture, MigrationPutsEachEventUnderItsOwnKey) {
  std::vector<job> before;
  {
    test::raw_db raw(dir());
    for (const job_id& id : live_ids()) {
      before.push_back(raw_v1_job(raw, id));
    }
  }
  ASSERT_EQ(before.size(), 11u);
  {
    options o;
    o.path = path();
    auto e = engine::open(o);
    ASSERT_TRUE(e.has_value()) << e.error().message();
  }
  test::raw_db raw(dir());
  for (const job& j : before) {
    EXPECT_EQ(raw.read_job(j.id), j) << j.id.to_string();
    EXPECT_FALSE(
        raw.get(store::table::jobs,
                store::keys::history_event(
                    j.id, static_cast<std::uint32_t>(j.history.size()))));
  }
}

TEST_F(SchemaFixture, ADamagedRecordStopsTheMigrationAndChangesNothing) {
  const job_id damaged = live_ids().at(3);
  std::vector<std::pair<job_id, std::string>> records;
  {
    test::raw_db raw(dir());
    auto v = raw.get(store::table::jobs, store::keys::id(damaged));
    ASSERT_TRUE(v.has_value());
    std::string bytes = *v;
    bytes[bytes.size() / 2] ^= 0x20;
    raw.put(store::table::jobs, store::keys::id(damaged), bytes);
    raw.commit();
  }
  {
    test::raw_db raw(dir());
    for (const job_id& id : live_ids()) {
      records.emplace_back(id,
                           *raw.get(store::table::jobs, store::keys::id(id)));
    }
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    options o;
    o.path = path();
    auto e = engine::open(o);
    ASSERT_FALSE(e.has_value());
    EXPECT_EQ(e.error().code(), errc::corrupt);
    EXPECT_NE(e.error().message().find(damaged.to_string()), std::string::npos)
        << e.error().message();
  }
  EXPECT_EQ(stored_schema(dir()), 1u);
  // The check, which reads version 1, names the damaged record alone.
  auto report = check_database(path());
  ASSERT_TRUE(report.has_value()) << report.error().message();
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_EQ(report->problems[0].kind, check_problem_kind::corrupt_record);
  EXPECT_EQ(report->problems[0].job, damaged);
  test::raw_db raw(dir());
  for (const auto& [id, bytes] : records) {
    EXPECT_EQ(raw.get(store::table::jobs, store::keys::id(id)), bytes)
        << id.to_string();
    EXPECT_FALSE(raw.get(store::table::jobs, store::keys::history_event(id, 0)))
        << id.to_string();
  }
}

TEST_F(SchemaFixture, AMigrationThatOutgrowsTheMapGrowsIt) {
  // Schema-1 copies of a running job with 100 events, written raw, fill
  // about half of the fixture's 1 MiB map: both layouts at once need more.
  const job_id model = live_ids().at(1);
  std::vector<job_id> copies;
  {
    test::raw_db raw(dir());
    job j = raw_v1_job(raw, model);
    ASSERT_EQ(j.status, job_status::running);
    while (j.history.size() < 100) {
      history_event e = j.history.back();
      e.step = "progress";
      e.details = boost::json::object{{"note", std::string(20, 'n')}};
      j.history.push_back(std::move(e));
    }
    j.revision = j.history.size();
    for (int i = 0; i < 60; ++i) {
      j.id = job_id::generate();
      raw.put(store::table::jobs, store::keys::id(j.id), store::encode_v1(j));
      copies.push_back(j.id);
    }
    raw.commit();
  }
  ASSERT_LT(fs::file_size(dir() / "data.mdb"), 1u << 20);
  options o;
  o.path = path();
  o.map_size = 1 << 20;
  auto e = engine::open(o);
  ASSERT_TRUE(e.has_value()) << e.error().message();
  EXPECT_GT(fs::file_size(dir() / "data.mdb"), 1u << 20);
  auto read = (*e)->get(job_ref{"acct", "proj", copies.back()});
  ASSERT_TRUE(read.has_value()) << read.error().message();
  EXPECT_EQ(read->history.size(), 100u);
}

}  // namespace
}  // namespace jobstate
