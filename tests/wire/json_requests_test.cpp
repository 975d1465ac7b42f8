// The wire layer's request readers (include/jobstate/json_requests.hpp) and
// the JSON shapes of the engine's answers (include/jobstate/json.hpp): each
// reader on its happy path and on each kind of bad input, with the detail
// that names the member and what was expected.
#include <jobstate/engine.hpp>
#include <jobstate/json.hpp>
#include <jobstate/json_requests.hpp>
#include <jobstate/timestamp.hpp>

#include "support/test_engine.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace jobstate {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

json::value parse(std::string_view text) { return json::parse(text); }

// The detail of a refusal, after checking that it is invalid_argument.
template <class T>
std::string refusal(const result<T>& r) {
  EXPECT_FALSE(r.has_value());
  if (r.has_value()) return "(accepted)";
  EXPECT_EQ(r.code(), errc::invalid_argument) << r.error().detail();
  return r.error().detail();
}

TEST(CreateRequestFromJson, ReadsEveryMember) {
  auto r = create_request_from_json(parse(R"({
      "account_id": "acme", "project_id": "alpha", "kind": "parse",
      "input": {"file": "a.pdf"}, "source_id": "doc-1",
      "correlation_id": "c-1", "idempotency_key": "k-1",
      "details": {"by": "test"}})"));
  ASSERT_TRUE(r.has_value()) << r.error().detail();
  EXPECT_EQ(r->account_id, "acme");
  EXPECT_EQ(r->project_id, "alpha");
  EXPECT_EQ(r->kind, "parse");
  EXPECT_EQ(r->input, parse(R"({"file": "a.pdf"})"));
  EXPECT_EQ(r->source_id, "doc-1");
  EXPECT_EQ(r->correlation_id, "c-1");
  EXPECT_EQ(r->idempotency_key, "k-1");
  EXPECT_EQ(r->details, parse(R"({"by": "test"})"));
}

TEST(CreateRequestFromJson, NullMembersTakeTheDefaults) {
  auto r = create_request_from_json(parse(R"({
      "account_id": "acme", "project_id": "alpha", "kind": "parse",
      "input": null, "source_id": null})"));
  ASSERT_TRUE(r.has_value()) << r.error().detail();
  EXPECT_TRUE(r->input.is_null());
  EXPECT_FALSE(r->source_id.has_value());
}

TEST(CreateRequestFromJson, NamesTheMemberAndWhatWasExpected) {
  EXPECT_EQ(refusal(create_request_from_json(parse("[]"))),
            "create request: expected an object, got an array");
  EXPECT_EQ(refusal(create_request_from_json(
                parse(R"({"account_id": "a", "project_id": "p"})"))),
            "create request.kind: required member is missing");
  EXPECT_EQ(refusal(create_request_from_json(
                parse(R"({"account_id": "a", "project_id": "p", "kind": 3})"))),
            "create request.kind: expected a string, got the number 3");
  EXPECT_EQ(
      refusal(create_request_from_json(parse(
          R"({"account_id": "a", "project_id": "p", "kind": "k", "knd": 1})"))),
      "create request.knd: unknown member (expected: account_id, project_id, "
      "kind, input, source_id, correlation_id, idempotency_key, details, "
      "run_after, run_timeout_ms, pending_ttl_ms, retry)");
}

TEST(CreateRequestFromJson, ReadsSchedulesTimeLimitsAndRetries) {
  auto r = create_request_from_json(parse(R"({
      "account_id": "acme", "project_id": "alpha", "kind": "parse",
      "run_after": "2026-11-24T23:30:39.123456Z", "run_timeout_ms": 60000,
      "pending_ttl_ms": 5000,
      "retry": {"max_attempts": 4, "initial_backoff_ms": 250,
                "max_backoff_ms": 10000, "multiplier": 3, "jitter": 0.5,
                "retry_on": ["lease_expired", "timeout"]}})"));
  ASSERT_TRUE(r.has_value()) << r.error().detail();
  EXPECT_EQ(r->run_after, parse_timestamp("2026-11-24T23:30:39.123456Z"));
  EXPECT_EQ(r->run_timeout, std::chrono::minutes(1));
  EXPECT_EQ(r->pending_ttl, std::chrono::seconds(5));
  ASSERT_TRUE(r->retry.has_value());
  EXPECT_EQ(r->retry->max_attempts, 4u);
  EXPECT_EQ(r->retry->initial_backoff, std::chrono::milliseconds(250));
  EXPECT_EQ(r->retry->max_backoff, std::chrono::seconds(10));
  EXPECT_EQ(r->retry->multiplier, 3.0);
  EXPECT_EQ(r->retry->jitter, 0.5);
  EXPECT_EQ(r->retry->retry_on,
            (std::vector<std::string>{"lease_expired", "timeout"}));
  // Members left out take retry_policy's defaults.
  r = create_request_from_json(parse(R"({
      "account_id": "acme", "project_id": "alpha", "kind": "parse",
      "retry": {"max_attempts": 2}})"));
  ASSERT_TRUE(r.has_value()) << r.error().detail();
  retry_policy expected;
  expected.max_attempts = 2;
  EXPECT_EQ(r->retry, expected);
  EXPECT_FALSE(r->run_after.has_value());
}

TEST(CreateRequestFromJson, RefusesBadSchedulesWithTheirPath) {
  const auto with = [](std::string_view members) {
    return refusal(create_request_from_json(
        parse(R"({"account_id": "a", "project_id": "p", "kind": "k", )" +
              std::string(members) + "}")));
  };
  EXPECT_EQ(with(R"("retry": {"max_attempt": 2})"),
            "create request.retry.max_attempt: unknown member (expected: "
            "max_attempts, initial_backoff_ms, max_backoff_ms, multiplier, "
            "jitter, retry_on)");
  EXPECT_EQ(with(R"("run_after": "tomorrow")"),
            "create request.run_after: expected an RFC 3339 timestamp such as "
            "\"2026-11-24T23:30:39.123456Z\", got \"tomorrow\"");
  EXPECT_EQ(with(R"("run_timeout_ms": -5)"),
            "create request.run_timeout_ms: expected a non-negative integer, "
            "got the number -5");
  EXPECT_EQ(with(R"("pending_ttl_ms": 1e300)"),
            "create request.pending_ttl_ms: expected a non-negative integer, "
            "got the number 1E300");
  EXPECT_EQ(with(R"("retry": {"retry_on": "x"})"),
            "create request.retry.retry_on: expected an array, got \"x\"");
}

TEST(BatchRequestFromJson, ReadsTheParentAndItsChildren) {
  auto r = batch_request_from_json(parse(R"({
      "account_id": "acme", "project_id": "alpha", "kind": "batch",
      "children": [{"kind": "parse", "input": 1, "source_id": "d1"},
                   {"kind": "parse", "correlation_id": "c2"}]})"),
                                   10);
  ASSERT_TRUE(r.has_value()) << r.error().detail();
  EXPECT_EQ(r->parent.kind, "batch");
  ASSERT_EQ(r->children.size(), 2u);
  EXPECT_EQ(r->children[0].input, json::value(1));
  EXPECT_EQ(r->children[0].source_id, "d1");
  EXPECT_EQ(r->children[1].correlation_id, "c2");
}

TEST(BatchRequestFromJson, NamesTheChildAtFault) {
  const std::string head =
      R"({"account_id": "a", "project_id": "p", "kind": "b", "children": )";
  EXPECT_EQ(
      refusal(batch_request_from_json(
          parse(R"({"account_id": "a", "project_id": "p", "kind": "b"})"), 10)),
      "batch request.children: required member is missing");
  EXPECT_EQ(refusal(batch_request_from_json(parse(head + "[]}"), 10)),
            "batch request.children: expected a non-empty array of children, "
            "got an array");
  EXPECT_EQ(refusal(batch_request_from_json(
                parse(head + R"([{"kind": "x"}, {"kind": 2}]})"), 10)),
            "batch request.children[1].kind: expected a string, got the "
            "number 2");
  EXPECT_EQ(
      refusal(batch_request_from_json(
          parse(head + R"([{"kind": "x", "idempotency_key": "k"}]})"), 10)),
      "batch request.children[0].idempotency_key: unknown member (expected: "
      "kind, input, source_id, correlation_id)");
}

TEST(BatchRequestFromJson, TooManyChildrenIsTooLargeBeforeAnyIsRead) {
  auto r = batch_request_from_json(
      parse(R"({"account_id": "a", "project_id": "p", "kind": "b",
                "children": [{"kind": 1}, {"kind": 2}, {"kind": 3}]})"),
      2);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.code(), errc::too_large);
  EXPECT_EQ(r.error().detail(),
            "batch request.children: 3 children, more than "
            "max_batch_children (2)");
}

TEST(MutationRequestsFromJson, ReadTheirMembers) {
  auto m = mutation_options_from_json(
      parse(R"({"expected_revision": 3, "details": [1]})"));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->expected_revision, 3u);
  EXPECT_EQ(m->details, parse("[1]"));
  EXPECT_TRUE(m->with_history);
  EXPECT_TRUE(mutation_options_from_json(nullptr).has_value());
  auto lean = mutation_options_from_json(parse(R"({"with_history": false})"));
  ASSERT_TRUE(lean.has_value());
  EXPECT_FALSE(lean->with_history);

  auto p = progress_from_json(parse(
      R"({"percent": 12.5, "counts": {"total": 4, "succeeded": 1,
          "failed": 0, "cancelled": 0, "pending": 3}, "details": "x"})"));
  ASSERT_TRUE(p.has_value()) << p.error().detail();
  EXPECT_EQ(p->percent, 12.5);
  ASSERT_TRUE(p->counts.has_value());
  EXPECT_EQ(p->counts->pending, 3u);

  auto c = completion_from_json(
      parse(R"({"status": "failed", "error": {"code": "E", "message": "m"}})"));
  ASSERT_TRUE(c.has_value()) << c.error().detail();
  EXPECT_EQ(c->status, job_status::failed);
  EXPECT_EQ(c->error, (job_error{"E", "m"}));
  auto plain = completion_from_json(json::object{});
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->status, job_status::succeeded);

  auto rr = rerun_options_from_json(parse(R"({"correlation_id": "again"})"));
  ASSERT_TRUE(rr.has_value());
  EXPECT_EQ(rr->correlation_id, "again");
}

TEST(MutationRequestsFromJson, RefuseBadMembersWithTheirPath) {
  EXPECT_EQ(refusal(mutation_options_from_json(
                parse(R"({"expected_revision": -1})"))),
            "mutation options.expected_revision: expected a non-negative "
            "integer, got the number -1");
  EXPECT_EQ(
      refusal(mutation_options_from_json(parse(R"({"with_history": "no"})"))),
      "mutation options.with_history: expected true or false, got \"no\"");
  EXPECT_EQ(refusal(mutation_options_from_json(json::value("x"))),
            "mutation options: expected an object or null, got \"x\"");
  EXPECT_EQ(refusal(progress_from_json(
                parse(R"({"counts": {"total": 1, "succeeded": "1"}})"))),
            "progress.counts.succeeded: expected a non-negative integer, got "
            "\"1\"");
  EXPECT_EQ(refusal(progress_from_json(parse(R"({"percent": "half"})"))),
            "progress.percent: expected a number, got \"half\"");
  EXPECT_EQ(refusal(completion_from_json(parse(R"({"status": "done"})"))),
            "completion.status: expected a job status (pending, running, "
            "succeeded, partially_succeeded, failed, cancelled), got \"done\"");
  EXPECT_EQ(refusal(completion_from_json(parse(R"({"error": {"code": "E"}})"))),
            "completion.error.message: required member is missing");
  EXPECT_EQ(refusal(rerun_options_from_json(parse(R"({"reason": "x"})"))),
            "rerun options.reason: unknown member (expected: correlation_id, "
            "details)");
}

TEST(ListQueryFromJson, ReadsFiltersPagingAndOrder) {
  auto q = list_query_from_json(parse(R"({
      "account_id": "acme", "project_id": "alpha", "status": "running",
      "kind": "parse", "parent_id": "01932c07-8a1b-7c3d-9e4f-0123456789ab",
      "limit": 5, "cursor": "abc", "order": "oldest_first"})"));
  ASSERT_TRUE(q.has_value()) << q.error().detail();
  EXPECT_EQ(q->status, job_status::running);
  EXPECT_EQ(q->kind, "parse");
  EXPECT_TRUE(q->parent_id.has_value());
  EXPECT_EQ(q->limit, 5u);
  EXPECT_EQ(q->cursor, "abc");
  EXPECT_EQ(q->order, list_order::oldest_first);
  EXPECT_TRUE(q->with_history);  // The default.

  auto lean = list_query_from_json(parse(
      R"({"account_id": "a", "project_id": "p", "with_history": false})"));
  ASSERT_TRUE(lean.has_value()) << lean.error().detail();
  EXPECT_FALSE(lean->with_history);
  EXPECT_EQ(
      refusal(list_query_from_json(parse(
          R"({"account_id": "a", "project_id": "p", "with_history": 0})"))),
      "list query.with_history: expected true or false, got the number 0");

  EXPECT_EQ(refusal(list_query_from_json(parse(
                R"({"account_id": "a", "project_id": "p", "order": "up"})"))),
            "list query.order: expected \"newest_first\" or "
            "\"oldest_first\", got \"up\"");
  EXPECT_EQ(
      refusal(list_query_from_json(parse(
          R"({"account_id": "a", "project_id": "p", "parent_id": "x"})"))),
      "list query.parent_id: expected a UUID such as "
      "\"01932c07-8a1b-7c3d-9e4f-0123456789ab\", got \"x\"");

  const job_ref parent{"acme", "alpha", job_id::generate()};
  auto children = children_query_from_json(parent, parse(R"({"limit": 2})"));
  ASSERT_TRUE(children.has_value());
  EXPECT_EQ(children->parent_id, parent.id);
  EXPECT_EQ(children->account_id, "acme");
  EXPECT_EQ(children->limit, 2u);
  EXPECT_EQ(
      refusal(children_query_from_json(parent, parse(R"({"kind": "x"})"))),
      "children query.kind: unknown member (expected: status, limit, "
      "cursor, order, with_history)");
}

TEST(WaitConditionFromJson, ReadsEachForm) {
  job j;
  j.status = job_status::running;
  j.revision = 4;
  auto terminal = wait_condition_from_json(nullptr);
  ASSERT_TRUE(terminal.has_value());
  EXPECT_EQ(*terminal, wait_condition::terminal());
  EXPECT_EQ(*wait_condition_from_json(parse(R"({"terminal": true})")),
            wait_condition::terminal());
  EXPECT_EQ(*wait_condition_from_json(parse(R"({"changed_after": 3})")),
            wait_condition::changed_after(3));
  EXPECT_EQ(
      *wait_condition_from_json(
          parse(R"({"status_in": ["running", "failed"]})")),
      wait_condition::status_in({job_status::running, job_status::failed}));

  EXPECT_EQ(refusal(wait_condition_from_json(
                parse(R"({"terminal": true, "changed_after": 1})"))),
            "wait condition: give one of \"terminal\", \"changed_after\" and "
            "\"status_in\"");
  EXPECT_EQ(refusal(wait_condition_from_json(parse(R"({"terminal": false})"))),
            "wait condition.terminal: must be true when given");
  EXPECT_EQ(refusal(wait_condition_from_json(parse(R"({"status_in": []})"))),
            "wait condition.status_in: expected at least one job status");
  EXPECT_EQ(
      refusal(wait_condition_from_json(parse(R"({"status_in": ["run"]})"))),
      "wait condition.status_in[0]: expected a job status (pending, running, "
      "succeeded, partially_succeeded, failed, cancelled), got \"run\"");
}

TEST(OtherRequestsFromJson, PurgeWatchAndOptions) {
  auto p = purge_request_from_json(
      parse(R"({"older_than_seconds": 60, "max_jobs": 7})"));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->older_than, 60s);
  EXPECT_EQ(p->max_jobs, 7u);
  EXPECT_EQ(refusal(purge_request_from_json(
                parse(R"({"older_than_seconds": 18446744073709551615})"))),
            "purge request.older_than_seconds: expected at most 9223372036 "
            "seconds, got 18446744073709551615");

  auto w = watch_request_from_json(parse(
      R"({"after": 9, "limit": 3, "account_id": "a", "bookmark_after_ms": -1})"));
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->after, 9u);
  EXPECT_EQ(w->limit, 3u);
  EXPECT_EQ(w->account_id, "a");
  EXPECT_EQ(w->bookmark_after, wait_forever);

  auto o = options_from_json("db", parse(R"({"durability": "no_sync",
      "map_size": 1048576, "tombstone_retention_seconds": 5,
      "write_map": false, "limits": {"max_history": 7}})"));
  ASSERT_TRUE(o.has_value()) << o.error().detail();
  EXPECT_EQ(o->path, "db");
  EXPECT_EQ(o->durability, durability::no_sync);
  EXPECT_EQ(o->map_size, 1048576u);
  EXPECT_FALSE(o->write_map);
  EXPECT_TRUE(options_from_json("db", nullptr)->write_map);
  EXPECT_EQ(
      refusal(options_from_json("db", parse(R"({"write_map": 1})"))),
      "engine options.write_map: expected true or false, got the number 1");
  EXPECT_EQ(o->tombstone_retention, 5s);
  EXPECT_EQ(o->limits.max_history, 7u);
  EXPECT_EQ(
      refusal(options_from_json("db", parse(R"({"durability": "some"})"))),
      "engine options.durability: expected \"full\", \"no_meta_sync\" "
      "or \"no_sync\", got \"some\"");
  EXPECT_EQ(refusal(options_from_json(
                "db", parse(R"({"limits": {"max_histroy": 7}})"))),
            "engine options.limits.max_histroy: unknown member (expected: "
            "max_id_size, max_kind_size, max_json_size, max_text_size, "
            "max_history, max_page_size, max_batch_children)");
}

TEST(ForeignCallerHelpers, JobRefsAndTimeouts) {
  auto ref = make_job_ref("a", "p", "01932C07-8A1B-7C3D-9E4F-0123456789AB");
  ASSERT_TRUE(ref.has_value());
  EXPECT_EQ(ref->id.to_string(), "01932c07-8a1b-7c3d-9e4f-0123456789ab");
  EXPECT_EQ(refusal(make_job_ref("a", "p", "nope")),
            "job id: expected a UUID such as "
            "\"01932c07-8a1b-7c3d-9e4f-0123456789ab\", got \"nope\"");
  EXPECT_EQ(timeout_from_ms(-1), wait_forever);
  EXPECT_EQ(timeout_from_ms(0), 0ms);
  EXPECT_EQ(timeout_from_ms(1500), 1500ms);
}

TEST(AnswersToJson, ChangePagesBatchesPurgesWaits) {
  change c;
  c.sequence = 42;
  c.at = timestamp{} + 1s;
  c.id = job_id::parse("01932c07-8a1b-7c3d-9e4f-0123456789ab").value();
  c.account_id = "acme";
  c.project_id = "alpha";
  c.status = job_status::running;
  c.revision = 2;
  c.step = "started";
  const json::value change_json = parse(R"({"sequence": 42,
      "at": "1970-01-01T00:00:01.000000Z",
      "id": "01932c07-8a1b-7c3d-9e4f-0123456789ab", "account_id": "acme",
      "project_id": "alpha", "status": "running", "revision": 2,
      "step": "started"})");
  EXPECT_EQ(to_json(c), change_json);
  EXPECT_EQ(to_json(change_batch{{c}, 50}),
            (json::object{{"changes", json::array{change_json}},
                          {"last_sequence", 50}}));

  job j;
  j.id = c.id;
  EXPECT_EQ(to_json(job_page{{j}, "next"}),
            (json::object{{"jobs", json::array{to_json(j)}},
                          {"next_cursor", "next"}}));
  EXPECT_EQ(to_json(job_page{}),
            (json::object{{"jobs", json::array{}}, {"next_cursor", nullptr}}));
  EXPECT_EQ(to_json(created_batch{j, {c.id}, false}),
            (json::object{{"parent", to_json(j)},
                          {"child_ids", json::array{c.id.to_string()}},
                          {"created", false}}));
  EXPECT_EQ(to_json(purge_result{3, 1, true}),
            parse(R"({"purged": 3, "tombstones_expired": 1, "more": true})"));
  EXPECT_EQ(to_json(wait_result{j, true, 0}),
            (json::object{{"job", to_json(j)},
                          {"timed_out", true},
                          {"satisfied_revision", 0}}));
}

TEST(AnswersToJson, EngineStats) {
  test::test_engine e;
  create_request request;
  request.account_id = "acme";
  request.project_id = "alpha";
  request.kind = "parse";
  e->create(request).value();
  const json::value v = to_json(e->stats().value());
  EXPECT_EQ(v.at("jobs_by_status").at("pending"), 1);
  EXPECT_EQ(v.at("jobs_by_status").at("running"), 0);
  EXPECT_EQ(v.at("changes_by_step").at("created"), 1);
  EXPECT_EQ(v.at("waits_pending"), 0);
  EXPECT_EQ(v.at("commits").at("count"), 1);
  EXPECT_EQ(v.at("commits").at("bucket_counts").as_array().size(),
            v.at("commits").at("bucket_bounds_seconds").as_array().size() + 1);
}

}  // namespace
}  // namespace jobstate
