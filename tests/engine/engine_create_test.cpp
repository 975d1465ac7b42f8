// engine::create and engine::get: new jobs, validation, limits, idempotency
// keys and tenancy.
#include <jobstate/jobstate.hpp>

#include "support/jobs.hpp"
#include "support/test_engine.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace jobstate {
namespace {

using test::create_job;
using test::failed_with;
using test::list_all;
using test::make_query;
using test::make_request;
using test::ok;
using test::ref_of;
using test::test_engine;
using test::text_of_size;
using test::unchanged;

timestamp now_us() {
  return std::chrono::time_point_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now());
}

std::size_t job_count(const engine& e) {
  return list_all(e, make_query()).size();
}

TEST(EngineCreate, NewJobIsPendingAtRevisionOne) {
  test_engine db;
  create_request req = make_request("parse");
  req.details = boost::json::object{{"by", "unit test"}};
  const timestamp before = now_us();
  auto r = db->create(req);
  const timestamp after = now_us();
  ASSERT_TRUE(ok(r));
  EXPECT_TRUE(r->created);
  const job& j = r->job;

  EXPECT_FALSE(j.id.is_nil());
  EXPECT_EQ(j.account_id, test::account);
  EXPECT_EQ(j.project_id, test::project);
  EXPECT_EQ(j.kind, "parse");
  EXPECT_EQ(j.status, job_status::pending);
  EXPECT_EQ(j.revision, 1u);
  EXPECT_EQ(j.attempt, 1u);
  EXPECT_EQ(j.input, req.input);
  EXPECT_TRUE(j.result.is_null());
  EXPECT_EQ(j.error, std::nullopt);
  EXPECT_EQ(j.progress, progress{});
  EXPECT_EQ(j.original_job_id, std::nullopt);
  EXPECT_EQ(j.parent_id, std::nullopt);
  EXPECT_EQ(j.source_id, std::nullopt);
  EXPECT_EQ(j.correlation_id, std::nullopt);
  EXPECT_EQ(j.idempotency_key, std::nullopt);

  // A sanity bound (one minute of slack), not a timing assertion: the
  // timestamp is set, in microseconds since the Unix epoch.
  EXPECT_NE(j.created_at, timestamp{});
  EXPECT_GE(j.created_at, before - std::chrono::minutes(1));
  EXPECT_LE(j.created_at, after + std::chrono::minutes(1));
  EXPECT_EQ(j.started_at, std::nullopt);
  EXPECT_EQ(j.completed_at, std::nullopt);

  ASSERT_EQ(j.history.size(), 1u);
  EXPECT_EQ(j.history[0].step, "created");
  EXPECT_EQ(j.history[0].status, job_status::pending);
  EXPECT_EQ(j.history[0].duration_ms, 0);
  EXPECT_EQ(j.history[0].details, req.details);
  EXPECT_EQ(j.history[0].at, j.created_at);  // both the commit time
  EXPECT_GE(j.history[0].at, before - std::chrono::minutes(1));
  EXPECT_LE(j.history[0].at, after + std::chrono::minutes(1));
}

TEST(EngineCreate, IdIsTimeOrderedUuidV7) {
  test_engine db;
  job j = create_job(*db);
  EXPECT_EQ(j.id.bytes()[6] >> 4, 7);
  auto since_epoch = std::chrono::duration_cast<std::chrono::milliseconds>(
      j.created_at.time_since_epoch());
  EXPECT_LE(std::abs(j.id.unix_millis() - since_epoch.count()), 60'000);
}

TEST(EngineCreate, OptionalFieldsRoundTrip) {
  test_engine db;
  create_request req = make_request("ocr");
  req.source_id = "doc-17";
  req.correlation_id = "trace-abc";
  req.idempotency_key = "key-1";
  job j = create_job(*db, req);
  EXPECT_EQ(j.source_id, "doc-17");
  EXPECT_EQ(j.correlation_id, "trace-abc");
  EXPECT_EQ(j.idempotency_key, "key-1");
  EXPECT_TRUE(unchanged(*db, j));
}

TEST(EngineCreate, InputRoundTripsExactly) {
  test_engine db;
  boost::json::value input = boost::json::parse(R"({
      "text": "h\u00e9llo \u2603 \ud83d\ude00 \"quoted\" \\ \n",
      "ints": [0, -1, 9223372036854775807, -9223372036854775808],
      "big": 18446744073709551615,
      "reals": [0.5, -1.25e-300, 1e300],
      "flags": [true, false, null],
      "nested": {"a": {"b": {"c": []}}, "empty": {}}
  })");
  job j = create_job(*db, make_request("parse", input));
  EXPECT_EQ(j.input, input);
  auto got = db->get(ref_of(j));
  ASSERT_TRUE(ok(got));
  EXPECT_EQ(got->input, input) << boost::json::serialize(got->input);
}

TEST(EngineCreate, CreatedJobIsReadableWithGet) {
  test_engine db;
  job j = create_job(*db);
  auto got = db->get(ref_of(j));
  ASSERT_TRUE(ok(got));
  EXPECT_EQ(*got, j);
}

TEST(EngineCreate, WithoutKeyEveryCreateMakesANewJob) {
  test_engine db;
  job a = create_job(*db);
  job b = create_job(*db);
  EXPECT_NE(a.id, b.id);
  EXPECT_LT(a.id, b.id);
  EXPECT_EQ(job_count(*db), 2u);
}

TEST(EngineCreate, RequiresAccountProjectAndKind) {
  test_engine db;
  job existing = create_job(*db);
  for (int field = 0; field < 3; ++field) {
    create_request req = make_request();
    if (field == 0) req.account_id.clear();
    if (field == 1) req.project_id.clear();
    if (field == 2) req.kind.clear();
    SCOPED_TRACE("empty field " + std::to_string(field));
    EXPECT_TRUE(failed_with(db->create(req), errc::invalid_argument));
  }
  EXPECT_EQ(job_count(*db), 1u);
  EXPECT_TRUE(unchanged(*db, existing));
}

TEST(EngineCreate, IdsAtTheLimitAreAccepted) {
  test_engine db;
  const std::string max_id = text_of_size(db->options().limits.max_id_size);
  create_request req = make_request();
  req.account_id = max_id;
  req.project_id = max_id;
  req.source_id = max_id;
  req.correlation_id = max_id;
  req.idempotency_key = max_id;
  auto r = db->create(req);
  ASSERT_TRUE(ok(r));
  EXPECT_EQ(r->job.account_id, max_id);
  EXPECT_EQ(r->job.idempotency_key, max_id);
  EXPECT_TRUE(unchanged(*db, r->job));
}

TEST(EngineCreate, OversizedIdsAreTooLarge) {
  test_engine db;
  const std::string long_id =
      text_of_size(db->options().limits.max_id_size + 1);
  for (int field = 0; field < 5; ++field) {
    create_request req = make_request();
    switch (field) {
      case 0:
        req.account_id = long_id;
        break;
      case 1:
        req.project_id = long_id;
        break;
      case 2:
        req.source_id = long_id;
        break;
      case 3:
        req.correlation_id = long_id;
        break;
      case 4:
        req.idempotency_key = long_id;
        break;
    }
    SCOPED_TRACE("oversized field " + std::to_string(field));
    EXPECT_TRUE(failed_with(db->create(req), errc::too_large));
  }
  EXPECT_EQ(job_count(*db), 0u);
}

TEST(EngineCreate, KindAtTheLimitIsAcceptedAndLongerIsTooLarge) {
  test_engine db;
  const std::size_t max_kind = db->options().limits.max_kind_size;
  EXPECT_TRUE(failed_with(db->create(make_request(text_of_size(max_kind + 1))),
                          errc::too_large));
  EXPECT_EQ(job_count(*db), 0u);
  auto accepted = db->create(make_request(text_of_size(max_kind)));
  ASSERT_TRUE(ok(accepted));
  EXPECT_EQ(accepted->job.kind.size(), max_kind);
}

TEST(EngineCreate, InputAtTheLimitIsAcceptedAndLargerIsTooLarge) {
  test_engine db;
  const std::size_t max_json = db->options().limits.max_json_size;
  EXPECT_TRUE(
      failed_with(db->create(make_request(
                      "parse", test::json_of_serialized_size(max_json + 1))),
                  errc::too_large));
  EXPECT_EQ(job_count(*db), 0u);
  auto accepted = db->create(
      make_request("parse", test::json_of_serialized_size(max_json)));
  ASSERT_TRUE(ok(accepted));
  EXPECT_EQ(boost::json::serialize(accepted->job.input).size(), max_json);
}

TEST(EngineCreate, OversizedDetailsAreTooLarge) {
  test_engine db;
  create_request req = make_request();
  req.details =
      test::json_of_serialized_size(db->options().limits.max_json_size + 1);
  EXPECT_TRUE(failed_with(db->create(req), errc::too_large));
  EXPECT_EQ(job_count(*db), 0u);
}

TEST(EngineCreate, HonoursConfiguredLimits) {
  test_engine db([](options& o) {
    o.limits.max_id_size = 8;
    o.limits.max_kind_size = 4;
    o.limits.max_json_size = 64;
  });
  EXPECT_TRUE(failed_with(db->create(make_request("parse")), errc::too_large));
  create_request long_account = make_request("ocr");
  long_account.account_id = "123456789";
  EXPECT_TRUE(failed_with(db->create(long_account), errc::too_large));
  EXPECT_TRUE(failed_with(
      db->create(make_request("ocr", test::json_of_serialized_size(65))),
      errc::too_large));
  EXPECT_EQ(job_count(*db), 0u);
  EXPECT_TRUE(
      ok(db->create(make_request("ocr", test::json_of_serialized_size(64)))));
  EXPECT_EQ(job_count(*db), 1u);
}

TEST(EngineCreate, IdsMustBePrintableUtf8) {
  // docs/data-model.md: ids are 1 to 256 bytes of printable UTF-8.
  test_engine db;
  for (std::string bad : {std::string("line\nbreak"), std::string("nul\0x", 5),
                          std::string("bell\x07"), std::string("bad\xff"),
                          std::string("\xc3"), std::string("\xc0\xaf")}) {
    SCOPED_TRACE(::testing::PrintToString(bad));
    create_request account = make_request();
    account.account_id = bad;
    EXPECT_TRUE(failed_with(db->create(account), errc::invalid_argument));
    create_request key = make_request();
    key.idempotency_key = bad;
    EXPECT_TRUE(failed_with(db->create(key), errc::invalid_argument));
    EXPECT_TRUE(
        failed_with(db->create(make_request(bad)), errc::invalid_argument));
  }
  EXPECT_EQ(job_count(*db), 0u);
  create_request unicode = make_request("r\u00e9sum\u00e9");
  unicode.source_id = "caf\u00e9-\u2603";
  EXPECT_TRUE(ok(db->create(unicode)));
}

TEST(EngineCreate, DeeplyNestedInputIsInvalidArgument) {
  // docs/data-model.md: JSON nesting is limited to 64 levels.
  test_engine db;
  auto nested = [](int depth) {
    boost::json::value v = 1;
    for (int i = 0; i < depth; ++i) v = boost::json::array{std::move(v)};
    return v;
  };
  EXPECT_TRUE(failed_with(db->create(make_request("parse", nested(200))),
                          errc::invalid_argument));
  create_request deep_details = make_request();
  deep_details.details = nested(200);
  EXPECT_TRUE(failed_with(db->create(deep_details), errc::invalid_argument));
  EXPECT_EQ(job_count(*db), 0u);
  auto shallow = db->create(make_request("parse", nested(32)));
  ASSERT_TRUE(ok(shallow));
  EXPECT_EQ(shallow->job.input, nested(32));
}

TEST(EngineCreate, IdempotencyKeyReturnsExistingJob) {
  test_engine db;
  create_request req = make_request();
  req.idempotency_key = "order-7";
  auto first = db->create(req);
  ASSERT_TRUE(ok(first));
  EXPECT_TRUE(first->created);

  auto again = db->create(req);
  ASSERT_TRUE(ok(again));
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->job, first->job);
  EXPECT_EQ(job_count(*db), 1u);
}

TEST(EngineCreate, IdempotencyKeyReturnsJobInItsCurrentState) {
  test_engine db;
  create_request req = make_request();
  req.idempotency_key = "order-8";
  job first = create_job(*db, req);
  job running = db->start(ref_of(first)).value();

  auto again = db->create(req);
  ASSERT_TRUE(ok(again));
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->job, running);
  EXPECT_TRUE(unchanged(*db, running));
}

TEST(EngineCreate, IdempotentRetryIgnoresNewDetails) {
  // Only kind and input identify the request; details describe the call.
  test_engine db;
  create_request req = make_request();
  req.idempotency_key = "order-9";
  job first = create_job(*db, req);
  req.details = boost::json::object{{"retry", 1}};
  auto again = db->create(req);
  ASSERT_TRUE(ok(again));
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->job, first);
}

TEST(EngineCreate, IdempotencyKeyIsScopedToProject) {
  test_engine db;
  create_request req = make_request();
  req.idempotency_key = "shared-key";
  job in_alpha = create_job(*db, req);

  create_request other_project = req;
  other_project.project_id = "beta";
  auto in_beta = db->create(other_project);
  ASSERT_TRUE(ok(in_beta));
  EXPECT_TRUE(in_beta->created);
  EXPECT_NE(in_beta->job.id, in_alpha.id);
  EXPECT_EQ(in_beta->job.project_id, "beta");

  create_request other_account = req;
  other_account.account_id = "globex";
  auto in_globex = db->create(other_account);
  ASSERT_TRUE(ok(in_globex));
  EXPECT_TRUE(in_globex->created);
  EXPECT_NE(in_globex->job.id, in_alpha.id);
  EXPECT_NE(in_globex->job.id, in_beta->job.id);

  EXPECT_TRUE(unchanged(*db, in_alpha));
}

TEST(EngineCreate, IdempotencyKeyWithDifferentKindIsAlreadyExists) {
  test_engine db;
  create_request req = make_request("parse");
  req.idempotency_key = "k";
  job first = create_job(*db, req);
  req.kind = "ocr";
  EXPECT_TRUE(failed_with(db->create(req), errc::already_exists));
  EXPECT_TRUE(unchanged(*db, first));
  EXPECT_EQ(job_count(*db), 1u);
}

TEST(EngineCreate, IdempotencyKeyWithDifferentInputIsAlreadyExists) {
  test_engine db;
  create_request req = make_request("parse", boost::json::object{{"n", 1}});
  req.idempotency_key = "k";
  job first = create_job(*db, req);
  req.input = boost::json::object{{"n", 2}};
  EXPECT_TRUE(failed_with(db->create(req), errc::already_exists));
  req.input = nullptr;
  EXPECT_TRUE(failed_with(db->create(req), errc::already_exists));
  EXPECT_TRUE(unchanged(*db, first));
  EXPECT_EQ(job_count(*db), 1u);
}

TEST(EngineCreate, ConcurrentCreatesWithOneKeyMakeOneJob) {
  test_engine db;
  create_request req = make_request();
  req.idempotency_key = "race";
  constexpr int threads = 8;
  std::vector<result<created_job>> results;
  results.reserve(threads);
  for (int i = 0; i < threads; ++i)
    results.emplace_back(errc::invalid_argument);
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      results[i] = db->create(req);
    });
  }
  go = true;
  for (auto& t : pool) t.join();

  int created = 0;
  std::set<job_id> ids;
  for (const auto& r : results) {
    ASSERT_TRUE(ok(r));
    created += r->created ? 1 : 0;
    ids.insert(r->job.id);
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(job_count(*db), 1u);
}

TEST(EngineGet, FindsJobInItsTenancy) {
  test_engine db;
  job j = create_job(*db);
  auto got = db->get(
      job_ref{std::string(test::account), std::string(test::project), j.id});
  ASSERT_TRUE(ok(got));
  EXPECT_EQ(*got, j);
}

TEST(EngineGet, WrongAccountIsNotFound) {
  test_engine db;
  job j = create_job(*db);
  job_ref ref = ref_of(j);
  ref.account_id = "globex";
  auto got = db->get(ref);
  EXPECT_TRUE(failed_with(got, errc::not_found));
}

TEST(EngineGet, WrongProjectIsNotFound) {
  test_engine db;
  job j = create_job(*db);
  job_ref ref = ref_of(j);
  ref.project_id = "beta";
  EXPECT_TRUE(failed_with(db->get(ref), errc::not_found));
}

TEST(EngineGet, TenancyDoesNotLeakAcrossConcatenation) {
  // "ab"/"c" and "a"/"bc" are different tenancies even if a key encoding
  // were to concatenate them.
  test_engine db;
  create_request req = make_request();
  req.account_id = "ab";
  req.project_id = "c";
  job j = create_job(*db, req);
  EXPECT_TRUE(failed_with(db->get(job_ref{"a", "bc", j.id}), errc::not_found));
  EXPECT_TRUE(ok(db->get(job_ref{"ab", "c", j.id})));
}

TEST(EngineGet, UnknownIdIsNotFound) {
  test_engine db;
  create_job(*db);
  EXPECT_TRUE(failed_with(
      db->get(job_ref{std::string(test::account), std::string(test::project),
                      job_id::generate()}),
      errc::not_found));
}

TEST(EngineGet, EmptyDatabaseIsNotFound) {
  test_engine db;
  EXPECT_TRUE(failed_with(
      db->get(job_ref{std::string(test::account), std::string(test::project),
                      job_id::generate()}),
      errc::not_found));
}

TEST(EngineGet, NilOrEmptyRefIsRejected) {
  // The header allows not_found or invalid_argument here; either way it is
  // a typed error.
  test_engine db;
  job j = create_job(*db);
  auto rejected = [](const result<job>& r) {
    return !r.has_value() &&
           (r.code() == errc::not_found || r.code() == errc::invalid_argument);
  };
  EXPECT_TRUE(rejected(db->get(job_ref{std::string(test::account),
                                       std::string(test::project), job_id{}})));
  EXPECT_TRUE(rejected(db->get(job_ref{"", std::string(test::project), j.id})));
  EXPECT_TRUE(rejected(db->get(job_ref{std::string(test::account), "", j.id})));
}

}  // namespace
}  // namespace jobstate
