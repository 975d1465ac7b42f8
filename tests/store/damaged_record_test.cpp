// Records damaged on disk: every read and write path reports `corrupt`
// naming the job (or the feed position), never crashes, and the rest of the
// database keeps working. The damage is made with raw LMDB writes while no
// engine is open.
#include <jobstate/async.hpp>
#include <jobstate/jobstate.hpp>

#include "store/keys.hpp"
#include "support/jobs.hpp"
#include "support/raw_db.hpp"
#include "support/test_engine.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace jobstate {
namespace {

using namespace std::chrono_literals;
using store::table;
namespace keys = store::keys;
using test::completion_for;
using test::create_in_status;
using test::failed_with;
using test::make_query;
using test::ok;
using test::raw_db;
using test::ref_of;
using test::test_engine;

// Passes when `r` failed with corrupt and its detail names `what`.
template <class T>
::testing::AssertionResult corrupt_naming(const result<T>& r,
                                          const std::string& what) {
  if (auto f = failed_with(r, errc::corrupt); !f) return f;
  if (r.error().detail().find(what) == std::string::npos) {
    return ::testing::AssertionFailure()
           << "the detail \"" << r.error().detail() << "\" does not name "
           << what;
  }
  return ::testing::AssertionSuccess();
}

class DamagedRecord : public ::testing::Test {
 protected:
  // Closes the engine, applies `damage` to the raw database, reopens.
  template <class Damage>
  void damage(Damage&& d) {
    db_.close();
    {
      raw_db raw(db_.options().path);
      d(raw);
      raw.commit();
    }
    db_.reopen();
  }

  // Flips one byte in the middle of job `id`'s record.
  void flip_byte_of(const job_id& id) {
    damage([&](raw_db& raw) {
      std::string bytes = *raw.get(table::jobs, keys::id(id));
      bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 1);
      raw.put(table::jobs, keys::id(id), bytes);
    });
  }

  test_engine db_;
};

TEST_F(DamagedRecord, GetReportsCorruptNamingTheJob) {
  const job j = create_in_status(*db_, job_status::running);
  const job other = create_in_status(*db_, job_status::pending);
  flip_byte_of(j.id);
  EXPECT_TRUE(corrupt_naming(db_->get(ref_of(j)), j.id.to_string()));
  // The rest of the database is unaffected.
  EXPECT_TRUE(test::unchanged(*db_, other));
}

TEST_F(DamagedRecord, EveryKindOfDamageIsCorrupt) {
  const job j = create_in_status(*db_, job_status::succeeded);
  const std::string key = keys::id(j.id);
  db_.close();
  std::string original;
  {
    raw_db raw(db_.options().path);
    original = *raw.get(table::jobs, key);
  }
  std::vector<std::string> damaged = {
      "",                                       // Empty.
      original.substr(0, 1),                    // Format byte only.
      original.substr(0, original.size() - 1),  // Checksum cut short.
      original + "x",                           // Trailing garbage.
      std::string(original.size(), '\0'),       // Zeroed page.
      std::string(original.size(), '\xff'),     // Erased flash.
  };
  for (std::size_t i = 0; i < original.size(); i += 7) {
    std::string flipped = original;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x80);
    damaged.push_back(std::move(flipped));
  }
  for (std::size_t n = 0; n < damaged.size(); ++n) {
    SCOPED_TRACE("damage " + std::to_string(n));
    {
      raw_db raw(db_.options().path);
      raw.put(table::jobs, key, damaged[n]);
      raw.commit();
    }
    db_.reopen();
    EXPECT_TRUE(corrupt_naming(db_->get(ref_of(j)), j.id.to_string()));
    EXPECT_TRUE(corrupt_naming(db_->list(make_query()), j.id.to_string()));
    db_.close();
  }
}

TEST_F(DamagedRecord, RecordOfAnotherJobUnderThisKeyIsCorrupt) {
  const job a = create_in_status(*db_, job_status::pending);
  const job b = create_in_status(*db_, job_status::pending);
  damage([&](raw_db& raw) {
    raw.put(table::jobs, keys::id(a.id), *raw.get(table::jobs, keys::id(b.id)));
  });
  EXPECT_TRUE(corrupt_naming(db_->get(ref_of(a)), a.id.to_string()));
}

TEST_F(DamagedRecord, ListReportsCorruptNamingTheJob) {
  const job j = create_in_status(*db_, job_status::pending);
  flip_byte_of(j.id);
  EXPECT_TRUE(corrupt_naming(db_->list(make_query()), j.id.to_string()));
  list_query by_status = make_query();
  by_status.status = job_status::pending;
  EXPECT_TRUE(corrupt_naming(db_->list(by_status), j.id.to_string()));
}

TEST_F(DamagedRecord, BlockingWaitReportsCorruptNamingTheJob) {
  const job j = create_in_status(*db_, job_status::running);
  flip_byte_of(j.id);
  EXPECT_TRUE(
      corrupt_naming(db_->wait(ref_of(j), wait_condition::terminal(), 50ms),
                     j.id.to_string()));
}

TEST_F(DamagedRecord, AsyncWaitReportsCorruptNamingTheJob) {
  const job j = create_in_status(*db_, job_status::running);
  flip_byte_of(j.id);
  boost::asio::io_context io;
  std::optional<result<wait_result>> answer;
  // Bound to `io`: the handler runs here, inside run(), which returns once
  // it has (the wait keeps the io_context's work until then).
  async_wait(
      *db_, ref_of(j), wait_condition::terminal(), 1s,
      boost::asio::bind_executor(io, [&](std::error_code ec, wait_result r) {
        if (ec) {
          answer = result<wait_result>(error(ec));
        } else {
          answer = std::move(r);
        }
      }));
  io.run();
  ASSERT_TRUE(answer.has_value());
  EXPECT_TRUE(failed_with(*answer, errc::corrupt));
}

TEST_F(DamagedRecord, MutationsReportCorruptAndWriteNothing) {
  const job pending = create_in_status(*db_, job_status::pending);
  const job running = create_in_status(*db_, job_status::running);
  flip_byte_of(pending.id);
  flip_byte_of(running.id);
  const auto before = db_->last_sequence().value();
  EXPECT_TRUE(
      corrupt_naming(db_->start(ref_of(pending)), pending.id.to_string()));
  EXPECT_TRUE(corrupt_naming(db_->cancel(ref_of(pending), "no"),
                             pending.id.to_string()));
  EXPECT_TRUE(corrupt_naming(
      db_->complete(ref_of(running), completion_for(job_status::succeeded)),
      running.id.to_string()));
  EXPECT_TRUE(corrupt_naming(
      db_->report_progress(ref_of(running), progress{50.0, {}, nullptr}),
      running.id.to_string()));
  EXPECT_TRUE(
      corrupt_naming(db_->rerun(ref_of(running)), running.id.to_string()));
  EXPECT_EQ(db_->last_sequence().value(), before);
  // Other jobs still work.
  const job fresh = create_in_status(*db_, job_status::succeeded);
  EXPECT_EQ(fresh.status, job_status::succeeded);
}

TEST_F(DamagedRecord, ChildOfADamagedBatchCannotHalfComplete) {
  batch_request b;
  b.parent = test::make_request("batch");
  b.children.push_back({"page", 1, {}, {}});
  b.children.push_back({"page", 2, {}, {}});
  const auto made = db_->create_batch(b).value();
  const job_ref child{std::string(test::account), std::string(test::project),
                      made.child_ids[0]};
  const job started = db_->start(child).value();
  flip_byte_of(made.parent.id);
  // The roll-up into the parent fails, so the child's change is rolled
  // back with it: the child stays running.
  EXPECT_TRUE(corrupt_naming(
      db_->complete(child, completion_for(job_status::succeeded)),
      made.parent.id.to_string()));
  EXPECT_TRUE(test::unchanged(*db_, started));
}

// A record that decodes but breaks the record rules (model/invariants.hpp)
// is never built on: the write path refuses to write its next state.
TEST_F(DamagedRecord, InconsistentRecordIsNotMutated) {
  const job running = create_in_status(*db_, job_status::running);
  damage([&](raw_db& raw) {
    job j = raw.read_job(running.id);
    j.started_at.reset();  // The history says it ran.
    raw.write_job(j);
  });
  const auto before = db_->last_sequence().value();
  EXPECT_TRUE(corrupt_naming(
      db_->complete(ref_of(running), completion_for(job_status::succeeded)),
      running.id.to_string()));
  EXPECT_EQ(db_->last_sequence().value(), before);
  EXPECT_EQ(db_->get(ref_of(running)).value().status, job_status::running);
}

TEST_F(DamagedRecord, DamagedTombstoneIsCorruptNamingTheJob) {
  const job j = create_in_status(*db_, job_status::succeeded);
  ASSERT_EQ(db_->purge(purge_request{0s, 100}).value().purged, 1u);
  EXPECT_TRUE(failed_with(db_->get(ref_of(j)), errc::gone));
  damage([&](raw_db& raw) {
    std::string bytes = *raw.get(table::tombstones, keys::id(j.id));
    bytes[3] = static_cast<char>(bytes[3] ^ 0x10);
    raw.put(table::tombstones, keys::id(j.id), bytes);
  });
  EXPECT_TRUE(corrupt_naming(db_->get(ref_of(j)), j.id.to_string()));
}

TEST_F(DamagedRecord, DamagedChangeIsCorruptNamingItsSequence) {
  create_in_status(*db_, job_status::succeeded);  // Changes 1, 2, 3.
  damage([&](raw_db& raw) {
    std::string bytes = *raw.get(table::changes, keys::sequence(2));
    bytes[bytes.size() - 1] = static_cast<char>(bytes[bytes.size() - 1] ^ 4);
    raw.put(table::changes, keys::sequence(2), bytes);
  });
  EXPECT_TRUE(corrupt_naming(db_->changes(0), "change 2"));
  // Past the damage the feed reads again.
  auto rest = db_->changes(2);
  ASSERT_TRUE(ok(rest));
  ASSERT_EQ(rest->changes.size(), 1u);
  EXPECT_EQ(rest->changes[0].sequence, 3u);
}

}  // namespace
}  // namespace jobstate
