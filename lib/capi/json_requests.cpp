#include "capi/json_requests.hpp"

#include <jobstate/json.hpp>

#include <boost/json/value_to.hpp>

#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

namespace jobstate::capi {
namespace {

namespace json = boost::json;

const char* kind_name(const json::value& v) noexcept {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

// Reads the members of one JSON object, remembering which were read, so
// that finish() can reject the ones nobody asked for. The first error
// sticks; later reads then do nothing.
class object_reader {
 public:
  object_reader(const json::value& v, std::string what, bool null_ok)
      : what_(std::move(what)) {
    if (v.is_object()) {
      object_ = &v.get_object();
    } else if (!(null_ok && v.is_null())) {
      fail(std::string("expected ") +
           (null_ok ? "an object or null" : "an object") + ", got " +
           kind_name(v));
    }
  }

  // The member `key`, or nullptr when absent or null.
  const json::value* find(std::string_view key) {
    if (!object_ || error_) return nullptr;
    read_.emplace_back(key);
    const json::value* v = object_->if_contains(key);
    return v && !v->is_null() ? v : nullptr;
  }

  // Any JSON (null when absent).
  json::value any(std::string_view key) {
    const json::value* v = find(key);
    return v ? *v : json::value();
  }

  std::optional<std::string> string(std::string_view key, bool required) {
    const json::value* v = find(key);
    if (!v) {
      if (required && !error_) member_error(key, "is required");
      return std::nullopt;
    }
    if (!v->is_string()) {
      member_error(key, std::string("must be a string, got ") + kind_name(*v));
      return std::nullopt;
    }
    return std::string(v->get_string());
  }

  std::optional<std::uint64_t> unsigned_integer(std::string_view key) {
    const json::value* v = find(key);
    if (!v) return std::nullopt;
    if (v->is_uint64()) return v->get_uint64();
    if (v->is_int64() && v->get_int64() >= 0) {
      return static_cast<std::uint64_t>(v->get_int64());
    }
    if (v->is_double()) {
      const double d = v->get_double();
      if (d >= 0 && d <= 9007199254740992.0 && std::floor(d) == d) {
        return static_cast<std::uint64_t>(d);
      }
    }
    member_error(key, "must be a non-negative integer");
    return std::nullopt;
  }

  std::optional<std::int64_t> signed_integer(std::string_view key) {
    const json::value* v = find(key);
    if (!v) return std::nullopt;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64() &&
        v->get_uint64() <= static_cast<std::uint64_t>(
                               std::numeric_limits<std::int64_t>::max())) {
      return static_cast<std::int64_t>(v->get_uint64());
    }
    if (v->is_double()) {
      const double d = v->get_double();
      if (std::fabs(d) <= 9007199254740992.0 && std::floor(d) == d) {
        return static_cast<std::int64_t>(d);
      }
    }
    member_error(key, "must be an integer");
    return std::nullopt;
  }

  std::optional<bool> boolean(std::string_view key) {
    const json::value* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_bool()) {
      member_error(key, std::string("must be a boolean, got ") + kind_name(*v));
      return std::nullopt;
    }
    return v->get_bool();
  }

  std::optional<job_status> status(std::string_view key) {
    auto name = string(key, false);
    if (!name) return std::nullopt;
    auto s = parse_job_status(*name);
    if (!s) {
      member_error(key,
                   "must be a job status (pending, running, succeeded, "
                   "partially_succeeded, failed or cancelled), got \"" +
                       *name + "\"");
    }
    return s;
  }

  std::optional<job_id> id(std::string_view key) {
    auto text = string(key, false);
    if (!text) return std::nullopt;
    auto parsed = job_id::parse(*text);
    if (!parsed) {
      member_error(key, "must be a job id (a UUID), got \"" + *text + "\"");
    }
    return parsed;
  }

  // Converts a member with Boost.JSON's value_to (jobstate's own shapes),
  // keeping the detail of its error.
  template <class T>
  std::optional<T> converted(std::string_view key) {
    const json::value* v = find(key);
    if (!v) return std::nullopt;
    try {
      return json::value_to<T>(*v);
    } catch (const jobstate::system_error& e) {
      member_error(key, "is malformed: " + e.error().detail());
    } catch (const std::exception& e) {
      member_error(key, std::string("is malformed: ") + e.what());
    }
    return std::nullopt;
  }

  void member_error(std::string_view key, const std::string& text) {
    fail("member \"" + std::string(key) + "\" " + text);
  }

  void fail(const std::string& text) {
    if (!error_) error_ = error(errc::invalid_argument, what_ + ": " + text);
  }

  // Rejects members nobody read.
  result<void> finish() {
    if (!error_ && object_) {
      for (const auto& kv : *object_) {
        bool known = false;
        for (const auto& k : read_) known = known || k == kv.key();
        if (!known) {
          fail("member \"" + std::string(kv.key()) + "\" is not known");
          break;
        }
      }
    }
    if (error_) return *error_;
    return {};
  }

 private:
  std::string what_;
  const json::object* object_ = nullptr;
  std::vector<std::string> read_;
  std::optional<error> error_;
};

}  // namespace

result<options> options_from_json(std::string path, const json::value& v) {
  options o;
  o.path = std::move(path);
  object_reader r(v, "engine options", true);
  if (auto d = r.string("durability", false)) {
    if (*d == "full") {
      o.durability = durability::full;
    } else if (*d == "no_meta_sync") {
      o.durability = durability::no_meta_sync;
    } else if (*d == "no_sync") {
      o.durability = durability::no_sync;
    } else {
      r.member_error(
          "durability",
          "must be \"full\", \"no_meta_sync\" or \"no_sync\", got \"" + *d +
              "\"");
    }
  }
  if (auto n = r.unsigned_integer("map_size")) o.map_size = *n;
  if (auto n = r.unsigned_integer("max_map_size")) o.max_map_size = *n;
  if (auto n = r.unsigned_integer("max_readers")) {
    if (*n > std::numeric_limits<unsigned>::max()) {
      r.member_error("max_readers", "is too large");
    } else {
      o.max_readers = static_cast<unsigned>(*n);
    }
  }
  if (auto n = r.unsigned_integer("max_batch")) o.max_batch = *n;
  const auto seconds = [&](std::string_view key, std::chrono::seconds& out) {
    if (auto n = r.unsigned_integer(key)) {
      if (*n > static_cast<std::uint64_t>(
                   std::numeric_limits<std::int64_t>::max() / 1000000000)) {
        r.member_error(key, "is too large");
      } else {
        out = std::chrono::seconds(static_cast<std::int64_t>(*n));
      }
    }
  };
  seconds("tombstone_retention_seconds", o.tombstone_retention);
  if (auto n = r.unsigned_integer("feed_retention_count")) {
    o.feed_retention_count = *n;
  }
  seconds("feed_retention_age_seconds", o.feed_retention_age);
  if (auto b = r.boolean("cross_process_notifications")) {
    o.cross_process_notifications = *b;
  }
  if (const json::value* lv = r.find("limits")) {
    object_reader l(*lv, "engine options: limits", false);
    if (auto n = l.unsigned_integer("max_id_size")) o.limits.max_id_size = *n;
    if (auto n = l.unsigned_integer("max_kind_size"))
      o.limits.max_kind_size = *n;
    if (auto n = l.unsigned_integer("max_json_size"))
      o.limits.max_json_size = *n;
    if (auto n = l.unsigned_integer("max_text_size"))
      o.limits.max_text_size = *n;
    if (auto n = l.unsigned_integer("max_history")) o.limits.max_history = *n;
    if (auto n = l.unsigned_integer("max_page_size"))
      o.limits.max_page_size = *n;
    if (auto n = l.unsigned_integer("max_batch_children"))
      o.limits.max_batch_children = *n;
    if (auto done = l.finish(); !done) return done.error();
  }
  if (auto done = r.finish(); !done) return done.error();
  return o;
}

namespace {

// The members of a create request, which a batch request shares.
create_request read_create_members(object_reader& r) {
  create_request c;
  if (auto s = r.string("account_id", true)) c.account_id = std::move(*s);
  if (auto s = r.string("project_id", true)) c.project_id = std::move(*s);
  if (auto s = r.string("kind", true)) c.kind = std::move(*s);
  c.input = r.any("input");
  c.source_id = r.string("source_id", false);
  c.correlation_id = r.string("correlation_id", false);
  c.idempotency_key = r.string("idempotency_key", false);
  c.details = r.any("details");
  return c;
}

result<batch_child> batch_child_from_json(const json::value& v,
                                          std::size_t index) {
  batch_child c;
  object_reader r(v, "batch request: children[" + std::to_string(index) + "]",
                  false);
  if (auto s = r.string("kind", true)) c.kind = std::move(*s);
  c.input = r.any("input");
  c.source_id = r.string("source_id", false);
  c.correlation_id = r.string("correlation_id", false);
  if (auto done = r.finish(); !done) return done.error();
  return c;
}

}  // namespace

result<create_request> create_request_from_json(const json::value& v) {
  object_reader r(v, "create request", false);
  create_request c = read_create_members(r);
  if (auto done = r.finish(); !done) return done.error();
  return c;
}

result<batch_request> batch_request_from_json(const json::value& v,
                                              std::size_t max_children) {
  batch_request b;
  object_reader r(v, "batch request", false);
  b.parent = read_create_members(r);
  const json::value* children = r.find("children");
  if (!children) {
    r.member_error("children", "is required");
  } else if (!children->is_array()) {
    r.member_error("children", std::string("must be an array, got ") +
                                   kind_name(*children));
  }
  if (auto done = r.finish(); !done) return done.error();
  const json::array& items = children->get_array();
  // Too many is the engine's too_large; reading them all first would only
  // spend memory on a request that fails.
  if (items.size() > max_children) {
    return error(errc::too_large,
                 "batch request: " + std::to_string(items.size()) +
                     " children, more than max_batch_children (" +
                     std::to_string(max_children) + ")");
  }
  b.children.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto child = batch_child_from_json(items[i], i);
    if (!child) return child.error();
    b.children.push_back(std::move(*child));
  }
  return b;
}

result<mutation_options> mutation_options_from_json(const json::value& v) {
  mutation_options m;
  object_reader r(v, "mutation options", true);
  m.expected_revision = r.unsigned_integer("expected_revision");
  m.details = r.any("details");
  if (auto done = r.finish(); !done) return done.error();
  return m;
}

result<progress> progress_from_json(const json::value& v) {
  if (!v.is_object()) {
    return error(
        errc::invalid_argument,
        std::string("progress: expected an object, got ") + kind_name(v));
  }
  try {
    return json::value_to<progress>(v);
  } catch (const jobstate::system_error& e) {
    return error(errc::invalid_argument, "progress: " + e.error().detail());
  }
}

result<completion> completion_from_json(const json::value& v) {
  completion c;
  object_reader r(v, "completion", false);
  if (auto s = r.status("status")) c.status = *s;
  c.result = r.any("result");
  c.error = r.converted<job_error>("error");
  if (auto done = r.finish(); !done) return done.error();
  return c;
}

result<rerun_options> rerun_options_from_json(const json::value& v) {
  rerun_options o;
  object_reader r(v, "rerun options", true);
  o.correlation_id = r.string("correlation_id", false);
  o.details = r.any("details");
  if (auto done = r.finish(); !done) return done.error();
  return o;
}

result<list_query> list_query_from_json(const json::value& v) {
  list_query q;
  object_reader r(v, "list query", false);
  if (auto s = r.string("account_id", true)) q.account_id = std::move(*s);
  if (auto s = r.string("project_id", true)) q.project_id = std::move(*s);
  q.status = r.status("status");
  q.kind = r.string("kind", false);
  q.parent_id = r.id("parent_id");
  q.original_job_id = r.id("original_job_id");
  if (auto n = r.unsigned_integer("limit")) q.limit = *n;
  if (auto s = r.string("cursor", false)) q.cursor = std::move(*s);
  if (auto done = r.finish(); !done) return done.error();
  return q;
}

result<list_query> children_query_from_json(const job_ref& parent,
                                            const json::value& v) {
  list_query q;
  q.account_id = parent.account_id;
  q.project_id = parent.project_id;
  q.parent_id = parent.id;
  object_reader r(v, "children query", true);
  q.status = r.status("status");
  if (auto n = r.unsigned_integer("limit")) q.limit = *n;
  if (auto s = r.string("cursor", false)) q.cursor = std::move(*s);
  if (auto done = r.finish(); !done) return done.error();
  return q;
}

result<job_page> list_children(engine& e, const job_ref& parent,
                               const list_query& query) {
  auto p = e.get(parent);
  if (!p) return p.error();
  if (!p->is_batch) {
    return error(
        errc::invalid_argument,
        "job " + parent.id.to_string() + " is not a batch: it has no children");
  }
  return e.list(query);
}

result<purge_request> purge_request_from_json(const json::value& v) {
  purge_request p;
  object_reader r(v, "purge request", true);
  if (auto n = r.unsigned_integer("older_than_seconds")) {
    if (*n > static_cast<std::uint64_t>(
                 std::numeric_limits<std::int64_t>::max() / 1000000000)) {
      r.member_error("older_than_seconds", "is too large");
    } else {
      p.older_than = std::chrono::seconds(static_cast<std::int64_t>(*n));
    }
  }
  if (auto n = r.unsigned_integer("max_jobs")) p.max_jobs = *n;
  if (auto done = r.finish(); !done) return done.error();
  return p;
}

result<wait_condition> wait_condition_from_json(const json::value& v) {
  auto condition = wait_condition::terminal();
  object_reader r(v, "wait condition", true);
  int given = 0;
  if (auto t = r.boolean("terminal")) {
    ++given;
    if (!*t) r.member_error("terminal", "must be true when given");
  }
  if (auto rev = r.unsigned_integer("changed_after")) {
    ++given;
    condition = wait_condition::changed_after(*rev);
  }
  if (const json::value* list = r.find("status_in")) {
    ++given;
    if (!list->is_array() || list->get_array().empty()) {
      r.member_error("status_in", "must be a non-empty array of job statuses");
    } else {
      // status_in takes an initializer_list: a fixed list of six, padded
      // with repeats of the first status (repeats change nothing).
      std::array<job_status, 6> s{};
      std::size_t n = 0;
      for (const json::value& item : list->get_array()) {
        std::optional<job_status> parsed;
        if (item.is_string()) parsed = parse_job_status(item.get_string());
        if (!parsed) {
          r.member_error("status_in",
                         "must hold job statuses (pending, running, "
                         "succeeded, partially_succeeded, failed, cancelled)");
          break;
        }
        bool seen = false;
        for (std::size_t i = 0; i < n; ++i) seen = seen || s[i] == *parsed;
        if (!seen) s[n++] = *parsed;
      }
      if (n > 0) {
        for (std::size_t i = n; i < s.size(); ++i) s[i] = s[0];
        condition =
            wait_condition::status_in({s[0], s[1], s[2], s[3], s[4], s[5]});
      }
    }
  }
  if (given > 1) {
    r.fail("give one of \"terminal\", \"changed_after\" and \"status_in\"");
  }
  if (auto done = r.finish(); !done) return done.error();
  return condition;
}

result<watch_request> watch_request_from_json(const json::value& v) {
  watch_request w;
  object_reader r(v, "watch request", true);
  if (auto n = r.unsigned_integer("after")) w.after = *n;
  if (auto n = r.unsigned_integer("limit")) w.limit = *n;
  w.account_id = r.string("account_id", false);
  w.project_id = r.string("project_id", false);
  if (auto ms = r.signed_integer("bookmark_after_ms")) {
    w.bookmark_after = timeout_from_ms(*ms);
  }
  if (auto done = r.finish(); !done) return done.error();
  return w;
}

result<job_ref> make_job_ref(std::string_view account_id,
                             std::string_view project_id, std::string_view id) {
  auto parsed = job_id::parse(id);
  if (!parsed) {
    return error(errc::invalid_argument,
                 "job id must be a UUID, got \"" + std::string(id) + "\"");
  }
  return job_ref{std::string(account_id), std::string(project_id), *parsed};
}

std::chrono::milliseconds timeout_from_ms(std::int64_t ms) noexcept {
  // Longer timeouts wait forever (as documented in jobstate.h): a deadline
  // centuries away is no deadline.
  constexpr std::int64_t max_timeout_ms =
      std::int64_t{100} * 366 * 24 * 3600 * 1000;  // 100 years
  if (ms < 0 || ms > max_timeout_ms) return wait_forever;
  return std::chrono::milliseconds(ms);
}

json::value to_json(const job_page& page) {
  json::array jobs;
  jobs.reserve(page.jobs.size());
  for (const job& j : page.jobs) jobs.push_back(jobstate::to_json(j));
  json::object o;
  o.emplace("jobs", std::move(jobs));
  if (page.next_cursor.empty()) {
    o.emplace("next_cursor", nullptr);
  } else {
    o.emplace("next_cursor", page.next_cursor);
  }
  return o;
}

json::value to_json(const created_batch& b) {
  json::array ids;
  ids.reserve(b.child_ids.size());
  for (const job_id& id : b.child_ids) ids.emplace_back(id.to_string());
  json::object o;
  o.emplace("parent", jobstate::to_json(b.parent));
  o.emplace("child_ids", std::move(ids));
  o.emplace("created", b.created);
  return o;
}

json::value to_json(const purge_result& r) {
  return json::object{{"purged", r.purged},
                      {"tombstones_expired", r.tombstones_expired},
                      {"more", r.more}};
}

json::value to_json(const change& c) {
  return json::object{
      {"sequence", c.sequence},     {"at", format_timestamp(c.at)},
      {"id", c.id.to_string()},     {"account_id", c.account_id},
      {"project_id", c.project_id}, {"status", to_string(c.status)},
      {"revision", c.revision},     {"step", c.step}};
}

json::value to_json(const change_batch& b) {
  json::array changes;
  changes.reserve(b.changes.size());
  for (const change& c : b.changes) changes.push_back(to_json(c));
  json::object o;
  o.emplace("changes", std::move(changes));
  o.emplace("last_sequence", b.last_sequence);
  return o;
}

std::string format_timestamp(timestamp t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd(day);
  const hh_mm_ss<microseconds> tod(t - day);
  char text[40];
  std::snprintf(
      text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d.%06dZ",
      static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
      static_cast<unsigned>(ymd.day()), static_cast<int>(tod.hours().count()),
      static_cast<int>(tod.minutes().count()),
      static_cast<int>(tod.seconds().count()),
      static_cast<int>(tod.subseconds().count()));
  return text;
}

}  // namespace jobstate::capi
