// engine::list: order, filters, limits, cursors, tenancy and paging while
// other threads write.
#include <jobstate/jobstate.hpp>

#include "support/jobs.hpp"
#include "support/test_engine.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace jobstate {
namespace {

using test::create_in_status;
using test::create_job;
using test::failed_with;
using test::ids_of;
using test::list_all;
using test::make_query;
using test::make_request;
using test::ok;
using test::ref_of;
using test::test_engine;

// Ids of `jobs`, newest first.
std::vector<job_id> newest_first(const std::vector<job>& jobs) {
  std::vector<job_id> ids = ids_of(jobs);
  std::sort(ids.rbegin(), ids.rend());
  return ids;
}

TEST(EngineList, EmptyProjectHasOneEmptyPage) {
  test_engine db;
  auto page = db->list(make_query());
  ASSERT_TRUE(ok(page));
  EXPECT_TRUE(page->jobs.empty());
  EXPECT_TRUE(page->next_cursor.empty());
}

TEST(EngineList, NewestFirst) {
  test_engine db;
  std::vector<job> made;
  for (int i = 0; i < 5; ++i) made.push_back(create_job(*db));
  auto page = db->list(make_query());
  ASSERT_TRUE(ok(page));
  EXPECT_TRUE(page->next_cursor.empty());
  ASSERT_EQ(page->jobs.size(), 5u);
  for (std::size_t i = 0; i < made.size(); ++i) {
    EXPECT_EQ(page->jobs[i], made[made.size() - 1 - i]) << i;
  }
}

TEST(EngineList, OldestFirstPagesForwardInCreationOrder) {
  test_engine db;
  std::vector<job> made;
  for (int i = 0; i < 11; ++i) made.push_back(create_job(*db));
  for (std::size_t limit : {1u, 3u, 11u, 12u}) {
    SCOPED_TRACE(limit);
    list_query q = make_query(limit);
    q.order = list_order::oldest_first;
    EXPECT_EQ(ids_of(list_all(*db, q)), ids_of(made));
  }
  // A job created between pages sorts after every job listed so far: it
  // comes on a later page, and nothing repeats or is skipped.
  list_query q = make_query(4);
  q.order = list_order::oldest_first;
  auto first = db->list(q).value();
  made.push_back(create_job(*db));
  q.cursor = first.next_cursor;
  std::vector<job_id> seen = ids_of(first.jobs);
  for (const job_id& id : ids_of(list_all(*db, q))) seen.push_back(id);
  EXPECT_EQ(seen, ids_of(made));
}

TEST(EngineList, OldestFirstListsABatchsChildrenAsGiven) {
  test_engine db;
  batch_request request;
  request.parent = make_request("batch");
  for (int i = 0; i < 9; ++i) request.children.push_back({"parse", {}, {}, {}});
  const created_batch batch = db->create_batch(request).value();
  list_query q = make_query(4);
  q.parent_id = batch.parent.id;
  q.order = list_order::oldest_first;
  EXPECT_EQ(ids_of(list_all(*db, q)), batch.child_ids);
  // Through the parent and status index too.
  q.status = job_status::pending;
  EXPECT_EQ(ids_of(list_all(*db, q)), batch.child_ids);
}

TEST(EngineList, ListedJobsAreCurrentSnapshots) {
  test_engine db;
  job a = create_in_status(*db, job_status::failed);
  job b = create_in_status(*db, job_status::running);
  auto listed = list_all(*db, make_query());
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0], b);
  EXPECT_EQ(listed[1], a);
}

TEST(EngineList, OtherTenanciesNeverAppear) {
  test_engine db;
  std::vector<job> mine;
  for (int i = 0; i < 3; ++i) {
    mine.push_back(create_job(*db));
    create_request other_project = make_request();
    other_project.project_id = "beta";
    create_job(*db, other_project);
    create_request other_account = make_request();
    other_account.account_id = "globex";
    create_job(*db, other_account);
    create_request prefix_project = make_request();
    prefix_project.project_id = std::string(test::project) + "x";
    create_job(*db, prefix_project);
  }
  for (std::size_t limit : {1u, 2u, 50u}) {
    auto listed = list_all(*db, make_query(limit));
    EXPECT_EQ(ids_of(listed), newest_first(mine)) << "limit " << limit;
    for (const auto& j : listed) {
      EXPECT_EQ(j.account_id, test::account);
      EXPECT_EQ(j.project_id, test::project);
    }
  }
  list_query beta = make_query();
  beta.project_id = "beta";
  EXPECT_EQ(list_all(*db, beta).size(), 3u);
}

TEST(EngineList, FiltersByStatus) {
  test_engine db;
  std::map<job_status, std::vector<job>> by_status;
  for (int round = 0; round < 2; ++round) {
    for (job_status s : all_job_statuses) {
      by_status[s].push_back(create_in_status(*db, s));
    }
  }
  for (job_status s : all_job_statuses) {
    SCOPED_TRACE(std::string(to_string(s)));
    list_query q = make_query();
    q.status = s;
    auto listed = list_all(*db, q);
    EXPECT_EQ(ids_of(listed), newest_first(by_status[s]));
    for (const auto& j : listed) EXPECT_EQ(j.status, s);
  }
}

TEST(EngineList, StatusFilterFollowsTransitions) {
  test_engine db;
  job j = create_job(*db);
  list_query pending_q = make_query();
  pending_q.status = job_status::pending;
  list_query running_q = make_query();
  running_q.status = job_status::running;
  EXPECT_EQ(list_all(*db, pending_q).size(), 1u);
  ASSERT_TRUE(ok(db->start(ref_of(j))));
  EXPECT_TRUE(list_all(*db, pending_q).empty());
  EXPECT_EQ(ids_of(list_all(*db, running_q)), std::vector<job_id>{j.id});
}

TEST(EngineList, FiltersByKind) {
  test_engine db;
  job p1 = create_job(*db, make_request("parse"));
  job o1 = create_job(*db, make_request("ocr"));
  job p2 = create_job(*db, make_request("parse"));
  create_job(*db, make_request("parse/v2"));
  list_query q = make_query();
  q.kind = "parse";
  EXPECT_EQ(ids_of(list_all(*db, q)), (std::vector<job_id>{p2.id, p1.id}));
  q.kind = "ocr";
  EXPECT_EQ(ids_of(list_all(*db, q)), (std::vector<job_id>{o1.id}));
  q.kind = "translate";
  EXPECT_TRUE(list_all(*db, q).empty());
}

TEST(EngineList, FiltersByParentId) {
  test_engine db;
  batch_request request;
  request.parent = make_request("batch");
  request.children = {{"parse", boost::json::object{{"n", 1}}, {}, {}},
                      {"ocr", boost::json::object{{"n", 2}}, {}, {}},
                      {"parse", boost::json::object{{"n", 3}}, {}, {}}};
  created_batch batch = db->create_batch(request).value();
  ASSERT_EQ(batch.child_ids.size(), 3u);
  created_batch other = db->create_batch(request).value();
  create_job(*db);

  std::vector<job_id> children = batch.child_ids;
  std::sort(children.rbegin(), children.rend());  // newest first
  list_query q = make_query(2);
  q.parent_id = batch.parent.id;
  auto listed = list_all(*db, q);
  EXPECT_EQ(ids_of(listed), children);
  for (const auto& j : listed) EXPECT_EQ(j.parent_id, batch.parent.id);

  q.kind = "ocr";
  EXPECT_EQ(ids_of(list_all(*db, q)), std::vector<job_id>{batch.child_ids[1]});

  // The same parent id asked in another project matches nothing.
  list_query elsewhere = make_query();
  elsewhere.project_id = "beta";
  elsewhere.parent_id = batch.parent.id;
  EXPECT_TRUE(list_all(*db, elsewhere).empty());

  q = make_query();
  q.parent_id = job_id::generate();
  EXPECT_TRUE(list_all(*db, q).empty());
  q.parent_id = other.child_ids[0];  // a job without children
  EXPECT_TRUE(list_all(*db, q).empty());
}

TEST(EngineList, FiltersCombineWithAnd) {
  test_engine db;
  job parse_failed =
      create_in_status(*db, job_status::failed, make_request("parse"));
  job ocr_failed =
      create_in_status(*db, job_status::failed, make_request("ocr"));
  create_in_status(*db, job_status::succeeded, make_request("parse"));
  job parse_rerun = db->rerun(ref_of(parse_failed)).value();
  job ocr_rerun = db->rerun(ref_of(ocr_failed)).value();
  ASSERT_TRUE(ok(db->start(ref_of(ocr_rerun))));

  list_query q = make_query();
  q.kind = "parse";
  q.status = job_status::failed;
  EXPECT_EQ(ids_of(list_all(*db, q)), std::vector<job_id>{parse_failed.id});

  q = make_query();
  q.kind = "parse";
  q.status = job_status::pending;
  q.original_job_id = parse_failed.id;
  EXPECT_EQ(ids_of(list_all(*db, q)), std::vector<job_id>{parse_rerun.id});

  q.kind = "ocr";  // the parse job's rerun is not an ocr job
  EXPECT_TRUE(list_all(*db, q).empty());

  q = make_query();
  q.status = job_status::pending;
  q.original_job_id = ocr_failed.id;  // its rerun is running now
  EXPECT_TRUE(list_all(*db, q).empty());

  q = make_query();
  q.status = job_status::failed;
  q.parent_id = job_id::generate();
  EXPECT_TRUE(list_all(*db, q).empty());
}

TEST(EngineList, LimitOutOfRangeIsInvalidArgument) {
  test_engine db;
  create_job(*db);
  const std::size_t max_page = db->options().limits.max_page_size;
  for (std::size_t limit : {std::size_t{0}, max_page + 1,
                            std::numeric_limits<std::size_t>::max()}) {
    SCOPED_TRACE(limit);
    EXPECT_TRUE(
        failed_with(db->list(make_query(limit)), errc::invalid_argument));
  }
  EXPECT_TRUE(ok(db->list(make_query(max_page))));
  EXPECT_TRUE(ok(db->list(make_query(1))));
}

TEST(EngineList, MalformedCursorIsInvalidArgument) {
  test_engine db;
  for (int i = 0; i < 3; ++i) create_job(*db);
  auto first = db->list(make_query(1));
  ASSERT_TRUE(ok(first));
  ASSERT_FALSE(first->next_cursor.empty());
  const std::string good = first->next_cursor;
  for (std::string bad :
       {std::string("garbage"), std::string("%%%%"), std::string(1, '\0'),
        std::string(5000, 'A'), good.substr(0, good.size() / 2), good + "x"}) {
    SCOPED_TRACE("cursor: " + bad.substr(0, 40));
    list_query q = make_query(1);
    q.cursor = bad;
    EXPECT_TRUE(failed_with(db->list(q), errc::invalid_argument));
  }
}

TEST(EngineList, MissingTenancyIsInvalidArgument) {
  test_engine db;
  create_job(*db);
  list_query no_account = make_query();
  no_account.account_id.clear();
  EXPECT_TRUE(failed_with(db->list(no_account), errc::invalid_argument));
  list_query no_project = make_query();
  no_project.project_id.clear();
  EXPECT_TRUE(failed_with(db->list(no_project), errc::invalid_argument));
}

TEST(EngineList, SmallPagesYieldEveryJobExactlyOnce) {
  test_engine db;
  std::vector<job> made;
  for (int i = 0; i < 23; ++i) made.push_back(create_job(*db));
  for (std::size_t limit : {1u, 2u, 5u, 7u, 23u, 24u}) {
    SCOPED_TRACE(limit);
    list_query q = make_query(limit);
    std::vector<job_id> seen;
    std::size_t pages = 0;
    for (;;) {
      auto page = db->list(q);
      ASSERT_TRUE(ok(page));
      ASSERT_LE(page->jobs.size(), limit);
      ++pages;
      ASSERT_LE(pages, 30u) << "cursor does not advance";
      for (const auto& j : page->jobs) seen.push_back(j.id);
      if (page->next_cursor.empty()) break;
      q.cursor = page->next_cursor;
    }
    EXPECT_EQ(seen, newest_first(made));
    // Every page but the last is full.
    EXPECT_LE(pages, (made.size() + limit - 1) / limit + 1);
  }
}

TEST(EngineList, PagesWithFilterYieldEachMatchExactlyOnce) {
  test_engine db;
  std::vector<job> running;
  for (int i = 0; i < 17; ++i) {
    create_job(*db);
    running.push_back(create_in_status(*db, job_status::running));
  }
  list_query q = make_query(3);
  q.status = job_status::running;
  EXPECT_EQ(ids_of(list_all(*db, q)), newest_first(running));
}

TEST(EngineList, CursorSurvivesPurgeOfListedAndUnlistedJobs) {
  test_engine db;
  std::vector<job> keep, doomed;
  for (int i = 0; i < 10; ++i) {
    keep.push_back(create_job(*db));
    doomed.push_back(create_in_status(*db, job_status::succeeded));
  }
  // Newest first, the first page is doomed[9], keep[9], doomed[8]: its last
  // job, where the cursor points, is purged.
  list_query q = make_query(3);
  auto first = db->list(q);
  ASSERT_TRUE(ok(first));
  ASSERT_FALSE(first->next_cursor.empty());
  // Purge every terminal job, including the last one the page returned.
  auto purged = db->purge(purge_request{});
  ASSERT_TRUE(ok(purged));
  EXPECT_EQ(purged->purged, doomed.size());

  std::vector<job_id> seen = ids_of(first->jobs);
  q.cursor = first->next_cursor;
  auto rest = list_all(*db, q);
  for (const auto& j : rest) seen.push_back(j.id);

  std::multiset<job_id> counted(seen.begin(), seen.end());
  for (const auto& j : keep)
    EXPECT_EQ(counted.count(j.id), 1u) << j.id.to_string();
  for (const auto& j : rest) {
    EXPECT_TRUE(j.status == job_status::pending) << j.id.to_string();
  }
}

TEST(EngineList, OldestFirstCursorSurvivesPurgeOfItsJob) {
  test_engine db;
  std::vector<job> keep, doomed;
  for (int i = 0; i < 5; ++i) {
    keep.push_back(create_job(*db));
    doomed.push_back(create_in_status(*db, job_status::succeeded));
  }
  // Oldest first, the first page is keep[0], doomed[0]: the cursor points
  // at doomed[0], which the purge removes.
  list_query q = make_query(2);
  q.order = list_order::oldest_first;
  auto first = db->list(q).value();
  ASSERT_EQ(ids_of(first.jobs),
            (std::vector<job_id>{keep[0].id, doomed[0].id}));
  ASSERT_EQ(db->purge(purge_request{}).value().purged, doomed.size());
  q.cursor = first.next_cursor;
  std::vector<job_id> expected;
  for (std::size_t i = 1; i < keep.size(); ++i) expected.push_back(keep[i].id);
  EXPECT_EQ(ids_of(list_all(*db, q)), expected);
}

TEST(EngineList, PagingWhileJobsAreCreatedNeverRepeatsOrSkips) {
  test_engine db;
  std::vector<job> existing;
  for (int i = 0; i < 150; ++i) existing.push_back(create_job(*db));

  std::atomic<bool> stop{false};
  std::atomic<int> rounds{0};
  std::atomic<int> failed_creates{0};
  std::thread writer([&] {
    while (!stop.load()) {
      // Also write to another project: it must never show up.
      create_request other = make_request();
      other.project_id = "beta";
      if (!db->create(make_request())) failed_creates.fetch_add(1);
      if (!db->create(other)) failed_creates.fetch_add(1);
      rounds.fetch_add(1);
    }
  });

  std::vector<job_id> seen;
  std::string failure;
  list_query q = make_query(7);
  for (int pages = 0; pages < 1000; ++pages) {
    auto page = db->list(q);
    if (!page) {
      failure = page.error().message();
      break;
    }
    for (const auto& j : page->jobs) {
      if (j.project_id != test::project) failure = "other project listed";
      seen.push_back(j.id);
    }
    if (page->next_cursor.empty()) break;
    q.cursor = page->next_cursor;
    // Let the writer add a few jobs between pages.
    const int target = rounds.load() + 3;
    while (rounds.load() < target) std::this_thread::yield();
  }
  stop = true;
  writer.join();
  ASSERT_TRUE(failure.empty()) << failure;
  EXPECT_EQ(failed_creates.load(), 0);
  EXPECT_GT(rounds.load(), 0);

  std::multiset<job_id> counted(seen.begin(), seen.end());
  for (const auto& id : seen) {
    EXPECT_EQ(counted.count(id), 1u) << "repeated: " << id.to_string();
  }
  for (const auto& j : existing) {
    EXPECT_EQ(counted.count(j.id), 1u) << "skipped: " << j.id.to_string();
  }
  // Within the listing, ids only go down (newest first).
  EXPECT_TRUE(std::is_sorted(seen.rbegin(), seen.rend()));
}

}  // namespace
}  // namespace jobstate
