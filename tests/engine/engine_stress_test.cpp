// Many threads driving random legal and illegal mutations, with and without
// compare-and-set; afterwards every job must be consistent and the counts of
// successful operations must add up.
//
// JOBSTATE_STRESS_SCALE (a positive number) scales the amount of work; the
// default is 1, or 0.1 when built with ThreadSanitizer.
#include <jobstate/jobstate.hpp>

#include "support/jobs.hpp"
#include "support/test_engine.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace jobstate {
namespace {

using test::completion_for;
using test::list_all;
using test::make_query;
using test::make_request;
using test::ref_of;
using test::test_engine;

// ThreadSanitizer slows every commit down by an order of magnitude or two.
#if defined(__SANITIZE_THREAD__)
#define JOBSTATE_TEST_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define JOBSTATE_TEST_UNDER_TSAN 1
#endif
#endif

double stress_scale() {
#ifdef JOBSTATE_TEST_UNDER_TSAN
  constexpr double default_scale = 0.1;
#else
  constexpr double default_scale = 1.0;
#endif
  const char* env = std::getenv("JOBSTATE_STRESS_SCALE");
  if (!env || !*env) return default_scale;
  const double s = std::strtod(env, nullptr);
  return s > 0 ? s : default_scale;
}

const std::array<std::string, 2> projects = {"alpha", "beta"};
const std::array<std::string, 3> kinds = {"parse", "ocr", "embed"};

// What the threads did successfully, summed at the end.
struct tally {
  std::uint64_t creates = 0;
  std::uint64_t reruns = 0;
  std::uint64_t starts = 0;
  std::uint64_t progress_reports = 0;
  std::map<job_status, std::uint64_t> completions;
  std::uint64_t cancels = 0;
  std::uint64_t conflicts = 0;
  std::uint64_t illegal = 0;
  void add(const tally& o) {
    creates += o.creates;
    reruns += o.reruns;
    starts += o.starts;
    progress_reports += o.progress_reports;
    for (const auto& [s, n] : o.completions) completions[s] += n;
    cancels += o.cancels;
    conflicts += o.conflicts;
    illegal += o.illegal;
  }
};

// Jobs created so far, shared by all threads.
class job_pool {
 public:
  void add(const job& j) {
    std::lock_guard lock(mu_);
    refs_.push_back(ref_of(j));
  }
  // Mostly a recent job (more likely to be non-terminal), sometimes any.
  job_ref pick(std::mt19937& rng) {
    std::lock_guard lock(mu_);
    const std::size_t n = refs_.size();
    const std::size_t window = std::min<std::size_t>(n, 32);
    std::size_t i = (rng() % 4 != 0) ? n - 1 - rng() % window : rng() % n;
    return refs_[i];
  }

 private:
  std::mutex mu_;
  std::vector<job_ref> refs_;  // guarded by mu_
};

class worker {
 public:
  worker(engine& e, job_pool& pool, int index, int jobs)
      : e_(e), pool_(pool), rng_(1234 + index), index_(index), jobs_(jobs) {}

  void run() {
    for (int i = 0; i < jobs_; ++i) {
      create_one(i);
      for (int k = 0; k < 5; ++k) random_operation();
    }
  }
  const tally& counts() const { return tally_; }
  const std::vector<std::string>& failures() const { return failures_; }

 private:
  void fail(const std::string& what) {
    if (failures_.size() < 20) {
      failures_.push_back("thread " + std::to_string(index_) + ": " + what);
    }
  }

  void create_one(int i) {
    create_request req =
        make_request(kinds[rng_() % kinds.size()],
                     boost::json::object{{"thread", index_}, {"n", i}});
    req.project_id = projects[index_ % projects.size()];
    auto r = e_.create(req);
    if (!r) return fail("create: " + r.error().message());
    if (r->job.revision != 1) fail("create: revision != 1");
    ++tally_.creates;
    pool_.add(r->job);
  }

  // Checks a mutation's outcome: counts a success (and checks its
  // revision), accepts conflict only under CAS, illegal_transition always.
  bool check(const char* op, const result<job>& r,
             const std::optional<std::uint64_t>& expected) {
    if (r) {
      if (expected && r->revision != *expected + 1) {
        fail(std::string(op) + ": revision " + std::to_string(r->revision) +
             " after CAS at " + std::to_string(*expected));
      }
      if (r->history.size() != r->revision) {
        fail(std::string(op) + ": history length != revision");
      }
      return true;
    }
    if (r.code() == errc::conflict && expected) {
      ++tally_.conflicts;
      if (!r.error().current_revision() ||
          *r.error().current_revision() == *expected) {
        fail(std::string(op) + ": conflict without a different revision");
      }
      return false;
    }
    if (r.code() == errc::illegal_transition) {
      ++tally_.illegal;
      if (!r.error().current_status()) {
        fail(std::string(op) + ": illegal_transition without status");
      }
      return false;
    }
    fail(std::string(op) + ": unexpected error " + r.error().message());
    return false;
  }

  void expect_rejected(const char* op, const result<job>& r) {
    if (r.code() == errc::invalid_argument) return;
    if (r.code() == errc::illegal_transition) return;
    fail(std::string(op) + ": expected invalid_argument, got " +
         (r ? std::string("success") : r.error().message()));
  }

  void random_operation() {
    const job_ref ref = pool_.pick(rng_);
    mutation_options opts;
    if (rng_() % 2 == 0) {
      auto current = e_.get(ref);
      if (!current) return fail("get: " + current.error().message());
      opts.expected_revision = current->revision;
      // Sometimes deliberately stale.
      if (rng_() % 8 == 0 && current->revision > 1) {
        opts.expected_revision = current->revision - 1;
      }
    }
    switch (rng_() % 10) {
      case 0:
      case 1: {
        if (check("start", e_.start(ref, opts), opts.expected_revision)) {
          ++tally_.starts;
        }
        break;
      }
      case 2: {
        progress p;
        p.percent = static_cast<double>(rng_() % 101);
        const std::uint64_t succeeded = rng_() % 5;
        const std::uint64_t failed = rng_() % 3;
        p.counts =
            progress_counts{10, succeeded, failed, 0, 10 - succeeded - failed};
        if (check("progress", e_.report_progress(ref, p, opts),
                  opts.expected_revision)) {
          ++tally_.progress_reports;
        }
        break;
      }
      case 3:
      case 4: {
        static constexpr job_status outcomes[] = {
            job_status::succeeded, job_status::partially_succeeded,
            job_status::failed};
        const job_status s = outcomes[rng_() % 3];
        if (check("complete", e_.complete(ref, completion_for(s), opts),
                  opts.expected_revision)) {
          ++tally_.completions[s];
        }
        break;
      }
      case 5: {
        if (check("cancel", e_.cancel(ref, "stress", opts),
                  opts.expected_revision)) {
          ++tally_.cancels;
        }
        break;
      }
      case 6: {
        auto r = e_.rerun(ref);
        if (r) {
          ++tally_.reruns;
          pool_.add(*r);
        } else if (r.code() == errc::illegal_transition) {
          ++tally_.illegal;
        } else {
          fail("rerun: " + r.error().message());
        }
        break;
      }
      case 7: {
        // Invalid input never succeeds. Whether validation or the state
        // check answers first is not specified; either is a typed error.
        progress p;
        p.percent = 150;
        expect_rejected("progress 150%", e_.report_progress(ref, p));
        completion c;
        c.status = job_status::pending;
        expect_rejected("complete(pending)", e_.complete(ref, c));
        break;
      }
      case 8: {
        list_query q;
        q.account_id = ref.account_id;
        q.project_id = ref.project_id;
        q.limit = 20;
        if (rng_() % 2) q.status = all_job_statuses[rng_() % 6];
        auto page = e_.list(q);
        if (!page) return fail("list: " + page.error().message());
        for (std::size_t i = 0; i < page->jobs.size(); ++i) {
          const job& j = page->jobs[i];
          if (j.project_id != ref.project_id) fail("list: other project");
          if (q.status && j.status != *q.status) fail("list: filter ignored");
          if (i > 0 && !(j.id < page->jobs[i - 1].id)) fail("list: order");
        }
        break;
      }
      default: {
        auto r = e_.get(ref);
        if (!r) return fail("get: " + r.error().message());
        if (r->history.size() != r->revision) fail("get: history != revision");
        break;
      }
    }
  }

  engine& e_;
  job_pool& pool_;
  std::mt19937 rng_;
  int index_;
  int jobs_;
  tally tally_;
  std::vector<std::string> failures_;
};

// Checks one job's internal consistency; returns what is wrong, or "".
std::string inconsistency(const job& j) {
  if (j.history.empty()) return "no history";
  if (j.history.size() != j.revision) return "history length != revision";
  if (j.history.front().step != "created") return "first event not created";
  if (j.history.front().status != job_status::pending)
    return "not born pending";
  for (std::size_t i = 1; i < j.history.size(); ++i) {
    const auto from = j.history[i - 1].status;
    const auto to = j.history[i].status;
    if (from == to) {
      if (j.history[i].step != "progress") return "same status, not progress";
    } else if (!is_legal_transition(from, to)) {
      return "illegal transition in history";
    }
  }
  if (j.history.back().status != j.status) return "status != last event";
  switch (j.status) {
    case job_status::pending:
      if (j.started_at || j.completed_at) return "pending with timestamps";
      break;
    case job_status::running:
      if (!j.started_at || j.completed_at) return "running timestamps";
      break;
    case job_status::failed:
      if (!j.error) return "failed without error";
      [[fallthrough]];
    default:
      if (!j.completed_at) return "terminal without completed_at";
      break;
  }
  if (j.status == job_status::cancelled &&
      (!j.error || j.error->code != "cancelled")) {
    return "cancelled without cancelled error";
  }
  if (j.original_job_id.has_value() != (j.attempt > 1)) {
    return "attempt does not match original_job_id";
  }
  return {};
}

TEST(EngineStress, RandomConcurrentMutationsStayConsistent) {
  constexpr int threads = 8;
  const int jobs_per_thread =
      std::max(10, static_cast<int>(250 * stress_scale()));
  test_engine db;
  job_pool pool;
  std::vector<worker> workers;
  workers.reserve(threads);
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back(*db, pool, t, jobs_per_thread);
  }
  std::vector<std::thread> running;
  for (auto& w : workers) running.emplace_back([&w] { w.run(); });
  for (auto& t : running) t.join();

  tally total;
  for (const auto& w : workers) {
    for (const auto& f : w.failures()) ADD_FAILURE() << f;
    total.add(w.counts());
  }

  std::vector<job> all;
  for (const auto& p : projects) {
    list_query q = make_query(1000);
    q.project_id = p;
    auto some = list_all(*db, q);
    all.insert(all.end(), some.begin(), some.end());
  }
  ASSERT_EQ(all.size(), total.creates + total.reruns);
  EXPECT_EQ(total.creates, std::uint64_t{threads} * jobs_per_thread);

  std::map<job_id, const job*> by_id;
  for (const auto& j : all) by_id[j.id] = &j;
  ASSERT_EQ(by_id.size(), all.size()) << "a job was listed twice";

  std::uint64_t revisions = 0, started = 0, cancelled = 0, reruns = 0;
  std::map<job_status, std::uint64_t> completed;
  for (const auto& j : all) {
    SCOPED_TRACE(::testing::PrintToString(j));
    EXPECT_EQ(inconsistency(j), "");
    auto got = db->get(ref_of(j));
    ASSERT_TRUE(test::ok(got));
    EXPECT_EQ(*got, j);
    revisions += j.revision;
    if (j.started_at) ++started;
    if (j.status == job_status::cancelled) ++cancelled;
    if (j.status == job_status::succeeded ||
        j.status == job_status::partially_succeeded ||
        j.status == job_status::failed) {
      ++completed[j.status];
    }
    for (const auto& e : j.history) {
      if (e.step == "progress") --revisions;  // counted below
    }
    if (j.original_job_id) {
      ++reruns;
      auto it = by_id.find(*j.original_job_id);
      ASSERT_NE(it, by_id.end()) << "rerun of an unknown job";
      EXPECT_TRUE(is_terminal(it->second->status));
      EXPECT_EQ(j.attempt, it->second->attempt + 1);
      EXPECT_EQ(j.kind, it->second->kind);
      EXPECT_EQ(j.input, it->second->input);
      EXPECT_EQ(j.project_id, it->second->project_id);
    }
  }
  // Every successful mutation is one revision of one job.
  EXPECT_EQ(revisions, total.creates + total.reruns + total.starts +
                           total.cancels +
                           total.completions[job_status::succeeded] +
                           total.completions[job_status::partially_succeeded] +
                           total.completions[job_status::failed]);
  EXPECT_EQ(reruns, total.reruns);
  EXPECT_EQ(started, total.starts);
  EXPECT_EQ(cancelled, total.cancels);
  for (job_status s : {job_status::succeeded, job_status::partially_succeeded,
                       job_status::failed}) {
    EXPECT_EQ(completed[s], total.completions[s]) << to_string(s);
  }
  std::uint64_t progress_events = 0;
  for (const auto& j : all) {
    for (const auto& e : j.history) progress_events += e.step == "progress";
  }
  EXPECT_EQ(progress_events, total.progress_reports);
  // The mix must actually have exercised the interesting paths.
  EXPECT_GT(total.conflicts, 0u);
  EXPECT_GT(total.illegal, 0u);
  EXPECT_GT(total.reruns, 0u);
}

}  // namespace
}  // namespace jobstate
