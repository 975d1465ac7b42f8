// The native JSON shape of a job: to_json, job_from_json and the Boost.JSON
// conversions of include/jobstate/json.hpp.
#include <jobstate/json.hpp>

#include "support/jobs.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace jobstate {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// 2026-11-24T23:30:39.123456Z plus `later`.
timestamp when(std::chrono::microseconds later = 0us) {
  using namespace std::chrono;
  return sys_days{year{2026} / 11 / 24} + 23h + 30min + 39s + 123456us + later;
}

job_id id_of(std::string_view text) { return job_id::parse(text).value(); }

// A job with every member set, as a rerun child of a batch that failed after
// reporting progress.
job full_job() {
  job j;
  j.id = id_of("01932c07-8a1b-7c3d-9e4f-0123456789ab");
  j.account_id = "acme";
  j.project_id = "alpha";
  j.kind = "chat/completions";
  j.status = job_status::failed;
  j.created_at = when();
  j.started_at = when(1500ms);
  j.completed_at = when(61s + 7us);
  j.source_id = "doc-17";
  j.correlation_id = "trace-9";
  j.idempotency_key = "key-1";
  j.original_job_id = id_of("01932c07-0000-7000-8000-000000000001");
  j.parent_id = id_of("01932c07-0000-7000-8000-000000000002");
  j.attempt = 2;
  j.input = json::object{{"document", "report.pdf"}, {"pages", {1, 2, 3}}};
  j.result = json::object{{"partial", true}};
  j.error = job_error{"timeout", "model did not answer in 60 s"};
  j.progress.percent = 40;
  j.progress.counts = progress_counts{10, 3, 1, 0, 6};
  j.progress.details = json::object{{"stage", "pages"}};
  j.history = {
      {"created", when(), 0, job_status::pending, nullptr},
      {"started", when(1500ms), 1500, job_status::running,
       json::object{{"worker", "w-1"}}},
      {"failed", when(61s + 7us), 59500, job_status::failed, nullptr},
  };
  j.revision = 3;
  return j;
}

// What full_job() must look like, member for member and in this order: a
// change here changes the wire format of every surface.
constexpr std::string_view full_job_text = R"({
  "id": "01932c07-8a1b-7c3d-9e4f-0123456789ab",
  "account_id": "acme",
  "project_id": "alpha",
  "kind": "chat/completions",
  "status": "failed",
  "created_at": "2026-11-24T23:30:39.123456Z",
  "started_at": "2026-11-24T23:30:40.623456Z",
  "completed_at": "2026-11-24T23:31:40.123463Z",
  "source_id": "doc-17",
  "correlation_id": "trace-9",
  "idempotency_key": "key-1",
  "original_job_id": "01932c07-0000-7000-8000-000000000001",
  "parent_id": "01932c07-0000-7000-8000-000000000002",
  "attempt": 2,
  "is_batch": false,
  "input": {"document": "report.pdf", "pages": [1, 2, 3]},
  "result": {"partial": true},
  "error": {"code": "timeout", "message": "model did not answer in 60 s"},
  "progress": {
    "percent": 40,
    "counts": {"total": 10, "succeeded": 3, "failed": 1, "cancelled": 0,
               "pending": 6, "running": 0, "partially_succeeded": 0},
    "details": {"stage": "pages"}
  },
  "history": [
    {"step": "created", "timestamp": "2026-11-24T23:30:39.123456Z",
     "duration_ms": 0, "status": "pending", "details": null},
    {"step": "started", "timestamp": "2026-11-24T23:30:40.623456Z",
     "duration_ms": 1500, "status": "running", "details": {"worker": "w-1"}},
    {"step": "failed", "timestamp": "2026-11-24T23:31:40.123463Z",
     "duration_ms": 59500, "status": "failed", "details": null}
  ],
  "revision": 3
})";

// job_from_json's error detail for `doc`, which must be refused.
std::string refusal(const json::value& doc) {
  const result<job> r = job_from_json(doc);
  EXPECT_FALSE(r) << json::serialize(doc);
  if (r) return {};
  EXPECT_EQ(r.code(), make_error_code(errc::invalid_argument));
  return r.error().detail();
}

// to_json(full_job()) with one change made by `edit`.
json::value full_json_with(const std::function<void(json::object&)>& edit) {
  json::value v = to_json(full_job());
  edit(v.as_object());
  return v;
}

TEST(JobJson, FullJobHasTheDocumentedShape) {
  const json::value v = to_json(full_job());
  const json::value expected = json::parse(full_job_text);
  EXPECT_EQ(v, expected) << json::serialize(v);
  // Same text too, which also pins the order of members.
  EXPECT_EQ(json::serialize(v), json::serialize(expected));
}

TEST(JobJson, FullJobRoundTripsExactly) {
  const job j = full_job();
  const result<job> back = job_from_json(to_json(j));
  ASSERT_TRUE(back) << back.error().detail();
  EXPECT_EQ(*back, j);
}

TEST(JobJson, FullJobRoundTripsThroughText) {
  const job j = full_job();
  const std::string text = json::serialize(to_json(j));
  const result<job> back = job_from_json(json::parse(text));
  ASSERT_TRUE(back) << back.error().detail();
  EXPECT_EQ(*back, j);
  EXPECT_EQ(json::serialize(to_json(*back)), text);
}

TEST(JobJson, MinimalJobWritesNulls) {
  job j;
  j.id = id_of("01932c07-8a1b-7c3d-9e4f-0123456789ab");
  j.account_id = "a";
  j.project_id = "p";
  j.kind = "parse";
  j.created_at = when();
  j.revision = 1;
  const json::value v = to_json(j);
  EXPECT_EQ(v, json::parse(R"({
    "id": "01932c07-8a1b-7c3d-9e4f-0123456789ab",
    "account_id": "a", "project_id": "p", "kind": "parse",
    "status": "pending", "created_at": "2026-11-24T23:30:39.123456Z",
    "started_at": null, "completed_at": null, "source_id": null,
    "correlation_id": null, "idempotency_key": null,
    "original_job_id": null, "parent_id": null, "attempt": 1,
    "is_batch": false, "input": null, "result": null, "error": null,
    "progress": {"percent": null, "counts": null, "details": null},
    "history": [], "revision": 1})"))
      << json::serialize(v);
  const result<job> back = job_from_json(v);
  ASSERT_TRUE(back) << back.error().detail();
  EXPECT_EQ(*back, j);
}

TEST(JobJson, DefaultJobRoundTrips) {
  const job j;  // Nil id, the epoch, empty strings.
  const json::value v = to_json(j);
  EXPECT_EQ(v.at("id"), "00000000-0000-0000-0000-000000000000");
  EXPECT_EQ(v.at("created_at"), "1970-01-01T00:00:00.000000Z");
  const result<job> back = job_from_json(v);
  ASSERT_TRUE(back) << back.error().detail();
  EXPECT_EQ(*back, j);
}

TEST(JobJson, EveryStatusRoundTrips) {
  for (job_status status : all_job_statuses) {
    job j = full_job();
    j.status = status;
    j.history[1].status = status;
    const json::value v = to_json(j);
    EXPECT_EQ(v.at("status"), json::value(to_string(status)));
    EXPECT_EQ(v.at("history").at(1).at("status"),
              json::value(to_string(status)));
    const result<job> back = job_from_json(v);
    ASSERT_TRUE(back) << back.error().detail();
    EXPECT_EQ(*back, j);
  }
}

TEST(JobJson, PartialProgressWritesNullParts) {
  job j = full_job();
  j.progress = {};
  j.progress.counts = progress_counts{2, 1, 0, 0, 1};
  const json::value v = to_json(j);
  EXPECT_EQ(v.at("progress"),
            json::parse(R"({"percent": null, "counts": {"total": 2,
              "succeeded": 1, "failed": 0, "cancelled": 0, "pending": 1,
              "running": 0, "partially_succeeded": 0},
              "details": null})"));
  EXPECT_EQ(*job_from_json(v), j);

  j.progress = {};
  j.progress.percent = 0;
  EXPECT_EQ(to_json(j).at("progress"),
            json::parse(R"({"percent": 0, "counts": null, "details": null})"));
  EXPECT_EQ(*job_from_json(to_json(j)), j);
}

TEST(JobJson, FractionalPercentRoundTripsExactly) {
  for (double percent :
       {12.5, 33.333333333333336, 0.1, 99.99999999999999, 1e-300}) {
    job j = full_job();
    j.progress.percent = percent;
    const json::value v = to_json(j);
    EXPECT_TRUE(v.at("progress").at("percent").is_double());
    const result<job> back = job_from_json(v);
    ASSERT_TRUE(back) << back.error().detail();
    EXPECT_EQ(back->progress.percent, percent);
  }
}

TEST(JobJson, FractionalPercentRoundTripsThroughText) {
  // Numbers whose text is exact. Boost 1.81's parser may read others one
  // unit in the last place off (boostorg/json#599, e.g. 99.99999999999999
  // comes back as 100); the serializer writes the shortest exact text, so a
  // correctly rounding reader (Python, JavaScript) gets the same double.
  for (double percent : {12.5, 0.25, 62.5, 99.5}) {
    job j = full_job();
    j.progress.percent = percent;
    const std::string text = json::serialize(to_json(j));
    const result<job> back = job_from_json(json::parse(text));
    ASSERT_TRUE(back) << back.error().detail();
    EXPECT_EQ(back->progress.percent, percent) << text;
  }
  job whole = full_job();
  whole.progress.percent = 100;
  EXPECT_EQ(json::serialize(to_json(whole).at("progress").at("percent")),
            "100");
}

TEST(JobJson, LimitsOfIntegersRoundTrip) {
  job j = full_job();
  j.attempt = 4294967295u;
  j.revision = 18446744073709551615u;
  j.progress.counts->total = 18446744073709551615u;
  j.history[0].duration_ms = -5;  // A clock that stepped back.
  j.history[1].duration_ms = 9223372036854775807;
  const result<job> back =
      job_from_json(json::parse(json::serialize(to_json(j))));
  ASSERT_TRUE(back) << back.error().detail();
  EXPECT_EQ(*back, j);
}

TEST(JobJson, TimestampsHaveMicrosecondsAndZ) {
  job j = full_job();
  j.created_at = when(-123456us);  // A whole second: still six digits.
  j.started_at = when(876544us);   // 23:30:40.000000
  const json::value v = to_json(j);
  EXPECT_EQ(v.at("created_at"), "2026-11-24T23:30:39.000000Z");
  EXPECT_EQ(v.at("started_at"), "2026-11-24T23:30:40.000000Z");
  EXPECT_EQ(*job_from_json(v), j);
}

TEST(JobJson, OmittedNullableMembersReadAsNull) {
  const json::value v = json::parse(R"({
    "id": "01932c07-8a1b-7c3d-9e4f-0123456789ab",
    "account_id": "a", "project_id": "p", "kind": "parse",
    "status": "running", "created_at": "2026-11-24T23:30:39.123456Z",
    "attempt": 1, "progress": {}, "history": [], "revision": 2})");
  const result<job> j = job_from_json(v);
  ASSERT_TRUE(j) << j.error().detail();
  EXPECT_EQ(j->status, job_status::running);
  EXPECT_FALSE(j->started_at);
  EXPECT_FALSE(j->source_id);
  EXPECT_FALSE(j->original_job_id);
  EXPECT_FALSE(j->error);
  EXPECT_TRUE(j->input.is_null());
  EXPECT_TRUE(j->result.is_null());
  EXPECT_EQ(j->progress, progress{});
  EXPECT_EQ(j->revision, 2u);
}

TEST(JobJson, ReadingIsTolerantWhereDocumented) {
  json::value v = to_json(full_job());
  json::object& o = v.as_object();
  o["id"] = "01932C07-8A1B-7C3D-9E4F-0123456789AB";
  o["created_at"] = "2026-11-25T01:30:39.123456789+02:00";
  o["attempt"] = 2.0;
  o["revision"] = std::uint64_t{3};
  o["progress"].as_object()["percent"] = 40.0;
  o["object"] = "job";  // Unknown members are ignored.
  o["history"].as_array()[1].as_object()["duration_ms"] = 1500.0;
  const result<job> back = job_from_json(v);
  ASSERT_TRUE(back) << back.error().detail();
  EXPECT_EQ(*back, full_job());
}

struct malformed_case {
  std::string_view label;
  std::function<void(json::object&)> edit;
  std::string_view detail;  // Expected at the start of the error detail.
};

TEST(JobJson, MalformedInputsNameTheMember) {
  const std::vector<malformed_case> cases = {
      {"id not a UUID", [](json::object& o) { o["id"] = "nope"; },
       "job.id: expected a UUID such as "
       "\"01932c07-8a1b-7c3d-9e4f-0123456789ab\", got \"nope\""},
      {"id a number", [](json::object& o) { o["id"] = 7; },
       "job.id: expected a UUID"},
      {"kind missing", [](json::object& o) { o.erase("kind"); },
       "job.kind: required member is missing"},
      {"kind null", [](json::object& o) { o["kind"] = nullptr; },
       "job.kind: expected a string, got null"},
      {"account_id an array",
       [](json::object& o) { o["account_id"] = json::array{}; },
       "job.account_id: expected a string, got an array"},
      {"status unknown", [](json::object& o) { o["status"] = "done"; },
       "job.status: expected a job status (pending, running, succeeded, "
       "partially_succeeded, failed, cancelled), got \"done\""},
      {"status upper case", [](json::object& o) { o["status"] = "RUNNING"; },
       "job.status: expected a job status"},
      {"created_at malformed",
       [](json::object& o) { o["created_at"] = "yesterday"; },
       "job.created_at: expected an RFC 3339 timestamp such as "
       "\"2026-11-24T23:30:39.123456Z\", got \"yesterday\""},
      {"created_at null", [](json::object& o) { o["created_at"] = nullptr; },
       "job.created_at: expected an RFC 3339 timestamp"},
      {"created_at without zone",
       [](json::object& o) { o["created_at"] = "2026-11-24T23:30:39"; },
       "job.created_at: expected an RFC 3339 timestamp"},
      {"started_at a number", [](json::object& o) { o["started_at"] = 5; },
       "job.started_at: expected an RFC 3339 timestamp"},
      {"original_job_id bad",
       [](json::object& o) { o["original_job_id"] = "x"; },
       "job.original_job_id: expected a UUID"},
      {"source_id a number", [](json::object& o) { o["source_id"] = 1; },
       "job.source_id: expected a string, got the number 1"},
      {"attempt negative", [](json::object& o) { o["attempt"] = -1; },
       "job.attempt: expected an integer from 0 to 4294967295, got the "
       "number -1"},
      {"attempt fractional", [](json::object& o) { o["attempt"] = 1.5; },
       "job.attempt: expected an integer from 0 to 4294967295"},
      {"attempt too large", [](json::object& o) { o["attempt"] = 4294967296; },
       "job.attempt: expected an integer from 0 to 4294967295"},
      {"revision a string", [](json::object& o) { o["revision"] = "3"; },
       "job.revision: expected a non-negative integer, got \"3\""},
      {"revision missing", [](json::object& o) { o.erase("revision"); },
       "job.revision: required member is missing"},
      {"error a string", [](json::object& o) { o["error"] = "boom"; },
       "job.error: expected an object, got \"boom\""},
      {"error without message",
       [](json::object& o) {
         o["error"] = json::object{{"code", "x"}};
       },
       "job.error.message: required member is missing"},
      {"progress null", [](json::object& o) { o["progress"] = nullptr; },
       "job.progress: expected an object, got null"},
      {"progress missing", [](json::object& o) { o.erase("progress"); },
       "job.progress: required member is missing"},
      {"percent a string",
       [](json::object& o) { o["progress"].as_object()["percent"] = "50"; },
       "job.progress.percent: expected a number, got \"50\""},
      {"counts negative",
       [](json::object& o) {
         o["progress"].at("counts").as_object()["total"] = -1;
       },
       "job.progress.counts.total: expected a non-negative integer"},
      {"counts missing pending",
       [](json::object& o) {
         o["progress"].at("counts").as_object().erase("pending");
       },
       "job.progress.counts.pending: required member is missing"},
      {"history an object",
       [](json::object& o) { o["history"] = json::object{}; },
       "job.history: expected an array, got an object"},
      {"history element a number",
       [](json::object& o) { o["history"].as_array()[2] = 4; },
       "job.history[2]: expected an object, got the number 4"},
      {"history timestamp bad",
       [](json::object& o) {
         o["history"].as_array()[1].as_object()["timestamp"] = "soon";
       },
       "job.history[1].timestamp: expected an RFC 3339 timestamp"},
      {"history timestamp missing",
       [](json::object& o) {
         o["history"].as_array()[0].as_object().erase("timestamp");
       },
       "job.history[0].timestamp: required member is missing"},
      {"history duration a string",
       [](json::object& o) {
         o["history"].as_array()[0].as_object()["duration_ms"] = "x";
       },
       "job.history[0].duration_ms: expected an integer, got \"x\""},
      {"history duration too large",
       [](json::object& o) {
         o["history"].as_array()[0].as_object()["duration_ms"] =
             std::uint64_t{9223372036854775808u};
       },
       "job.history[0].duration_ms: expected an integer"},
      {"history status bad",
       [](json::object& o) {
         o["history"].as_array()[2].as_object()["status"] = "canceled";
       },
       "job.history[2].status: expected a job status"},
  };
  for (const malformed_case& c : cases) {
    const std::string detail = refusal(full_json_with(c.edit));
    EXPECT_EQ(detail.rfind(c.detail, 0), 0u)
        << c.label << "\n  got:      " << detail << "\n  expected: " << c.detail
        << "...";
  }
}

TEST(JobJson, NotAnObjectIsRefused) {
  EXPECT_EQ(refusal(json::array{}), "job: expected an object, got an array");
  EXPECT_EQ(refusal(nullptr), "job: expected an object, got null");
  EXPECT_EQ(refusal(json::value(true)), "job: expected an object, got true");
}

TEST(JobJson, ErrorDetailsQuoteInputSafely) {
  const std::string detail = refusal(full_json_with(
      [](json::object& o) { o["status"] = std::string(100, 'x') + "\n"; }));
  EXPECT_NE(detail.find("got \"" + std::string(64, 'x') + "...\""),
            std::string::npos)
      << detail;
  EXPECT_EQ(detail.find('\n'), std::string::npos) << detail;
}

TEST(JobJson, FirstFailureIsReported) {
  const std::string detail = refusal(full_json_with([](json::object& o) {
    o["kind"] = 1;
    o["revision"] = "x";
  }));
  EXPECT_EQ(detail.rfind("job.kind:", 0), 0u) << detail;
}

TEST(JobJson, ValueFromUsesTheSameShape) {
  const job j = full_job();
  EXPECT_EQ(json::value_from(j), to_json(j));
  EXPECT_EQ(json::value_from(job_status::partially_succeeded),
            "partially_succeeded");
  EXPECT_EQ(json::value_from(j.id), "01932c07-8a1b-7c3d-9e4f-0123456789ab");
  EXPECT_EQ(json::value_from(*j.error), to_json(j).at("error"));
  EXPECT_EQ(json::value_from(j.progress), to_json(j).at("progress"));
  EXPECT_EQ(json::value_from(*j.progress.counts),
            to_json(j).at("progress").at("counts"));
  EXPECT_EQ(json::value_from(j.history[1]), to_json(j).at("history").at(1));
  // Boost's own containers pick the overloads up.
  const json::value many = json::value_from(std::vector<job>{j, j});
  ASSERT_TRUE(many.is_array());
  EXPECT_EQ(many.as_array().size(), 2u);
  EXPECT_EQ(many.at(1), to_json(j));
}

TEST(JobJson, ValueFromKeepsTheCallersStorage) {
  json::monotonic_resource resource;
  const json::storage_ptr sp(&resource);
  const json::value v = json::value_from(full_job(), sp);
  EXPECT_EQ(v, to_json(full_job()));
  EXPECT_TRUE(v.storage() == sp);
  EXPECT_TRUE(v.at("input").storage() == sp);
  EXPECT_TRUE(v.at("progress").at("counts").storage() == sp);
  EXPECT_TRUE(v.at("history").at(1).at("details").storage() == sp);
}

TEST(JobJson, ValueToReadsEveryType) {
  const job j = full_job();
  const json::value v = to_json(j);
  EXPECT_EQ(json::value_to<job>(v), j);
  EXPECT_EQ(json::value_to<job_status>(json::value("cancelled")),
            job_status::cancelled);
  EXPECT_EQ(json::value_to<job_id>(v.at("id")), j.id);
  EXPECT_EQ(json::value_to<job_error>(v.at("error")), *j.error);
  EXPECT_EQ(json::value_to<progress>(v.at("progress")), j.progress);
  EXPECT_EQ(json::value_to<progress_counts>(v.at("progress").at("counts")),
            *j.progress.counts);
  EXPECT_EQ(json::value_to<history_event>(v.at("history").at(2)), j.history[2]);
  EXPECT_EQ(
      json::value_to<std::vector<job>>(json::value_from(std::vector<job>{j})),
      std::vector<job>{j});
}

TEST(JobJson, ValueToThrowsWithTheDetail) {
  try {
    (void)json::value_to<job_status>(json::value("done"));
    FAIL() << "value_to accepted \"done\"";
  } catch (const jobstate::system_error& e) {
    EXPECT_EQ(e.error().code(), make_error_code(errc::invalid_argument));
    EXPECT_EQ(e.error().detail().rfind("job_status: expected a job status", 0),
              0u)
        << e.error().detail();
  }
  try {
    (void)json::value_to<progress>(json::parse(R"({"percent": "x"})"));
    FAIL() << "value_to accepted a string percent";
  } catch (const jobstate::system_error& e) {
    EXPECT_EQ(
        e.error().detail().rfind("progress.percent: expected a number", 0), 0u)
        << e.error().detail();
  }
}

TEST(JobJson, TryValueToReportsInvalidArgument) {
  const job j = full_job();
  const auto ok = json::try_value_to<job>(to_json(j));
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, j);

  const auto bad = json::try_value_to<job>(json::array{});
  ASSERT_TRUE(bad.has_error());
  EXPECT_TRUE(bad.error() == make_error_code(errc::invalid_argument))
      << bad.error().message();

  for (const json::value& v :
       {json::value("x"), json::value(1), json::value(nullptr)}) {
    EXPECT_TRUE(json::try_value_to<job_id>(v).has_error());
    EXPECT_TRUE(json::try_value_to<job_status>(v).has_error());
    EXPECT_TRUE(json::try_value_to<job_error>(v).has_error());
    EXPECT_TRUE(json::try_value_to<progress>(v).has_error());
    EXPECT_TRUE(json::try_value_to<progress_counts>(v).has_error());
    EXPECT_TRUE(json::try_value_to<history_event>(v).has_error());
  }
}

}  // namespace
}  // namespace jobstate
