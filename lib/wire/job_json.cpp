// The native JSON shape of a job (include/jobstate/json.hpp), written and read
// by hand so that it stays put when the structs change.
#include <jobstate/json.hpp>
#include <jobstate/json_reader.hpp>
#include <jobstate/timestamp.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value_from.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace jobstate {
namespace {

namespace json = boost::json;

// Doubles hold every integer up to 2^53 exactly; past it, a "whole" double
// may not be the integer its writer meant.
constexpr double max_exact_integer = 9007199254740992.0;

// --- writing ---

// The members are emplaced into the object, so that they share its storage
// (a caller of value_from may pass a monotonic resource, say).

void put(json::object& o, std::string_view key,
         const std::optional<std::string>& s) {
  if (s) {
    o.emplace(key, *s);
  } else {
    o.emplace(key, nullptr);
  }
}

// Straight into the object's storage: no std::string in between.
void put(json::object& o, std::string_view key, timestamp t) {
  char text[timestamp_text_size];
  format_timestamp(t, text);
  o.emplace(key, json::string_view(text, sizeof text));
}

void put(json::object& o, std::string_view key,
         const std::optional<timestamp>& t) {
  if (t) {
    put(o, key, *t);
  } else {
    o.emplace(key, nullptr);
  }
}

void put(json::object& o, std::string_view key,
         const std::optional<job_id>& id) {
  if (id) {
    o.emplace(key, id->to_string());
  } else {
    o.emplace(key, nullptr);
  }
}

// A whole percent is written as an integer: Boost.JSON writes doubles in
// exponent form ("5E1"), which people reading a response should not have to
// decode for the common case.
void put_percent(json::object& o, std::optional<double> percent) {
  if (!percent) {
    o.emplace("percent", nullptr);
  } else if (std::trunc(*percent) == *percent &&
             std::fabs(*percent) <= max_exact_integer) {
    o.emplace("percent", static_cast<std::int64_t>(*percent));
  } else {
    o.emplace("percent", *percent);
  }
}

}  // namespace

// --- reading: the record's parts (the primitives are in reader.cpp) ---

namespace wire {

void read(reader& r, const json::value& v, const path& p, job_error& out) {
  object_reader o(r, v, p, object_reader::mode::lenient);
  o.required("code", out.code);
  o.required("message", out.message);
}

void read(reader& r, const json::value& v, const path& p,
          progress_counts& out) {
  object_reader o(r, v, p, object_reader::mode::lenient);
  o.required("total", out.total);
  o.required("succeeded", out.succeeded);
  o.required("failed", out.failed);
  o.required("cancelled", out.cancelled);
  o.required("pending", out.pending);
  // Members added after the first release: absent means the default.
  o.optional("running", out.running);
  o.optional("partially_succeeded", out.partially_succeeded);
}

void read(reader& r, const json::value& v, const path& p, progress& out) {
  object_reader o(r, v, p, object_reader::mode::lenient);
  o.required("percent", out.percent);
  o.required("counts", out.counts);
  o.required("details", out.details);
}

void read(reader& r, const json::value& v, const path& p, history_event& out) {
  object_reader o(r, v, p, object_reader::mode::lenient);
  o.required("step", out.step);
  o.required("timestamp", out.at);
  o.required("duration_ms", out.duration_ms);
  o.required("status", out.status);
  o.required("details", out.details);
  o.optional("epoch", out.epoch);  // Present only for an epoch.
}

void read(reader& r, const json::value& v, const path& p, lease& out) {
  object_reader o(r, v, p, object_reader::mode::lenient);
  o.required("worker_id", out.worker_id);
  o.required("epoch", out.epoch);
  o.required("expires_at", out.expires_at);
  std::int64_t ttl_ms = 0;
  o.required("ttl_ms", ttl_ms);
  out.ttl = std::chrono::milliseconds(ttl_ms);
}

void read_millis(object_reader& o, std::string_view name,
                 std::optional<std::chrono::milliseconds>& out) {
  std::optional<std::uint64_t> ms;
  o.optional(name, ms);
  if (!ms) return;
  if (*ms > (std::uint64_t{1} << 53)) {
    o.failures().fail(
        o.member_path(name),
        "expected at most 2^53 milliseconds, got " + std::to_string(*ms));
    return;
  }
  out = std::chrono::milliseconds(static_cast<std::int64_t>(*ms));
}

void read(reader& r, const json::value& v, const path& p, retry_policy& out) {
  object_reader o(r, v, p, object_reader::mode::strict);
  o.optional("max_attempts", out.max_attempts);
  std::optional<std::chrono::milliseconds> ms;
  read_millis(o, "initial_backoff_ms", ms);
  if (ms) out.initial_backoff = *ms;
  ms.reset();
  read_millis(o, "max_backoff_ms", ms);
  if (ms) out.max_backoff = *ms;
  o.optional("multiplier", out.multiplier);
  o.optional("jitter", out.jitter);
  o.optional("retry_on", out.retry_on);
  o.finish();
}

void read(reader& r, const json::value& v, const path& p, job& out) {
  object_reader o(r, v, p, object_reader::mode::lenient);
  o.required("id", out.id);
  o.required("account_id", out.account_id);
  o.required("project_id", out.project_id);
  o.required("kind", out.kind);
  o.required("status", out.status);
  o.required("created_at", out.created_at);
  o.required("started_at", out.started_at);
  o.required("completed_at", out.completed_at);
  o.required("source_id", out.source_id);
  o.required("correlation_id", out.correlation_id);
  o.required("idempotency_key", out.idempotency_key);
  o.required("original_job_id", out.original_job_id);
  o.required("parent_id", out.parent_id);
  o.required("attempt", out.attempt);
  o.optional("is_batch", out.is_batch);
  o.required("input", out.input);
  o.required("result", out.result);
  o.required("error", out.error);
  o.required("progress", out.progress);
  o.optional("lease", out.lease);  // Present only for a leased job.
  // Present only when set.
  o.optional("run_after", out.run_after);
  read_millis(o, "run_timeout_ms", out.run_timeout);
  read_millis(o, "pending_ttl_ms", out.pending_ttl);
  o.optional("retry", out.retry);
  o.required("history", out.history);
  o.required("revision", out.revision);
}

}  // namespace wire

namespace {

using wire::read_document;

template <class T>
boost::system::result<T> try_read_document(const json::value& v,
                                           std::string_view root) {
  result<T> r = read_document<T>(v, root);
  if (!r) {
    return {boost::system::in_place_error, boost::system::error_code(r.code())};
  }
  return {boost::system::in_place_value, std::move(*r)};
}

}  // namespace

json::value to_json(const job& j) { return json::value_from(j); }

result<job> job_from_json(const json::value& v) {
  return read_document<job>(v, "job");
}

// --- value_from ---

void tag_invoke(const json::value_from_tag&, json::value& v, const job& j) {
  json::object& o = v.emplace_object();
  o.reserve(22);  // The members below: no rehash while adding them.
  o.emplace("id", j.id.to_string());
  o.emplace("account_id", j.account_id);
  o.emplace("project_id", j.project_id);
  o.emplace("kind", j.kind);
  o.emplace("status", to_string(j.status));
  put(o, "created_at", j.created_at);
  put(o, "started_at", j.started_at);
  put(o, "completed_at", j.completed_at);
  put(o, "source_id", j.source_id);
  put(o, "correlation_id", j.correlation_id);
  put(o, "idempotency_key", j.idempotency_key);
  put(o, "original_job_id", j.original_job_id);
  put(o, "parent_id", j.parent_id);
  o.emplace("attempt", j.attempt);
  o.emplace("is_batch", j.is_batch);
  o.emplace("input", j.input);
  o.emplace("result", j.result);
  if (j.error) {
    o.emplace("error", json::value_from(*j.error, o.storage()));
  } else {
    o.emplace("error", nullptr);
  }
  o.emplace("progress", json::value_from(j.progress, o.storage()));
  if (j.lease) {
    json::object& l = o["lease"].emplace_object();
    l.emplace("worker_id", j.lease->worker_id);
    l.emplace("epoch", j.lease->epoch);
    put(l, "expires_at", j.lease->expires_at);
    l.emplace("ttl_ms", j.lease->ttl.count());
  }
  if (j.run_after) put(o, "run_after", *j.run_after);
  if (j.run_timeout) o.emplace("run_timeout_ms", j.run_timeout->count());
  if (j.pending_ttl) o.emplace("pending_ttl_ms", j.pending_ttl->count());
  if (j.retry) o.emplace("retry", json::value_from(*j.retry, o.storage()));
  o.emplace("history", json::value_from(j.history, o.storage()));
  o.emplace("revision", j.revision);
}

void tag_invoke(const json::value_from_tag&, json::value& v, job_status s) {
  v = to_string(s);
}

void tag_invoke(const json::value_from_tag&, json::value& v, const job_id& id) {
  v = id.to_string();
}

void tag_invoke(const json::value_from_tag&, json::value& v,
                const retry_policy& p) {
  json::object& o = v.emplace_object();
  o.emplace("max_attempts", p.max_attempts);
  o.emplace("initial_backoff_ms", p.initial_backoff.count());
  o.emplace("max_backoff_ms", p.max_backoff.count());
  o.emplace("multiplier", p.multiplier);
  o.emplace("jitter", p.jitter);
  json::array& codes = o["retry_on"].emplace_array();
  for (const std::string& code : p.retry_on) codes.emplace_back(code);
}

void tag_invoke(const json::value_from_tag&, json::value& v,
                const job_error& e) {
  json::object& o = v.emplace_object();
  o.emplace("code", e.code);
  o.emplace("message", e.message);
}

void tag_invoke(const json::value_from_tag&, json::value& v,
                const progress& p) {
  json::object& o = v.emplace_object();
  put_percent(o, p.percent);
  if (p.counts) {
    o.emplace("counts", json::value_from(*p.counts, o.storage()));
  } else {
    o.emplace("counts", nullptr);
  }
  o.emplace("details", p.details);
}

void tag_invoke(const json::value_from_tag&, json::value& v,
                const progress_counts& c) {
  json::object& o = v.emplace_object();
  o.emplace("total", c.total);
  o.emplace("succeeded", c.succeeded);
  o.emplace("failed", c.failed);
  o.emplace("cancelled", c.cancelled);
  o.emplace("pending", c.pending);
  o.emplace("running", c.running);
  o.emplace("partially_succeeded", c.partially_succeeded);
}

void tag_invoke(const json::value_from_tag&, json::value& v,
                const history_event& e) {
  json::object& o = v.emplace_object();
  o.emplace("step", e.step);
  put(o, "timestamp", e.at);
  o.emplace("duration_ms", e.duration_ms);
  o.emplace("status", to_string(e.status));
  o.emplace("details", e.details);
  if (e.epoch != 0) o.emplace("epoch", e.epoch);
}

// --- value_to: throws jobstate::system_error, keeping the detail ---

job tag_invoke(const json::value_to_tag<job>&, const json::value& v) {
  return read_document<job>(v, "job").value();
}
job_status tag_invoke(const json::value_to_tag<job_status>&,
                      const json::value& v) {
  return read_document<job_status>(v, "job_status").value();
}
job_id tag_invoke(const json::value_to_tag<job_id>&, const json::value& v) {
  return read_document<job_id>(v, "job_id").value();
}
job_error tag_invoke(const json::value_to_tag<job_error>&,
                     const json::value& v) {
  return read_document<job_error>(v, "job_error").value();
}
progress tag_invoke(const json::value_to_tag<progress>&, const json::value& v) {
  return read_document<progress>(v, "progress").value();
}
progress_counts tag_invoke(const json::value_to_tag<progress_counts>&,
                           const json::value& v) {
  return read_document<progress_counts>(v, "progress_counts").value();
}
history_event tag_invoke(const json::value_to_tag<history_event>&,
                         const json::value& v) {
  return read_document<history_event>(v, "history_event").value();
}

// --- try_value_to: the same, reported as an error code ---

boost::system::result<job> tag_invoke(const json::try_value_to_tag<job>&,
                                      const json::value& v) {
  return try_read_document<job>(v, "job");
}
boost::system::result<job_status> tag_invoke(
    const json::try_value_to_tag<job_status>&, const json::value& v) {
  return try_read_document<job_status>(v, "job_status");
}
boost::system::result<job_id> tag_invoke(const json::try_value_to_tag<job_id>&,
                                         const json::value& v) {
  return try_read_document<job_id>(v, "job_id");
}
boost::system::result<job_error> tag_invoke(
    const json::try_value_to_tag<job_error>&, const json::value& v) {
  return try_read_document<job_error>(v, "job_error");
}
boost::system::result<progress> tag_invoke(
    const json::try_value_to_tag<progress>&, const json::value& v) {
  return try_read_document<progress>(v, "progress");
}
boost::system::result<progress_counts> tag_invoke(
    const json::try_value_to_tag<progress_counts>&, const json::value& v) {
  return try_read_document<progress_counts>(v, "progress_counts");
}
boost::system::result<history_event> tag_invoke(
    const json::try_value_to_tag<history_event>&, const json::value& v) {
  return try_read_document<history_event>(v, "history_event");
}

}  // namespace jobstate
