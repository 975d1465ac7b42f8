// Persistence: reopening, opening errors, a full database, and map growth.
#include <jobstate/jobstate.hpp>

#include "support/jobs.hpp"
#include "support/temp_dir.hpp"
#include "support/test_engine.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace jobstate {
namespace {

using test::completion_for;
using test::create_in_status;
using test::create_job;
using test::failed_with;
using test::ids_of;
using test::list_all;
using test::make_query;
using test::make_request;
using test::ok;
using test::ref_of;
using test::temp_dir;
using test::test_engine;
using test::text_of_size;
using test::unchanged;

constexpr std::uint64_t one_mib = std::uint64_t{1} << 20;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A request whose input is a string of `bytes` bytes.
create_request big_request(std::size_t bytes, int n) {
  return make_request(
      "ingest", boost::json::object{{"n", n}, {"blob", text_of_size(bytes)}});
}

TEST(EngineStorage, ReopenPreservesEveryJob) {
  test_engine db([](options& o) { o.durability = durability::full; });
  std::vector<job> made;
  for (job_status s : all_job_statuses) {
    create_request req = make_request("parse");
    req.source_id = "doc-" + std::string(to_string(s));
    req.correlation_id = "trace";
    req.idempotency_key = "key-" + std::string(to_string(s));
    req.details = boost::json::object{{"status", to_string(s)}};
    made.push_back(create_in_status(*db, s, req));
  }
  job progressed = create_in_status(*db, job_status::running);
  progress p{33.0, progress_counts{3, 1, 0, 0, 2},
             boost::json::object{{"k", "v"}}};
  progressed = db->report_progress(ref_of(progressed), p).value();
  job rerun = db->rerun(ref_of(made[2])).value();
  create_request other = make_request();
  other.project_id = "beta";
  job elsewhere = create_job(*db, other);

  const std::vector<job> before = list_all(*db, make_query());
  ASSERT_EQ(before.size(), made.size() + 2);

  db.reopen();

  EXPECT_EQ(list_all(*db, make_query()), before);
  for (const auto& j : before) EXPECT_TRUE(unchanged(*db, j));
  EXPECT_TRUE(unchanged(*db, progressed));
  EXPECT_TRUE(unchanged(*db, rerun));
  EXPECT_TRUE(unchanged(*db, elsewhere));

  // Idempotency keys survive.
  create_request again = make_request("parse");
  again.source_id = "doc-pending";
  again.correlation_id = "trace";
  again.idempotency_key = "key-pending";
  auto dup = db->create(again);
  ASSERT_TRUE(ok(dup));
  EXPECT_FALSE(dup->created);
  EXPECT_EQ(dup->job.id, made[0].id);

  // The state machine carries on where it was.
  auto started = db->start(ref_of(made[0]));
  ASSERT_TRUE(ok(started));
  EXPECT_EQ(started->revision, made[0].revision + 1);
  job newer = create_job(*db);
  for (const auto& j : before) EXPECT_GT(newer.id, j.id);
}

TEST(EngineStorage, ReopenTwiceChangesNothing) {
  test_engine db;
  job j = create_in_status(*db, job_status::partially_succeeded);
  db.reopen();
  db.reopen();
  EXPECT_TRUE(unchanged(*db, j));
}

TEST(EngineStorage, OptionsAreThoseItWasOpenedWith) {
  test_engine db([](options& o) {
    o.limits.max_page_size = 10;
    o.tombstone_retention = std::chrono::seconds(5);
  });
  EXPECT_EQ(db->options().path, db.options().path);
  EXPECT_EQ(db->options().limits.max_page_size, 10u);
  EXPECT_EQ(db->options().tombstone_retention, std::chrono::seconds(5));
  EXPECT_EQ(db->options().durability, durability::no_sync);
  EXPECT_TRUE(failed_with(db->list(make_query(11)), errc::invalid_argument));
  EXPECT_TRUE(ok(db->list(make_query(10))));
}

TEST(EngineStorage, CreatesMissingDirectory) {
  temp_dir dir;
  options opts = test::fast_options(dir.path());
  opts.path = dir.sub("fresh").string();
  ASSERT_FALSE(std::filesystem::exists(opts.path));
  auto e = engine::open(opts);
  ASSERT_TRUE(ok(e));
  EXPECT_TRUE(std::filesystem::is_directory(opts.path));
  EXPECT_TRUE(ok((*e)->create(make_request())));
}

TEST(EngineStorage, EmptyPathIsInvalidArgument) {
  options opts;
  opts.durability = durability::no_sync;
  auto e = engine::open(opts);
  ASSERT_TRUE(failed_with(e, errc::invalid_argument));
  EXPECT_FALSE(e.error().message().empty());
}

TEST(EngineStorage, PathThatIsARegularFileFails) {
  temp_dir dir;
  const auto file = dir.sub("not-a-directory");
  { std::ofstream(file) << "precious"; }
  options opts = test::fast_options(dir.path());
  opts.path = file.string();
  auto e = engine::open(opts);
  ASSERT_FALSE(e.has_value());
  EXPECT_TRUE(e.code() == errc::io_error || e.code() == errc::invalid_argument)
      << e.error().message();
  EXPECT_FALSE(e.error().message().empty());
  EXPECT_EQ(read_file(file), "precious");
  EXPECT_TRUE(std::filesystem::is_regular_file(file));
}

TEST(EngineStorage, PathBelowARegularFileFails) {
  temp_dir dir;
  const auto file = dir.sub("plain");
  { std::ofstream(file) << "x"; }
  options opts = test::fast_options(dir.path());
  opts.path = (file / "db").string();
  auto e = engine::open(opts);
  ASSERT_FALSE(e.has_value());
  EXPECT_TRUE(e.code() == errc::io_error || e.code() == errc::invalid_argument)
      << e.error().message();
  EXPECT_FALSE(e.error().message().empty());
}

// Fills a database whose map cannot grow with 32 KiB jobs, each run to
// completion, until some mutation reports storage_full. Returns the jobs
// that made it (the last may not be terminal).
std::vector<job> fill_until_full(engine& e, int& full_errors) {
  std::vector<job> jobs;
  full_errors = 0;
  for (int i = 0; i < 1000 && full_errors == 0; ++i) {
    const auto count_before = list_all(e, make_query(1000)).size();
    auto created = e.create(big_request(32 << 10, i));
    if (!created) {
      EXPECT_TRUE(failed_with(created, errc::storage_full));
      EXPECT_EQ(list_all(e, make_query(1000)).size(), count_before)
          << "a failed create left a job behind";
      ++full_errors;
      break;
    }
    job j = created->job;
    jobs.push_back(j);
    auto started = e.start(ref_of(j));
    if (!started) {
      EXPECT_TRUE(failed_with(started, errc::storage_full));
      EXPECT_TRUE(unchanged(e, j));
      ++full_errors;
      break;
    }
    jobs.back() = *started;
    auto done = e.complete(ref_of(j), completion_for(job_status::succeeded));
    if (!done) {
      EXPECT_TRUE(failed_with(done, errc::storage_full));
      EXPECT_TRUE(unchanged(e, *started));
      ++full_errors;
      break;
    }
    jobs.back() = *done;
  }
  return jobs;
}

TEST(EngineStorage, StorageFullLeavesDatabaseUsable) {
  test_engine db([](options& o) {
    o.map_size = one_mib;
    o.max_map_size = one_mib;
  });
  int full_errors = 0;
  std::vector<job> jobs = fill_until_full(*db, full_errors);
  ASSERT_EQ(full_errors, 1) << "never reported storage_full";
  ASSERT_GE(jobs.size(), 2u);

  // Reads still work.
  for (const auto& j : jobs) EXPECT_TRUE(unchanged(*db, j));
  EXPECT_EQ(list_all(*db, make_query()).size(), jobs.size());

  // Purge frees space; creates succeed again.
  auto purged = db->purge(purge_request{});
  ASSERT_TRUE(ok(purged));
  EXPECT_GE(purged->purged, jobs.size() - 1);
  for (int i = 0; i < 3; ++i) {
    auto again = db->create(big_request(32 << 10, 1000 + i));
    ASSERT_TRUE(ok(again)) << "create " << i << " after purge";
  }

  // And the database reopens.
  const auto snapshot = list_all(*db, make_query());
  db.reopen();
  EXPECT_EQ(list_all(*db, make_query()), snapshot);
}

// Regression: the pages a purge frees were reusable only after one more
// commit, so the writes right after a purge that made room still failed
// with storage_full (LMDB reuses a page two transactions after the one that
// freed it).
class StorageFullThenPurge : public testing::TestWithParam<durability> {};

TEST_P(StorageFullThenPurge, NextWriteThatFitsSucceeds) {
  test_engine db([](options& o) {
    o.durability = GetParam();
    o.map_size = 4 * one_mib;
    o.max_map_size = 4 * one_mib;
  });
  constexpr std::size_t job_bytes = 100'000;
  int made = 0;
  for (int i = 0; i < 1000; ++i) {
    auto created = db->create(big_request(job_bytes, i));
    if (!created) {
      ASSERT_TRUE(failed_with(created, errc::storage_full));
      break;
    }
    // Cancelling rewrites the record, which may no longer fit either; the
    // job then stays pending (and is not purged).
    auto cancelled = db->cancel(ref_of(created->job), "filling");
    if (!cancelled) {
      ASSERT_TRUE(failed_with(cancelled, errc::storage_full));
      break;
    }
    ++made;
  }
  ASSERT_GE(made, 20) << "the map held too few jobs to test with";
  ASSERT_TRUE(ok(db->create(make_request())));  // A small write still fits.

  auto purged = db->purge(purge_request{std::chrono::seconds(0)});
  ASSERT_TRUE(ok(purged));
  EXPECT_EQ(purged->purged, static_cast<std::uint64_t>(made));
  // Room for `made` jobs was freed: the next ones fit, starting with the
  // very first.
  for (int i = 0; i < made / 2; ++i) {
    ASSERT_TRUE(ok(db->create(big_request(job_bytes, 1000 + i))))
        << "create #" << i << " after the purge";
  }
}

INSTANTIATE_TEST_SUITE_P(EveryDurability, StorageFullThenPurge,
                         testing::Values(durability::full,
                                         durability::no_meta_sync,
                                         durability::no_sync),
                         test::durability_name);

TEST(EngineStorage, CreateAloneFillsDatabaseThenFailsCleanly) {
  test_engine db([](options& o) {
    o.map_size = one_mib;
    o.max_map_size = one_mib;
  });
  std::vector<job> jobs;
  result<created_job> last = errc::invalid_argument;
  for (int i = 0; i < 1000; ++i) {
    last = db->create(big_request(48 << 10, i));
    if (!last) break;
    jobs.push_back(last->job);
  }
  ASSERT_TRUE(failed_with(last, errc::storage_full));
  EXPECT_FALSE(last.error().message().empty());
  ASSERT_FALSE(jobs.empty());
  EXPECT_EQ(ids_of(list_all(*db, make_query())).size(), jobs.size());
  // Failing again changes nothing either.
  EXPECT_TRUE(
      failed_with(db->create(big_request(48 << 10, -1)), errc::storage_full));
  EXPECT_EQ(list_all(*db, make_query()).size(), jobs.size());
  for (const auto& j : jobs) EXPECT_TRUE(unchanged(*db, j));

  db.reopen();
  for (const auto& j : jobs) EXPECT_TRUE(unchanged(*db, j));
}

TEST(EngineStorage, MapGrowsPastItsInitialSize) {
  test_engine db([](options& o) {
    o.map_size = one_mib;
    o.max_map_size = std::uint64_t{64} << 20;
  });
  std::vector<job> jobs;
  for (int i = 0; i < 80; ++i) {  // about 5 MiB of input
    auto r = db->create(big_request(64 << 10, i));
    ASSERT_TRUE(ok(r)) << "create " << i;
    jobs.push_back(r->job);
  }
  EXPECT_GT(db.dir().disk_usage(), one_mib);
  for (const auto& j : jobs) EXPECT_TRUE(unchanged(*db, j));

  db.reopen();  // with the same, smaller initial map size
  for (const auto& j : jobs) EXPECT_TRUE(unchanged(*db, j));
  EXPECT_TRUE(ok(db->create(big_request(64 << 10, 80))));
}

}  // namespace
}  // namespace jobstate
