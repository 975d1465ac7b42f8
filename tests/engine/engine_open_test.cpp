// One engine per database directory per process: a second open of a
// directory this process has open (by whatever path leads to it) fails with
// already_open, and closing releases the directory, whichever thread closes
// or reopens and even when the open failed half-way. The integrity check
// takes part too: it never opens a directory an engine has open here.
#include <jobstate/jobstate.hpp>

#include "store/directory_claim.hpp"
#include "store/job_store.hpp"
#include "support/jobs.hpp"
#include "support/raw_db.hpp"
#include "support/temp_dir.hpp"
#include "support/test_engine.hpp"
#include "support/workers.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <latch>
#include <memory>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <vector>

namespace jobstate {
namespace {

using test::failed_with;
using test::make_request;
using test::ok;
using test::temp_dir;
using test::test_engine;

// fast_options for `path` exactly as given.
options options_at(const std::string& path) {
  options o = test::fast_options("unused");
  o.path = path;
  return o;
}

// Passes when opening `path` fails with already_open, and the engine that
// has it open keeps working.
::testing::AssertionResult refused_beside(engine& open,
                                          const std::string& path) {
  auto second = engine::open(options_at(path));
  if (auto refused = failed_with(second, errc::already_open); !refused) {
    return refused;
  }
  if (second.error().detail().find("open in this process") ==
      std::string::npos) {
    return ::testing::AssertionFailure()
           << "detail does not say why: " << second.error().message();
  }
  if (auto made = open.create(make_request()); !made) {
    return ::testing::AssertionFailure()
           << "the open engine broke: " << made.error().message();
  }
  return ::testing::AssertionSuccess();
}

TEST(EngineOpen, SamePathTwiceIsAlreadyOpen) {
  test_engine db;
  EXPECT_TRUE(refused_beside(*db, db.options().path));
  // Refused every time, not only the first.
  EXPECT_TRUE(refused_beside(*db, db.options().path));
}

TEST(EngineOpen, ThroughASymlinkIsAlreadyOpen) {
  test_engine db;
  const auto link = db.dir().sub("link");
  std::filesystem::create_directory_symlink(db.options().path, link);
  EXPECT_TRUE(refused_beside(*db, link.string()));
}

TEST(EngineOpen, WithATrailingSlashIsAlreadyOpen) {
  test_engine db;
  EXPECT_TRUE(refused_beside(*db, db.options().path + "/"));
  EXPECT_TRUE(refused_beside(*db, db.options().path + "/."));
}

TEST(EngineOpen, ThroughARelativePathIsAlreadyOpen) {
  test_engine db;
  const auto relative = std::filesystem::relative(
      db.options().path, std::filesystem::current_path());
  ASSERT_TRUE(relative.is_relative()) << relative;
  EXPECT_TRUE(refused_beside(*db, relative.string()));
}

TEST(EngineOpen, TheFirstPathAlsoRefusedWhenOpenedThroughAnother) {
  temp_dir dir;
  const auto real = dir.sub("db");
  const auto link = dir.sub("link");
  std::filesystem::create_directory(real);
  std::filesystem::create_directory_symlink(real, link);
  auto through_link = test::open_engine(options_at(link.string() + "/"));
  EXPECT_TRUE(refused_beside(*through_link, real.string()));
}

TEST(EngineOpen, OtherDirectoriesOpenSideBySide) {
  test_engine a;
  test_engine b;
  EXPECT_TRUE(ok(a->create(make_request())));
  EXPECT_TRUE(ok(b->create(make_request())));
}

TEST(EngineOpen, ReopenAfterCloseWorks) {
  test_engine db;
  const job made = test::create_job(*db);
  db.close();
  auto again = engine::open(db.options());
  ASSERT_TRUE(ok(again));
  EXPECT_TRUE(test::unchanged(**again, made));
  EXPECT_TRUE(refused_beside(**again, db.options().path));
}

TEST(EngineOpen, ReopenOnAnotherThreadAfterCloseOnThisOne) {
  test_engine db;
  const job made = test::create_job(*db);
  db.close();
  std::unique_ptr<engine> opened;
  std::thread([&] { opened = engine::open(db.options()).value(); }).join();
  ASSERT_NE(opened, nullptr);
  EXPECT_TRUE(test::unchanged(*opened, made));
  // Closed on another thread than the one that opened it.
  std::thread([&] { opened.reset(); }).join();
  EXPECT_TRUE(ok(engine::open(db.options())));
}

TEST(EngineOpen, ASchemaThisBuildCannotMigrateIsRefusedAndLeftAlone) {
  test_engine db;
  const job made = test::create_job(*db);
  db.close();
  for (const std::uint64_t version :
       {std::uint64_t{0}, std::uint64_t{store::schema_version + 1}}) {
    {
      test::raw_db raw(db.options().path);
      raw.put(store::table::meta, store::meta_schema_key,
              store::keys::sequence(version));
      raw.commit();
    }
    auto opened = engine::open(db.options());
    ASSERT_FALSE(opened.has_value()) << version;
    EXPECT_EQ(opened.error().code(), errc::unsupported_version) << version;
    EXPECT_NE(opened.error().message().find("schema version " +
                                            std::to_string(version)),
              std::string::npos)
        << opened.error().message();
    test::raw_db raw(db.options().path);
    EXPECT_EQ(store::keys::sequence_at(
                  *raw.get(store::table::meta, store::meta_schema_key)),
              version);
  }
  {
    test::raw_db raw(db.options().path);
    raw.put(store::table::meta, store::meta_schema_key,
            store::keys::sequence(store::schema_version));
    raw.commit();
  }
  db.reopen();
  EXPECT_TRUE(test::unchanged(*db, made));
}

// A database of schema 2 (as its layout is this build's without the
// claimable index) gains the index when opened, and its pending jobs can be
// claimed; a batch parent never is.
TEST(EngineOpen, ASchemaTwoDatabaseGainsItsClaimableIndex) {
  test_engine db;
  const job first = test::create_job(*db);
  batch_request b;
  b.parent = test::make_request("parse");
  b.children = {batch_child{"parse", nullptr, {}, {}}};
  const auto batch = db->create_batch(b).value();
  const job running = test::create_in_status(*db, job_status::running);
  const job child =
      db->get(job_ref{std::string(test::account), std::string(test::project),
                      batch.child_ids[0]})
          .value();
  db.close();
  {
    test::raw_db raw(db.options().path);
    const auto scope = store::keys::scope(test::account, test::project);
    raw.del(
        store::table::by_claimable,
        store::keys::by_claimable(scope, "parse", first.created_at, first.id));
    raw.del(
        store::table::by_claimable,
        store::keys::by_claimable(scope, "parse", child.created_at, child.id));
    raw.put(store::table::meta, store::meta_schema_key,
            store::keys::sequence(2));
    raw.commit();
  }
  db.reopen();
  {
    test::raw_db raw(db.options().path);
    EXPECT_EQ(store::keys::sequence_at(
                  *raw.get(store::table::meta, store::meta_schema_key)),
              store::schema_version);
  }
  const claim_request r = test::claim_of();
  EXPECT_EQ(db->claim(r).value().value().id, first.id);
  EXPECT_EQ(db->claim(r).value().value().id, batch.child_ids[0]);
  EXPECT_FALSE(db->claim(r).value().has_value());
  EXPECT_EQ(db->get(test::ref_of(running)).value().status, job_status::running);
}

// A database of schema 3 keyed idx_claimable by scope, kind and id only:
// opened, its entries are replaced by version 4's (keyed by the time each
// job becomes claimable too), and its jobs are claimed in order.
TEST(EngineOpen, ASchemaThreeDatabaseGetsVersionFoursClaimableKeys) {
  test_engine db;
  const job first = test::create_job(*db);
  const job second = test::create_job(*db);
  const auto scope = store::keys::scope(test::account, test::project);
  db.close();
  {
    test::raw_db raw(db.options().path);
    for (const job& j : {first, second}) {
      raw.del(store::table::by_claimable,
              store::keys::by_claimable(scope, "parse", j.created_at, j.id));
      // Version 3's key: the kind's prefix, then the id.
      raw.put(store::table::by_claimable,
              store::keys::by_kind(scope, "parse", j.id), {});
    }
    raw.put(store::table::meta, store::meta_schema_key,
            store::keys::sequence(3));
    raw.commit();
  }
  db.reopen();
  {
    test::raw_db raw(db.options().path);
    EXPECT_EQ(store::keys::sequence_at(
                  *raw.get(store::table::meta, store::meta_schema_key)),
              store::schema_version);
    for (const job& j : {first, second}) {
      EXPECT_FALSE(raw.get(store::table::by_claimable,
                           store::keys::by_kind(scope, "parse", j.id)))
          << "a version 3 key was left";
      EXPECT_TRUE(raw.get(
          store::table::by_claimable,
          store::keys::by_claimable(scope, "parse", j.created_at, j.id)));
    }
  }
  const claim_request r = test::claim_of();
  EXPECT_EQ(db->claim(r).value().value().id, first.id);
  EXPECT_EQ(db->claim(r).value().value().id, second.id);
  EXPECT_FALSE(db->claim(r).value().has_value());
}

TEST(EngineOpen, OpenThatFailsHalfWayReleasesTheDirectory) {
  test_engine db;
  db.close();
  const std::string magic = std::string(store::meta_magic);
  {
    test::raw_db raw(db.options().path);
    raw.put(store::table::meta, store::meta_magic_key, "not ours");
    raw.commit();
  }
  // Fails after LMDB opened the environment; twice the same way, so the
  // first attempt left no claim behind.
  EXPECT_TRUE(
      failed_with(engine::open(db.options()), errc::unsupported_version));
  EXPECT_TRUE(
      failed_with(engine::open(db.options()), errc::unsupported_version));
  {
    test::raw_db raw(db.options().path);
    raw.put(store::table::meta, store::meta_magic_key, magic);
    raw.commit();
  }
  db.reopen();
  EXPECT_TRUE(refused_beside(*db, db.options().path));
}

TEST(EngineOpen, ConcurrentOpensFromEightThreadsExactlyOneWins) {
  temp_dir dir;
  // Through different spellings of one directory, created by the race.
  const std::string path = dir.sub("db").string();
  const std::vector<std::string> spellings = {
      path, path + "/", path + "/.",
      std::filesystem::relative(path, std::filesystem::current_path())};
  for (int round = 0; round < 5; ++round) {
    constexpr int threads = 8;
    std::latch go(threads);
    std::vector<std::unique_ptr<engine>> winners(threads);
    std::vector<std::error_code> codes(threads);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        go.arrive_and_wait();
        auto e = engine::open(options_at(spellings[t % spellings.size()]));
        if (e) {
          winners[t] = std::move(*e);
        } else {
          codes[t] = e.code();
        }
      });
    }
    for (auto& th : pool) th.join();
    int won = 0;
    for (int t = 0; t < threads; ++t) {
      if (winners[t]) {
        ++won;
        EXPECT_TRUE(ok(winners[t]->create(make_request())));
      } else {
        EXPECT_EQ(codes[t], make_error_code(errc::already_open))
            << codes[t].message();
      }
    }
    EXPECT_EQ(won, 1) << "round " << round;
    // The winner closes: the next round races for the directory again.
  }
}

TEST(EngineOpen, AForkedChildMayOpenWhatItsParentHasOpen) {
  test_engine db;
  // The child claims the directory (as its own engine's open would) without
  // starting threads: only its view of the registry is tested.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto claim =
        store::directory_claim::acquire(db.options().path, "a forked child");
    ::_exit(claim ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // The parent's engine still has it.
  EXPECT_TRUE(refused_beside(*db, db.options().path));
}

TEST(EngineOpen, CheckRefusesADirectoryAnEngineHasOpen) {
  test_engine db;
  test::create_job(*db);
  const auto link = db.dir().sub("link");
  std::filesystem::create_directory_symlink(db.options().path, link);
  EXPECT_TRUE(
      failed_with(check_database(db.options().path), errc::already_open));
  EXPECT_TRUE(failed_with(check_database(link.string()), errc::already_open));
  EXPECT_TRUE(ok(db->create(make_request())));
  db.close();
  auto report = check_database(link.string());
  ASSERT_TRUE(ok(report));
  EXPECT_TRUE(report->ok());
  // The check released the directory.
  db.reopen();
  EXPECT_TRUE(refused_beside(*db, db.options().path));
}

}  // namespace
}  // namespace jobstate
