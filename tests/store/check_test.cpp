// check_database (<jobstate/check.hpp>) and the jobstate-check command: a
// healthy database passes; each kind of damage, made with raw LMDB writes,
// is reported precisely; the check never writes.
#include <jobstate/check.hpp>
#include <jobstate/jobstate.hpp>

#include "model/time.hpp"
#include "store/keys.hpp"
#include "support/jobs.hpp"
#include "support/raw_db.hpp"
#include "support/test_engine.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <vector>

namespace jobstate {
namespace {

using store::table;
namespace keys = store::keys;
using test::completion_for;
using test::create_in_status;
using test::make_request;
using test::ok;
using test::raw_db;
using test::ref_of;
using test::test_engine;

// A database holding a bit of everything the check looks at.
struct population {
  job pending, running, succeeded, failed, cancelled, rerun, keyed;
  job batch;   // Running: one child running, one succeeded, one pending.
  job leased;  // Claimed, under a lease of an hour.
  std::vector<job_id> children;
};

job_ref child_ref(const job_id& id) {
  return job_ref{std::string(test::account), std::string(test::project), id};
}

population populate(engine& e) {
  population p;
  p.succeeded = create_in_status(e, job_status::succeeded);
  p.pending = create_in_status(e, job_status::pending);
  p.running = create_in_status(e, job_status::running);
  e.report_progress(ref_of(p.running), progress{42.0, {}, nullptr}).value();
  p.failed = create_in_status(e, job_status::failed);
  p.cancelled = create_in_status(e, job_status::cancelled);
  p.rerun = e.rerun(ref_of(p.failed)).value();
  create_request keyed = make_request("keyed");
  keyed.idempotency_key = "key-1";
  p.keyed = e.create(keyed).value().job;
  test::create_job(e, make_request("leased"));
  claim_request claim;
  claim.account_id = std::string(test::account);
  claim.project_id = std::string(test::project);
  claim.kinds = {"leased"};
  claim.worker_id = "w1";
  claim.lease_ttl = std::chrono::hours(1);
  p.leased = e.claim(claim).value().value();

  batch_request b;
  b.parent = make_request("batch");
  b.parent.idempotency_key = "batch-key";
  for (int i = 0; i < 3; ++i) b.children.push_back({"page", i, {}, {}});
  auto made = e.create_batch(b).value();
  p.children = made.child_ids;
  e.start(child_ref(p.children[0])).value();
  e.start(child_ref(p.children[1])).value();
  e.complete(child_ref(p.children[1]), completion_for(job_status::succeeded))
      .value();
  p.batch = e.get(ref_of(made.parent)).value();

  // A batch all of whose children failed, rerun; and a cancelled batch.
  batch_request done = b;
  done.parent.idempotency_key = "done-key";
  auto finished = e.create_batch(done).value();
  for (const job_id& id : finished.child_ids) {
    e.start(child_ref(id)).value();
    e.complete(child_ref(id), completion_for(job_status::failed)).value();
  }
  e.rerun(ref_of(finished.parent)).value();
  done.parent.idempotency_key = "cancelled-key";
  auto cancelled = e.create_batch(done).value();
  e.start(child_ref(cancelled.child_ids[0])).value();
  e.cancel(ref_of(cancelled.parent), "enough").value();

  // The oldest finished job (p.succeeded) purged: a tombstone.
  EXPECT_EQ(e.purge(purge_request{std::chrono::seconds(0), 1}).value().purged,
            1u);
  return p;
}

class CheckDatabase : public ::testing::Test {
 protected:
  void SetUp() override {
    pop_ = populate(*db_);
    db_.close();
  }

  std::string path() { return db_.options().path; }

  check_report check() {
    auto r = check_database(path());
    if (!r) throw jobstate::system_error(r.error());
    return std::move(*r);
  }

  // Passes when `r` lists exactly one problem, of `kind`, in `database`,
  // naming `id` (when given).
  static ::testing::AssertionResult one_problem(const check_report& r,
                                                check_problem_kind kind,
                                                std::string_view database,
                                                std::optional<job_id> id) {
    return problems(r, kind, database, id, 1);
  }

  static ::testing::AssertionResult problems(const check_report& r,
                                             check_problem_kind kind,
                                             std::string_view database,
                                             std::optional<job_id> id,
                                             std::size_t count) {
    std::ostringstream all;
    for (const auto& p : r.problems) all << "\n  " << to_string(p);
    if (r.problems.size() != count) {
      return ::testing::AssertionFailure()
             << r.problems.size() << " problems, expected " << count << ":"
             << all.str();
    }
    for (const check_problem& p : r.problems) {
      if (p.kind != kind || p.database != database || (id && p.job != id)) {
        return ::testing::AssertionFailure()
               << "expected " << to_string(kind) << " in " << database
               << (id ? " naming job " + id->to_string() : "") << "; got"
               << all.str();
      }
    }
    return ::testing::AssertionSuccess() << all.str();
  }

  test_engine db_;
  population pop_;
};

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST_F(CheckDatabase, HealthyDatabasePasses) {
  const check_report r = check();
  EXPECT_TRUE(r.ok()) << (r.problems.empty() ? "" : to_string(r.problems[0]));
  EXPECT_FALSE(r.truncated);
  EXPECT_GE(r.jobs, 20u);
  EXPECT_EQ(r.tombstones, 1u);
  EXPECT_GT(r.index_entries, 3 * r.jobs);
  EXPECT_EQ(r.changes, r.last_sequence);  // Nothing trimmed yet.
  EXPECT_GT(r.last_sequence, r.jobs);
}

TEST_F(CheckDatabase, HealthyAfterPurgingEverythingFinished) {
  // Purged children of a live batch: its counters still count them.
  db_.reopen();
  db_->purge(purge_request{std::chrono::seconds(0), 10000}).value();
  db_.close();
  const check_report r = check();
  EXPECT_TRUE(r.ok()) << (r.problems.empty() ? "" : to_string(r.problems[0]));
  EXPECT_GT(r.tombstones, 10u);
}

TEST_F(CheckDatabase, HealthyAfterTrimmingTheFeed) {
  db_.options().feed_retention_count = 5;
  db_.reopen();
  for (int i = 0; i < 3; ++i) test::create_job(*db_);
  db_.close();
  const check_report r = check();
  EXPECT_TRUE(r.ok()) << (r.problems.empty() ? "" : to_string(r.problems[0]));
  EXPECT_LT(r.changes, r.last_sequence);
}

TEST_F(CheckDatabase, CorruptRecordBytesNameTheJob) {
  {
    raw_db raw(path());
    std::string bytes = *raw.get(table::jobs, keys::id(pop_.running.id));
    bytes[bytes.size() / 2] ^= 0x20;
    raw.put(table::jobs, keys::id(pop_.running.id), bytes);
    raw.commit();
  }
  const check_report r = check();
  ASSERT_FALSE(r.problems.empty());
  EXPECT_TRUE(one_problem(r, check_problem_kind::corrupt_record, "jobs",
                          pop_.running.id));
  EXPECT_NE(r.problems[0].detail.find("checksum"), std::string::npos)
      << r.problems[0].detail;
}

TEST_F(CheckDatabase, TruncatedRecordIsCorrupt) {
  {
    raw_db raw(path());
    std::string bytes = *raw.get(table::jobs, keys::id(pop_.keyed.id));
    raw.put(table::jobs, keys::id(pop_.keyed.id), bytes.substr(0, 7));
    raw.commit();
  }
  EXPECT_TRUE(one_problem(check(), check_problem_kind::corrupt_record, "jobs",
                          pop_.keyed.id));
}

TEST_F(CheckDatabase, RecordUnderAnotherJobsKey) {
  {
    raw_db raw(path());
    job other = raw.read_job(pop_.pending.id);
    raw.put(table::jobs, keys::id(pop_.running.id),
            store::encode_record(
                other, static_cast<std::uint32_t>(other.history.size())));
    raw.commit();
  }
  const check_report r = check();
  ASSERT_FALSE(r.problems.empty());
  EXPECT_EQ(r.problems[0].kind, check_problem_kind::corrupt_record);
  EXPECT_EQ(r.problems[0].job, pop_.running.id);
}

TEST_F(CheckDatabase, MissingHistoryEventIsReported) {
  {
    raw_db raw(path());
    raw.del(table::jobs, keys::history_event(pop_.running.id, 1));
    raw.commit();
  }
  const check_report r = check();
  ASSERT_TRUE(one_problem(r, check_problem_kind::corrupt_record, "jobs",
                          pop_.running.id));
  EXPECT_EQ(r.problems[0].detail, "history event 1 is missing");
}

TEST_F(CheckDatabase, ARecordMissingEventsIsStillHeldToTheRulesWithoutThem) {
  {
    raw_db raw(path());
    job running = raw.read_job(pop_.running.id);
    running.attempt = 0;
    raw.write_job(running);
    raw.del(table::jobs, keys::history_event(pop_.running.id, 1));
    raw.commit();
  }
  const check_report r = check();
  std::ostringstream all;
  for (const auto& p : r.problems) all << "\n  " << to_string(p);
  ASSERT_EQ(r.problems.size(), 2u) << all.str();
  EXPECT_EQ(r.problems[0].kind, check_problem_kind::corrupt_record);
  EXPECT_EQ(r.problems[0].detail, "history event 1 is missing");
  EXPECT_EQ(r.problems[1].kind, check_problem_kind::inconsistent_job);
  EXPECT_EQ(r.problems[1].detail, "attempt 0 (a job starts at 1)");
}

TEST_F(CheckDatabase, DamagedHistoryEventIsReported) {
  {
    raw_db raw(path());
    const std::string key = keys::history_event(pop_.running.id, 2);
    std::string bytes = *raw.get(table::jobs, key);
    bytes[bytes.size() / 2] ^= 0x01;
    raw.put(table::jobs, key, bytes);
    raw.commit();
  }
  const check_report r = check();
  ASSERT_TRUE(one_problem(r, check_problem_kind::corrupt_record, "jobs",
                          pop_.running.id));
  EXPECT_NE(r.problems[0].detail.find("history event 2 does not decode"),
            std::string::npos)
      << r.problems[0].detail;
}

TEST_F(CheckDatabase, ARecordClaimingBillionsOfEventsIsReportedNotBelieved) {
  {
    raw_db raw(path());
    const job pending = raw.read_job(pop_.pending.id);
    raw.put(table::jobs, keys::id(pending.id),
            store::encode_record(pending, 0xfffffff0u));
    raw.commit();
  }
  const check_report r = check();
  ASSERT_TRUE(one_problem(r, check_problem_kind::corrupt_record, "jobs",
                          pop_.pending.id));
  EXPECT_EQ(r.problems[0].detail, "history events 1 to 4294967279 are missing");
  // Readers report it too, without reserving room for the claim.
  db_.reopen();
  auto read = db_->get(ref_of(pop_.pending));
  ASSERT_FALSE(read.has_value());
  EXPECT_EQ(read.error().code(), errc::corrupt);
  EXPECT_TRUE(ok(db_->get(ref_of(pop_.pending), read_options{false})));
}

TEST_F(CheckDatabase, StrayHistoryEventsAreReported) {
  const job_id nobody = job_id::generate();
  {
    raw_db raw(path());
    const job running = raw.read_job(pop_.running.id);
    const auto length = static_cast<std::uint32_t>(running.history.size());
    raw.put(table::jobs, keys::history_event(pop_.running.id, length),
            store::encode(running.history.back()));
    raw.put(table::jobs, keys::history_event(nobody, 0),
            store::encode(running.history.front()));
    raw.commit();
  }
  const check_report r = check();
  ASSERT_EQ(r.problems.size(), 2u);
  for (const check_problem& p : r.problems) {
    EXPECT_EQ(p.kind, check_problem_kind::corrupt_record);
    EXPECT_NE(p.detail.find("is stray"), std::string::npos) << p.detail;
  }
  EXPECT_EQ(std::count_if(r.problems.begin(), r.problems.end(),
                          [&](const check_problem& p) {
                            return p.job == pop_.running.id;
                          }) +
                std::count_if(
                    r.problems.begin(), r.problems.end(),
                    [&](const check_problem& p) { return p.job == nobody; }),
            2);
}

TEST_F(CheckDatabase, AJobsEventsWithoutItsRecordAreOneProblem) {
  {
    raw_db raw(path());
    const job running = raw.read_job(pop_.running.id);
    raw.del(table::jobs, keys::id(pop_.running.id));
    raw.commit();
    EXPECT_EQ(running.history.size(), 3u);
  }
  const check_report r = check();
  const auto about_events =
      std::count_if(r.problems.begin(), r.problems.end(), [&](const auto& p) {
        return p.job == pop_.running.id &&
               p.detail.find("history event") != std::string::npos;
      });
  EXPECT_EQ(about_events, 1);
  const auto it =
      std::find_if(r.problems.begin(), r.problems.end(), [&](const auto& p) {
        return p.job == pop_.running.id &&
               p.detail.find("history event") != std::string::npos;
      });
  ASSERT_NE(it, r.problems.end());
  EXPECT_EQ(it->detail,
            "3 history events (from event 0) are stray: the job has no record");
}

TEST_F(CheckDatabase, MissingIndexEntryIsReported) {
  {
    raw_db raw(path());
    raw.del(table::by_status,
            keys::by_status(keys::scope(test::account, test::project),
                            job_status::running, pop_.running.id));
    raw.commit();
  }
  const check_report r = check();
  EXPECT_TRUE(one_problem(r, check_problem_kind::missing_index_entry,
                          "idx_status", pop_.running.id));
}

TEST_F(CheckDatabase, LeaseAndClaimEntriesAreRequired) {
  const auto scope = keys::scope(test::account, test::project);
  {
    raw_db raw(path());
    raw.del(table::by_lease_expiry,
            keys::by_time(pop_.leased.lease->expires_at, pop_.leased.id));
    raw.del(table::by_claimable,
            keys::by_claimable(scope, pop_.pending.kind,
                               pop_.pending.created_at, pop_.pending.id));
    raw.commit();
  }
  check_report r = check();
  ASSERT_EQ(r.problems.size(), 2u);
  for (const auto& p : r.problems) {
    EXPECT_EQ(p.kind, check_problem_kind::missing_index_entry);
  }
  EXPECT_EQ(r.problems[0].database == "idx_claimable" ? r.problems[1].database
                                                      : r.problems[0].database,
            "idx_lease_expiry");
  {
    raw_db raw(path());
    raw.put(table::by_lease_expiry,
            keys::by_time(pop_.leased.lease->expires_at, pop_.leased.id), {});
    raw.put(table::by_claimable,
            keys::by_claimable(scope, pop_.pending.kind,
                               pop_.pending.created_at, pop_.pending.id),
            {});
    // A finished job still listed as claimable, and under a lease.
    raw.put(table::by_claimable,
            keys::by_claimable(scope, pop_.failed.kind, pop_.failed.created_at,
                               pop_.failed.id),
            {});
    raw.put(table::by_lease_expiry, keys::by_time(model::now(), pop_.failed.id),
            {});
    raw.commit();
  }
  r = check();
  ASSERT_EQ(r.problems.size(), 2u);
  for (const auto& p : r.problems) {
    EXPECT_EQ(p.kind, check_problem_kind::stale_index_entry);
    EXPECT_EQ(p.job, pop_.failed.id);
  }
}

TEST_F(CheckDatabase, EveryIndexEntryIsRequired) {
  // Each of the batch child's entries, removed in turn.
  raw_db probe(path());
  const job child = probe.read_job(pop_.children[1]);
  probe.commit();
  const auto entries = store::index_entries(child);
  ASSERT_EQ(entries.size(), 6u);  // scope, status, kind, parent x2, completed
  for (const store::index_entry& e : entries) {
    {
      raw_db raw(path());
      raw.del(e.index, e.key);
      raw.commit();
    }
    const check_report r = check();
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].kind, check_problem_kind::missing_index_entry);
    EXPECT_EQ(r.problems[0].job, child.id);
    {
      raw_db raw(path());
      raw.put(e.index, e.key, {});
      raw.commit();
    }
    EXPECT_TRUE(check().ok());
  }
}

TEST_F(CheckDatabase, EntryUnderTheWrongStatusIsMissingAndStale) {
  // As if an update had forgotten to move the job's status entry: as many
  // entries as expected, one missing and one stale.
  {
    raw_db raw(path());
    const auto scope = keys::scope(test::account, test::project);
    raw.del(table::by_status,
            keys::by_status(scope, job_status::running, pop_.running.id));
    raw.put(table::by_status,
            keys::by_status(scope, job_status::pending, pop_.running.id), {});
    raw.commit();
  }
  const check_report r = check();
  ASSERT_EQ(r.problems.size(), 2u);
  EXPECT_EQ(r.problems[0].kind, check_problem_kind::missing_index_entry);
  EXPECT_EQ(r.problems[1].kind, check_problem_kind::stale_index_entry);
  for (const auto& p : r.problems) {
    EXPECT_EQ(p.database, "idx_status");
    EXPECT_EQ(p.job, pop_.running.id);
  }
}

TEST_F(CheckDatabase, StaleIndexEntryIsReported) {
  {
    raw_db raw(path());
    // The running job also listed as succeeded.
    raw.put(table::by_status,
            keys::by_status(keys::scope(test::account, test::project),
                            job_status::succeeded, pop_.running.id),
            {});
    // And an entry for a job that does not exist.
    raw.put(table::by_kind,
            keys::by_kind(keys::scope(test::account, test::project), "ghost",
                          job_id::generate()),
            {});
    raw.commit();
  }
  const check_report r = check();
  ASSERT_EQ(r.problems.size(), 2u);
  EXPECT_EQ(r.problems[0].kind, check_problem_kind::stale_index_entry);
  EXPECT_EQ(r.problems[0].database, "idx_status");
  EXPECT_EQ(r.problems[0].job, pop_.running.id);
  EXPECT_EQ(r.problems[1].kind, check_problem_kind::stale_index_entry);
  EXPECT_EQ(r.problems[1].database, "idx_kind");
  EXPECT_NE(r.problems[1].detail.find("no record"), std::string::npos);
}

TEST_F(CheckDatabase, MissingIdempotencyEntryIsReported) {
  {
    raw_db raw(path());
    raw.del(
        table::idempotency,
        keys::idempotency(keys::scope(test::account, test::project), "key-1"));
    raw.commit();
  }
  EXPECT_TRUE(one_problem(check(), check_problem_kind::missing_index_entry,
                          "idx_idempotency", pop_.keyed.id));
}

TEST_F(CheckDatabase, SkewedBatchCounterIsReported) {
  {
    raw_db raw(path());
    job parent = raw.read_job(pop_.batch.id);
    auto& c = *parent.progress.counts;
    ASSERT_EQ(c.succeeded, 1u);
    // Still adds up to total: only the children tell the lie.
    c.succeeded = 2;
    c.pending -= 1;
    raw.write_job(parent);
    raw.commit();
  }
  EXPECT_TRUE(one_problem(check(), check_problem_kind::batch_counters, "jobs",
                          pop_.batch.id));
}

TEST_F(CheckDatabase, CountersThatDoNotAddUpAreReported) {
  {
    raw_db raw(path());
    job parent = raw.read_job(pop_.batch.id);
    parent.progress.counts->total += 1;
    raw.write_job(parent);
    raw.commit();
  }
  const check_report r = check();
  ASSERT_FALSE(r.problems.empty());
  EXPECT_EQ(r.problems[0].kind, check_problem_kind::inconsistent_job);
  EXPECT_EQ(r.problems[0].job, pop_.batch.id);
}

TEST_F(CheckDatabase, ChildStatusChangedBehindTheBatchIsReported) {
  {
    raw_db raw(path());
    // Child 0 rewritten as failed (record and index entries), without the
    // roll-up into its parent.
    const job before = raw.read_job(pop_.children[0]);
    job after = before;
    after.status = job_status::failed;
    after.completed_at = after.history.back().at;
    after.history.push_back(after.history.back());
    after.history.back().step = "failed";
    after.history.back().status = job_status::failed;
    after.revision += 1;
    for (const auto& e : store::index_entries(before)) raw.del(e.index, e.key);
    for (const auto& e : store::index_entries(after))
      raw.put(e.index, e.key, {});
    raw.write_job(after);
    raw.commit();
  }
  // The change feed also misses the child's change; the batch is what
  // matters here.
  const check_report r = check();
  const auto counters = std::find_if(
      r.problems.begin(), r.problems.end(), [](const check_problem& p) {
        return p.kind == check_problem_kind::batch_counters;
      });
  ASSERT_NE(counters, r.problems.end());
  EXPECT_EQ(counters->job, pop_.batch.id);
  EXPECT_NE(counters->detail.find("failed 1"), std::string::npos)
      << counters->detail;
  for (const auto& p : r.problems) {
    EXPECT_TRUE(p.kind == check_problem_kind::batch_counters ||
                p.kind == check_problem_kind::feed_mismatch)
        << to_string(p);
  }
}

TEST_F(CheckDatabase, RemovedFeedEntryIsAGap) {
  std::uint64_t removed = 0;
  {
    raw_db raw(path());
    removed = 3;
    raw.del(table::changes, keys::sequence(removed));
    raw.commit();
  }
  const check_report r = check();
  ASSERT_TRUE(
      one_problem(r, check_problem_kind::feed_gap, "changes", std::nullopt));
  EXPECT_EQ(r.problems[0].sequence, removed);
}

TEST_F(CheckDatabase, RemovedLatestFeedEntryIsReported) {
  {
    raw_db raw(path());
    const auto last = keys::sequence_at(*raw.get(table::meta, "last_sequence"));
    raw.del(table::changes, keys::sequence(last));
    raw.commit();
  }
  const check_report r = check();
  ASSERT_FALSE(r.problems.empty());
  EXPECT_EQ(r.problems[0].kind, check_problem_kind::feed_gap);
}

TEST_F(CheckDatabase, RevisionWithoutAChangeIsAMismatch) {
  {
    raw_db raw(path());
    job j = raw.read_job(pop_.running.id);
    j.revision += 1;
    raw.write_job(j);
    raw.commit();
  }
  EXPECT_TRUE(one_problem(check(), check_problem_kind::feed_mismatch, "changes",
                          pop_.running.id));
}

TEST_F(CheckDatabase, StatusAgainstHistoryIsChecked) {
  {
    raw_db raw(path());
    job j = raw.read_job(pop_.pending.id);
    j.status = job_status::running;  // History says pending; no started_at.
    for (const auto& e : store::index_entries(raw.read_job(pop_.pending.id))) {
      raw.del(e.index, e.key);
    }
    for (const auto& e : store::index_entries(j)) raw.put(e.index, e.key, {});
    raw.write_job(j);
    raw.commit();
  }
  const check_report r = check();
  ASSERT_FALSE(r.problems.empty());
  for (const auto& p : r.problems) {
    if (p.kind == check_problem_kind::feed_mismatch) continue;
    EXPECT_EQ(p.kind, check_problem_kind::inconsistent_job) << to_string(p);
    EXPECT_EQ(p.job, pop_.pending.id);
  }
}

TEST_F(CheckDatabase, IllegalHistoryIsReported) {
  {
    raw_db raw(path());
    job j = raw.read_job(pop_.cancelled.id);
    // cancelled → running → cancelled: an illegal move in the middle.
    history_event back = j.history.back();
    history_event run = back;
    run.step = "started";
    run.status = job_status::running;
    j.history.back() = run;
    j.history.push_back(back);
    j.history.insert(j.history.begin() + 1, back);
    j.revision += 2;
    raw.write_job(j);
    raw.commit();
  }
  const check_report r = check();
  bool illegal = false;
  for (const auto& p : r.problems) {
    if (p.kind == check_problem_kind::inconsistent_job &&
        p.detail.find("illegal") != std::string::npos) {
      illegal = p.job == pop_.cancelled.id;
    }
  }
  EXPECT_TRUE(illegal);
}

TEST_F(CheckDatabase, TombstoneShadowingALiveJobIsReported) {
  {
    raw_db raw(path());
    store::tombstone t{pop_.failed.id,           pop_.failed.account_id,
                       pop_.failed.project_id,   job_status::failed,
                       pop_.failed.revision,     std::nullopt,
                       *pop_.failed.completed_at};
    raw.put(table::tombstones, keys::id(t.id), store::encode(t));
    raw.put(table::by_tombstone_age, keys::by_time(t.purged_at, t.id), {});
    raw.commit();
  }
  EXPECT_TRUE(one_problem(check(), check_problem_kind::bad_tombstone,
                          "tombstones", pop_.failed.id));
}

TEST_F(CheckDatabase, TombstoneWithoutItsAgeEntryIsReported) {
  {
    raw_db raw(path());
    const store::tombstone t = *store::decode_tombstone(
        *raw.get(table::tombstones, keys::id(pop_.succeeded.id)));
    raw.del(table::by_tombstone_age, keys::by_time(t.purged_at, t.id));
    raw.commit();
  }
  EXPECT_TRUE(one_problem(check(), check_problem_kind::missing_index_entry,
                          "idx_tombstone_age", pop_.succeeded.id));
}

TEST_F(CheckDatabase, ListsAtMostMaxProblems) {
  {
    raw_db raw(path());
    for (int i = 0; i < 5; ++i) {
      raw.put(table::by_scope,
              keys::by_scope(keys::scope(test::account, test::project),
                             job_id::generate()),
              {});
    }
    raw.commit();
  }
  check_options opts;
  opts.max_problems = 3;
  auto r = check_database(path(), opts);
  ASSERT_TRUE(ok(r));
  EXPECT_EQ(r->problems.size(), 3u);
  EXPECT_TRUE(r->truncated);
  EXPECT_FALSE(r->ok());
  opts.max_problems = 0;
  r = check_database(path(), opts);
  ASSERT_TRUE(ok(r));
  EXPECT_TRUE(r->problems.empty());
  EXPECT_TRUE(r->truncated);
  EXPECT_FALSE(r->ok());
}

TEST_F(CheckDatabase, NeverWrites) {
  {
    raw_db raw(path());  // Some damage, so that problems are found too.
    raw.del(table::changes, keys::sequence(2));
    raw.commit();
  }
  const auto data = std::filesystem::path(path()) / "data.mdb";
  const std::string before = read_file(data);
  struct stat st_before {};
  ASSERT_EQ(::stat(data.c_str(), &st_before), 0);
  // Read-only for everyone: a check that tried to write would fail (unless
  // run as root; the bytes and times compared below hold then too).
  std::filesystem::permissions(data, std::filesystem::perms::owner_read |
                                         std::filesystem::perms::group_read |
                                         std::filesystem::perms::others_read);
  const check_report r = check();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(check().problems.size(), r.problems.size());
  struct stat st_after {};
  ASSERT_EQ(::stat(data.c_str(), &st_after), 0);
  EXPECT_EQ(st_after.st_mtim.tv_sec, st_before.st_mtim.tv_sec);
  EXPECT_EQ(st_after.st_mtim.tv_nsec, st_before.st_mtim.tv_nsec);
  EXPECT_EQ(st_after.st_size, st_before.st_size);
  EXPECT_EQ(read_file(data), before);
  std::filesystem::permissions(data, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
}

TEST(CheckDatabaseErrors, MissingDatabaseIsInvalidArgumentAndNothingIsMade) {
  test::temp_dir dir;
  const auto path = dir.sub("nothing-here");
  auto r = check_database(path.string());
  EXPECT_TRUE(test::failed_with(r, errc::invalid_argument));
  EXPECT_FALSE(std::filesystem::exists(path));
  auto empty = check_database(dir.path().string());
  EXPECT_TRUE(test::failed_with(empty, errc::invalid_argument));
  EXPECT_FALSE(std::filesystem::exists(dir.sub("data.mdb")));
}

TEST(CheckDatabaseErrors, ProblemsRenderOnOneLine) {
  const job_id id = job_id::generate();
  const check_problem p{check_problem_kind::missing_index_entry, "idx_status",
                        id, std::nullopt, "no entry"};
  EXPECT_EQ(to_string(p), "missing_index_entry in idx_status: job " +
                              id.to_string() + ": no entry");
}

// ------------------------------------------------------------ the command

#ifdef JOBSTATE_CHECK_TOOL
struct tool_run {
  int status = -1;
  std::string output;
};

tool_run run_tool(const std::string& args) {
  tool_run out;
  const std::string command =
      std::string(JOBSTATE_CHECK_TOOL) + " " + args + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  std::array<char, 4096> buf{};
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), pipe)) {
    out.output.append(buf.data(), n);
  }
  const int status = ::pclose(pipe);
  out.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

TEST_F(CheckDatabase, CommandExitsZeroOnAHealthyDatabase) {
  const tool_run r = run_tool("'" + path() + "'");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find(": ok"), std::string::npos) << r.output;
}

TEST_F(CheckDatabase, CommandListsProblemsAndExitsOne) {
  {
    raw_db raw(path());
    raw.del(table::by_status,
            keys::by_status(keys::scope(test::account, test::project),
                            job_status::pending, pop_.pending.id));
    raw.commit();
  }
  const tool_run r = run_tool("'" + path() + "'");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("missing_index_entry in idx_status: job " +
                          pop_.pending.id.to_string()),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("1 problems"), std::string::npos) << r.output;
}

TEST(CheckCommand, ExitsTwoWhenItCannotCheck) {
  test::temp_dir dir;
  EXPECT_EQ(run_tool("'" + dir.sub("absent").string() + "'").status, 2);
  EXPECT_EQ(run_tool("").status, 2);
  EXPECT_EQ(run_tool("--bogus x").status, 2);
}
#endif

}  // namespace
}  // namespace jobstate
