// Schema 2's history layout (docs/storage.md): each event under its own key
// after the job's record, written once and never rewritten, except the last
// progress event that a report at the history limit replaces; a purge
// removes every event. Checked through raw access to the database after
// writes through the engine.
#include <jobstate/check.hpp>
#include <jobstate/jobstate.hpp>

#include "support/jobs.hpp"
#include "support/raw_db.hpp"
#include "support/test_engine.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace jobstate {
namespace {

using store::table;
using test::create_job;
using test::raw_db;
using test::ref_of;
using test::test_engine;

progress percent(double p) {
  progress out;
  out.percent = p;
  return out;
}

// The stored bytes of job `id`'s record and of its events, in order, as
// far as the events go without a gap.
struct stored_bytes {
  std::uint32_t length = 0;  // Events the record says it has.
  std::vector<std::string> events;
  bool event_after_last = false;  // A key past the last event exists.
};
stored_bytes read_stored(const std::filesystem::path& dir, const job_id& id) {
  raw_db raw(dir);
  stored_bytes out;
  auto record = raw.get(table::jobs, store::keys::id(id));
  if (!record) return out;
  auto decoded = store::decode_record(*record);
  EXPECT_TRUE(decoded.has_value());
  if (!decoded) return out;
  out.length = decoded->history_length;
  for (std::uint32_t n = 0;; ++n) {
    auto e = raw.get(table::jobs, store::keys::history_event(id, n));
    if (!e) break;
    out.events.push_back(std::move(*e));
  }
  out.event_after_last = out.events.size() > out.length;
  return out;
}

std::filesystem::path db_path(test_engine& db) { return db.options().path; }

TEST(HistoryLayout, AWriteAddsItsEventAndLeavesEveryEarlierOneAsItWas) {
  test_engine db;
  const job j = create_job(*db);
  ASSERT_TRUE(db->start(ref_of(j)).has_value());
  for (int i = 1; i <= 20; ++i) {
    ASSERT_TRUE(db->report_progress(ref_of(j), percent(i)).has_value());
  }
  db.close();
  const stored_bytes before = read_stored(db_path(db), j.id);
  ASSERT_EQ(before.length, 22u);
  ASSERT_EQ(before.events.size(), 22u);

  db.reopen();
  ASSERT_TRUE(db->report_progress(ref_of(j), percent(50)).has_value());
  db.close();
  const stored_bytes after = read_stored(db_path(db), j.id);
  EXPECT_EQ(after.length, 23u);
  ASSERT_EQ(after.events.size(), 23u);
  for (std::size_t n = 0; n < before.events.size(); ++n) {
    EXPECT_EQ(after.events[n], before.events[n]) << "event " << n;
  }
  auto last = store::decode_event(after.events.back());
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->step, "progress");

  db.reopen();
  const job read = db->get(ref_of(j)).value();
  ASSERT_EQ(read.history.size(), 23u);
  EXPECT_EQ(read.history.front().step, "created");
  EXPECT_EQ(read.history[1].step, "started");
  EXPECT_EQ(read.revision, 23u);
}

TEST(HistoryLayout, AtTheHistoryLimitAReportReplacesTheLastEventInPlace) {
  test_engine db([](options& o) { o.limits.max_history = 6; });
  const job j = create_job(*db);
  ASSERT_TRUE(db->start(ref_of(j)).has_value());
  for (int i = 1; i <= 12; ++i) {
    ASSERT_TRUE(db->report_progress(ref_of(j), percent(i)).has_value());
  }
  const job full = db->get(ref_of(j)).value();
  // created, started, progress x3; the last slot stays for the end.
  ASSERT_EQ(full.history.size(), 5u);
  EXPECT_EQ(full.progress.percent, 12.0);
  ASSERT_TRUE(
      db->complete(ref_of(j), test::completion_for(job_status::succeeded))
          .has_value());
  const job done = db->get(ref_of(j)).value();
  ASSERT_EQ(done.history.size(), 6u);
  EXPECT_EQ(done.history.back().step, "succeeded");
  db.close();

  const stored_bytes stored = read_stored(db_path(db), j.id);
  EXPECT_EQ(stored.length, 6u);
  ASSERT_EQ(stored.events.size(), 6u);
  EXPECT_FALSE(stored.event_after_last);
  // The replaced event holds the latest report's time.
  auto replaced = store::decode_event(stored.events[4]);
  ASSERT_TRUE(replaced.has_value());
  EXPECT_EQ(*replaced, full.history[4]);
  auto report = check_database(db.options().path);
  ASSERT_TRUE(report.has_value()) << report.error().message();
  EXPECT_TRUE(report->ok());
}

TEST(HistoryLayout, APurgeRemovesTheRecordAndEveryEvent) {
  test_engine db;
  const job j = create_job(*db);
  ASSERT_TRUE(db->start(ref_of(j)).has_value());
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(db->report_progress(ref_of(j), percent(i)).has_value());
  }
  ASSERT_TRUE(db->cancel(ref_of(j), "enough").has_value());
  const job kept = create_job(*db);
  auto purged = db->purge(purge_request{});
  ASSERT_TRUE(purged.has_value()) << purged.error().message();
  EXPECT_EQ(purged->purged, 1u);
  db.close();
  {
    raw_db raw(db_path(db));
    EXPECT_FALSE(raw.get(table::jobs, store::keys::id(j.id)));
    for (std::uint32_t n = 0; n < 9; ++n) {
      EXPECT_FALSE(raw.get(table::jobs, store::keys::history_event(j.id, n)))
          << "event " << n;
    }
    EXPECT_TRUE(raw.get(table::jobs, store::keys::history_event(kept.id, 0)));
  }
  auto report = check_database(db.options().path);
  ASSERT_TRUE(report.has_value()) << report.error().message();
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(report->jobs, 1u);
}

TEST(HistoryLayout, ABatchCancelWritesEachJobsEventsOnce) {
  test_engine db;
  // A batch of children: a cancel of the parent writes each child's event
  // and the parent's in one transaction, after the parent's roll-ups.
  batch_request b;
  b.parent = test::make_request("batch");
  for (int i = 0; i < 3; ++i)
    b.children.push_back(batch_child{"child", nullptr, {}, {}});
  auto made = db->create_batch(b);
  ASSERT_TRUE(made.has_value()) << made.error().message();
  const job_ref first{made->parent.account_id, made->parent.project_id,
                      made->child_ids[0]};
  ASSERT_TRUE(db->start(first).has_value());
  ASSERT_TRUE(db->cancel(ref_of(made->parent), "stop").has_value());
  const job parent = db->get(ref_of(made->parent)).value();
  EXPECT_EQ(parent.status, job_status::cancelled);
  db.close();
  const stored_bytes stored = read_stored(db_path(db), parent.id);
  EXPECT_EQ(stored.length, parent.history.size());
  EXPECT_EQ(stored.events.size(), parent.history.size());
  EXPECT_FALSE(stored.event_after_last);
  auto report = check_database(db.options().path);
  ASSERT_TRUE(report.has_value()) << report.error().message();
  EXPECT_TRUE(report->ok());
}

}  // namespace
}  // namespace jobstate
