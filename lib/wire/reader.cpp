
#include <jobstate/json_reader.hpp>
#include <jobstate/timestamp.hpp>

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace jobstate::wire {
namespace {

namespace json = boost::json;

// Doubles hold every integer up to 2^53 exactly; past it, a "whole" double
// may not be the integer its writer meant.
constexpr double max_exact_integer = 9007199254740992.0;

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

// A string that `parse` turns into `out` (it returns an optional).
template <class T, class Parse>
void read_text_as(reader& r, const json::value& v, const path& p, T& out,
                  Parse parse, std::string_view what) {
  std::optional<T> parsed;
  if (const json::string* s = v.if_string()) parsed = parse(*s);
  if (parsed) {
    out = *parsed;
  } else {
    r.expected(p, what, v);
  }
}

}  // namespace

std::string path::str() const {
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

void reader::fail(const path& p, std::string_view what) {
  if (!failure_) {
    failure_.emplace(errc::invalid_argument,
                     p.str() + ": " + std::string(what));
  }
}

void reader::expected(const path& p, std::string_view what,
                      const json::value& got) {
  if (!failure_) {
    fail(p, "expected " + std::string(what) + ", got " + describe(got));
  }
}

void reader::fail_with(error e) {
  if (!failure_) failure_.emplace(std::move(e));
}

void read(reader& r, const json::value& v, const path& p, std::string& out) {
  if (const json::string* s = v.if_string()) {
    out.assign(s->data(), s->size());
  } else {
    r.expected(p, "a string", v);
  }
}

void read(reader& r, const json::value& v, const path& p, timestamp& out) {
  read_text_as(r, v, p, out, parse_timestamp,
               "an RFC 3339 timestamp such as \"2026-11-24T23:30:39.123456Z\"");
}

void read(reader& r, const json::value& v, const path& p, job_id& out) {
  read_text_as(r, v, p, out, job_id::parse,
               "a UUID such as \"01932c07-8a1b-7c3d-9e4f-0123456789ab\"");
}

void read(reader& r, const json::value& v, const path& p, job_status& out) {
  static const std::string expected = [] {
    std::string names;
    for (job_status each : all_job_statuses) {
      names += names.empty() ? "" : ", ";
      names += to_string(each);
    }
    return "a job status (" + names + ")";
  }();
  read_text_as(r, v, p, out, parse_job_status, expected);
}

void read(reader& r, const json::value& v, const path& p, bool& out) {
  if (const bool* b = v.if_bool()) {
    out = *b;
  } else {
    r.expected(p, "true or false", v);
  }
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

void read(reader&, const json::value& v, const path&, json::value& out) {
  out = v;
}

const json::object* as_object(reader& r, const json::value& v, const path& p) {
  const json::object* o = v.if_object();
  if (!o) r.expected(p, "an object", v);
  return o;
}

object_reader::object_reader(reader& r, const json::value& v, const path& p,
                             mode m, bool null_is_empty)
    : r_(r), path_(p), mode_(m) {
  if (null_is_empty && v.is_null()) {
    ok_ = true;
  } else if ((object_ = v.if_object())) {
    ok_ = true;
  } else {
    r_.expected(p, null_is_empty ? "an object or null" : "an object", v);
  }
}

const json::value* object_reader::member(std::string_view name) {
  if (mode_ == mode::strict) asked_.push_back(name);
  if (!object_ || r_.failed()) return nullptr;
  return object_->if_contains(name);
}

const json::value* object_reader::find(std::string_view name) {
  const json::value* v = member(name);
  return v && !v->is_null() ? v : nullptr;
}

void object_reader::finish() {
  if (mode_ != mode::strict || !object_ || r_.failed()) return;
  for (const auto& kv : *object_) {
    if (std::find(asked_.begin(), asked_.end(), kv.key()) != asked_.end()) {
      continue;
    }
    std::string names;
    for (std::string_view each : asked_) {
      names += names.empty() ? "" : ", ";
      names += each;
    }
    r_.fail(path_.member(kv.key()), "unknown member (expected: " + names + ")");
    return;
  }
}

}  // namespace jobstate::wire
