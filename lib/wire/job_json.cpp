// The native JSON shape of a job (include/jobstate/json.hpp), written and read
// by hand so that it stays put when the structs change.
#include <jobstate/json.hpp>

#include "model/time.hpp"

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

void put(json::object& o, std::string_view key,
         const std::optional<timestamp>& t) {
  if (t) {
    o.emplace(key, model::format_rfc3339(*t));
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

// --- reading ---

// Where a value sits in the document, for error details:
// "job.history[2].step". Lives on the stack while reading descends, and is
// turned into text only when something is wrong.
class path {
 public:
  explicit path(std::string_view root) : name_(root) {}

  path member(std::string_view name) const { return path(this, name, 0); }
  path element(std::size_t index) const { return path(this, {}, index); }

  std::string str() const {
    std::string out = parent_ ? parent_->str() : std::string();
    if (!parent_) {
      out += name_;
    } else if (name_.empty()) {
      out += '[' + std::to_string(index_) + ']';
    } else {
      out += '.';
      out += name_;
    }
    return out;
  }

 private:
  path(const path* parent, std::string_view name, std::size_t index)
      : parent_(parent), name_(name), index_(index) {}

  const path* parent_ = nullptr;
  std::string_view name_;  // Empty for an array element.
  std::size_t index_ = 0;
};

// What was found instead of what was expected, briefly. Strings are quoted,
// printable ASCII only and cut short: input may be hostile, and the detail
// ends up in logs and responses.
std::string describe(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return v.get_bool() ? "true" : "false";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "the number " + json::serialize(v);
    case json::kind::string: {
      constexpr std::size_t max_shown = 64;
      const json::string& s = v.get_string();
      std::string out = "\"";
      for (std::size_t i = 0; i < s.size() && i < max_shown; ++i) {
        out += (s[i] >= 0x20 && s[i] <= 0x7e) ? s[i] : '?';
      }
      out += s.size() > max_shown ? "...\"" : "\"";
      return out;
    }
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "an unknown value";
}

// Collects the first failure of a read. Readers keep going with default
// values after a failure, which keeps each of them free of error plumbing;
// `field` stops descending once something has failed.
class reader {
 public:
  bool failed() const noexcept { return failure_.has_value(); }
  error take_failure() { return std::move(*failure_); }

  void fail(const path& p, std::string_view what) {
    if (!failure_) {
      failure_.emplace(errc::invalid_argument,
                       p.str() + ": " + std::string(what));
    }
  }
  void expected(const path& p, std::string_view what, const json::value& got) {
    fail(p, "expected " + std::string(what) + ", got " + describe(got));
  }

 private:
  std::optional<error> failure_;
};

// One reader per type of the record, each declared here so that the
// templates below find all of them.
void read(reader& r, const json::value& v, const path& p, std::string& out);
void read(reader& r, const json::value& v, const path& p, timestamp& out);
void read(reader& r, const json::value& v, const path& p, job_id& out);
void read(reader& r, const json::value& v, const path& p, job_status& out);
void read(reader& r, const json::value& v, const path& p, bool& out);
void read(reader& r, const json::value& v, const path& p, std::uint64_t& out);
void read(reader& r, const json::value& v, const path& p, std::uint32_t& out);
void read(reader& r, const json::value& v, const path& p, std::int64_t& out);
void read(reader& r, const json::value& v, const path& p, double& out);
void read(reader& r, const json::value& v, const path& p, json::value& out);
void read(reader& r, const json::value& v, const path& p, job_error& out);
void read(reader& r, const json::value& v, const path& p, progress_counts& out);
void read(reader& r, const json::value& v, const path& p, progress& out);
void read(reader& r, const json::value& v, const path& p, history_event& out);
void read(reader& r, const json::value& v, const path& p,
          std::vector<history_event>& out);
void read(reader& r, const json::value& v, const path& p, job& out);

void read(reader& r, const json::value& v, const path& p, std::string& out) {
  if (const json::string* s = v.if_string()) {
    out.assign(s->data(), s->size());
  } else {
    r.expected(p, "a string", v);
  }
}

void read(reader& r, const json::value& v, const path& p, timestamp& out) {
  std::optional<timestamp> t;
  if (const json::string* s = v.if_string()) {
    t = model::parse_rfc3339(*s);
  }
  if (t) {
    out = *t;
  } else {
    r.expected(
        p, "an RFC 3339 timestamp such as \"2026-11-24T23:30:39.123456Z\"", v);
  }
}

void read(reader& r, const json::value& v, const path& p, job_id& out) {
  std::optional<job_id> id;
  if (const json::string* s = v.if_string()) id = job_id::parse(*s);
  if (id) {
    out = *id;
  } else {
    r.expected(p, "a UUID such as \"01932c07-8a1b-7c3d-9e4f-0123456789ab\"", v);
  }
}

void read(reader& r, const json::value& v, const path& p, job_status& out) {
  std::optional<job_status> status;
  if (const json::string* s = v.if_string()) status = parse_job_status(*s);
  if (status) {
    out = *status;
    return;
  }
  std::string names;
  for (job_status each : all_job_statuses) {
    names += names.empty() ? "" : ", ";
    names += to_string(each);
  }
  r.expected(p, "a job status (" + names + ")", v);
}

void read(reader& r, const json::value& v, const path& p, bool& out) {
  if (const bool* b = v.if_bool()) {
    out = *b;
  } else {
    r.expected(p, "true or false", v);
  }
}

// Integers: JSON has one number type, so a whole double counts too (some
// writers, JavaScript among them, do not tell 3 from 3.0).
std::optional<std::uint64_t> as_unsigned(const json::value& v) {
  if (const auto* i = v.if_int64(); i && *i >= 0) {
    return static_cast<std::uint64_t>(*i);
  }
  if (const auto* u = v.if_uint64()) return *u;
  if (const auto* d = v.if_double();
      d && *d >= 0 && *d <= max_exact_integer && std::trunc(*d) == *d) {
    return static_cast<std::uint64_t>(*d);
  }
  return std::nullopt;
}

void read(reader& r, const json::value& v, const path& p, std::uint64_t& out) {
  if (const auto n = as_unsigned(v)) {
    out = *n;
  } else {
    r.expected(p, "a non-negative integer", v);
  }
}

void read(reader& r, const json::value& v, const path& p, std::uint32_t& out) {
  const auto n = as_unsigned(v);
  if (n && *n <= std::numeric_limits<std::uint32_t>::max()) {
    out = static_cast<std::uint32_t>(*n);
  } else {
    r.expected(p, "an integer from 0 to 4294967295", v);
  }
}

void read(reader& r, const json::value& v, const path& p, std::int64_t& out) {
  constexpr auto max =
      static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (const auto* i = v.if_int64()) {
    out = *i;
  } else if (const auto* u = v.if_uint64(); u && *u <= max) {
    out = static_cast<std::int64_t>(*u);
  } else if (const auto* d = v.if_double();
             d && std::fabs(*d) <= max_exact_integer && std::trunc(*d) == *d) {
    out = static_cast<std::int64_t>(*d);
  } else {
    r.expected(p, "an integer", v);
  }
}

void read(reader& r, const json::value& v, const path& p, double& out) {
  if (v.is_number()) {
    out = v.to_number<double>();
  } else {
    r.expected(p, "a number", v);
  }
}

// Free-form JSON: anything goes.
void read(reader&, const json::value& v, const path&, json::value& out) {
  out = v;
}

template <class T>
void read(reader& r, const json::value& v, const path& p,
          std::optional<T>& out) {
  if (v.is_null()) {
    out.reset();
  } else {
    read(r, v, p, out.emplace());
  }
}

// Members that may be null may also be left out.
template <class T>
constexpr bool is_nullable = false;
template <class T>
constexpr bool is_nullable<std::optional<T>> = true;
template <>
constexpr bool is_nullable<json::value> = true;

// Members added after the first release: absent means the default.
template <class T>
void optional_field(reader& r, const json::object& o, const path& parent,
                    std::string_view name, T& out) {
  if (r.failed()) return;
  if (const json::value* v = o.if_contains(name)) {
    read(r, *v, parent.member(name), out);
  }
}

template <class T>
void field(reader& r, const json::object& o, const path& parent,
           std::string_view name, T& out) {
  if (r.failed()) return;
  const path p = parent.member(name);
  if (const json::value* v = o.if_contains(name)) {
    read(r, *v, p, out);
  } else if constexpr (!is_nullable<T>) {
    r.fail(p, "required member is missing");
  }
}

const json::object* as_object(reader& r, const json::value& v, const path& p) {
  const json::object* o = v.if_object();
  if (!o) r.expected(p, "an object", v);
  return o;
}

void read(reader& r, const json::value& v, const path& p, job_error& out) {
  const json::object* o = as_object(r, v, p);
  if (!o) return;
  field(r, *o, p, "code", out.code);
  field(r, *o, p, "message", out.message);
}

void read(reader& r, const json::value& v, const path& p,
          progress_counts& out) {
  const json::object* o = as_object(r, v, p);
  if (!o) return;
  field(r, *o, p, "total", out.total);
  field(r, *o, p, "succeeded", out.succeeded);
  field(r, *o, p, "failed", out.failed);
  field(r, *o, p, "cancelled", out.cancelled);
  field(r, *o, p, "pending", out.pending);
  optional_field(r, *o, p, "running", out.running);
  optional_field(r, *o, p, "partially_succeeded", out.partially_succeeded);
}

void read(reader& r, const json::value& v, const path& p, progress& out) {
  const json::object* o = as_object(r, v, p);
  if (!o) return;
  field(r, *o, p, "percent", out.percent);
  field(r, *o, p, "counts", out.counts);
  field(r, *o, p, "details", out.details);
}

void read(reader& r, const json::value& v, const path& p, history_event& out) {
  const json::object* o = as_object(r, v, p);
  if (!o) return;
  field(r, *o, p, "step", out.step);
  field(r, *o, p, "timestamp", out.at);
  field(r, *o, p, "duration_ms", out.duration_ms);
  field(r, *o, p, "status", out.status);
  field(r, *o, p, "details", out.details);
}

void read(reader& r, const json::value& v, const path& p,
          std::vector<history_event>& out) {
  const json::array* a = v.if_array();
  if (!a) {
    r.expected(p, "an array", v);
    return;
  }
  out.resize(a->size());
  for (std::size_t i = 0; i < a->size() && !r.failed(); ++i) {
    read(r, (*a)[i], p.element(i), out[i]);
  }
}

void read(reader& r, const json::value& v, const path& p, job& out) {
  const json::object* o = as_object(r, v, p);
  if (!o) return;
  field(r, *o, p, "id", out.id);
  field(r, *o, p, "account_id", out.account_id);
  field(r, *o, p, "project_id", out.project_id);
  field(r, *o, p, "kind", out.kind);
  field(r, *o, p, "status", out.status);
  field(r, *o, p, "created_at", out.created_at);
  field(r, *o, p, "started_at", out.started_at);
  field(r, *o, p, "completed_at", out.completed_at);
  field(r, *o, p, "source_id", out.source_id);
  field(r, *o, p, "correlation_id", out.correlation_id);
  field(r, *o, p, "idempotency_key", out.idempotency_key);
  field(r, *o, p, "original_job_id", out.original_job_id);
  field(r, *o, p, "parent_id", out.parent_id);
  field(r, *o, p, "attempt", out.attempt);
  optional_field(r, *o, p, "is_batch", out.is_batch);
  field(r, *o, p, "input", out.input);
  field(r, *o, p, "result", out.result);
  field(r, *o, p, "error", out.error);
  field(r, *o, p, "progress", out.progress);
  field(r, *o, p, "history", out.history);
  field(r, *o, p, "revision", out.revision);
}

// Reads a whole document as a T; `root` names it in error details.
template <class T>
result<T> read_document(const json::value& v, std::string_view root) {
  reader r;
  T out{};
  read(r, v, path(root), out);
  if (r.failed()) return r.take_failure();
  return out;
}

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
  o.reserve(20);
  o.emplace("id", j.id.to_string());
  o.emplace("account_id", j.account_id);
  o.emplace("project_id", j.project_id);
  o.emplace("kind", j.kind);
  o.emplace("status", to_string(j.status));
  o.emplace("created_at", model::format_rfc3339(j.created_at));
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
  json::array history(o.storage());
  history.reserve(j.history.size());
  for (const history_event& e : j.history) {
    history.push_back(json::value_from(e, o.storage()));
  }
  o.emplace("history", std::move(history));
  o.emplace("revision", j.revision);
}

void tag_invoke(const json::value_from_tag&, json::value& v, job_status s) {
  v = to_string(s);
}

void tag_invoke(const json::value_from_tag&, json::value& v, const job_id& id) {
  v = id.to_string();
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
  o.emplace("timestamp", model::format_rfc3339(e.at));
  o.emplace("duration_ms", e.duration_ms);
  o.emplace("status", to_string(e.status));
  o.emplace("details", e.details);
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
