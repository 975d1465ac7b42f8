// Engine requests read from JSON (include/jobstate/json_requests.hpp), on the
// one reader of lib/wire/reader.hpp.
#include <jobstate/engine.hpp>
#include <jobstate/json_reader.hpp>
#include <jobstate/json_requests.hpp>

#include <array>
#include <limits>
#include <utility>
#include <vector>

namespace jobstate {

namespace json = boost::json;

namespace wire {
namespace {

// Whole seconds that a std::chrono::nanoseconds-based clock can still add.
constexpr std::uint64_t max_seconds = static_cast<std::uint64_t>(
    std::numeric_limits<std::int64_t>::max() / 1000000000);

void read_seconds(object_reader& o, std::string_view name,
                  std::chrono::seconds& out) {
  std::optional<std::uint64_t> n;
  o.optional(name, n);
  if (!n) return;
  if (*n > max_seconds) {
    o.failures().fail(o.member_path(name),
                      "expected at most " + std::to_string(max_seconds) +
                          " seconds, got " + std::to_string(*n));
  } else {
    out = std::chrono::seconds(static_cast<std::int64_t>(*n));
  }
}

void read_size(object_reader& o, std::string_view name, std::size_t& out) {
  std::uint64_t n = out;
  o.optional(name, n);
  out = static_cast<std::size_t>(n);
}

// Member `member`, one of the names in `names` (each with its value), when
// given.
template <class Enum, std::size_t N>
void read_named(object_reader& o, std::string_view member,
                const std::array<std::pair<std::string_view, Enum>, N>& names,
                Enum& out) {
  std::optional<std::string> given;
  o.optional(member, given);
  if (!given) return;
  std::string expected;  // "a", "b" or "c"
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i].first == *given) {
      out = names[i].second;
      return;
    }
    expected += i == 0 ? "" : i + 1 == N ? " or " : ", ";
    expected += '"' + std::string(names[i].first) + '"';
  }
  o.failures().expected(o.member_path(member), expected, json::value(*given));
}

constexpr std::array<std::pair<std::string_view, durability>, 3>
    durability_names = {{{"full", durability::full},
                         {"no_meta_sync", durability::no_meta_sync},
                         {"no_sync", durability::no_sync}}};
constexpr std::array<std::pair<std::string_view, list_order>, 2> order_names = {
    {{"newest_first", list_order::newest_first},
     {"oldest_first", list_order::oldest_first}}};

void read_page_members(object_reader& o, list_query& q) {
  o.optional("status", q.status);
  read_size(o, "limit", q.limit);
  o.optional("cursor", q.cursor);
  read_named(o, "order", order_names, q.order);
  o.optional("with_history", q.with_history);
}

// Runs `read_members` over object `v` (strictly) and returns what it read.
template <class T, class ReadMembers>
result<T> read_request(const json::value& v, std::string_view root,
                       bool null_is_empty, ReadMembers read_members) {
  reader r;
  const path p(root);
  object_reader o(r, v, p, object_reader::mode::strict, null_is_empty);
  T out{};
  read_members(o, out);
  o.finish();
  if (r.failed()) return r.take_failure();
  return out;
}

}  // namespace

// Outside the unnamed namespace, so that object_reader's templates find it
// (argument-dependent lookup ignores unnamed namespaces).
void read(reader& r, const json::value& v, const path& p, limits& out) {
  object_reader o(r, v, p, object_reader::mode::strict);
  read_size(o, "max_id_size", out.max_id_size);
  read_size(o, "max_kind_size", out.max_kind_size);
  read_size(o, "max_json_size", out.max_json_size);
  read_size(o, "max_text_size", out.max_text_size);
  read_size(o, "max_history", out.max_history);
  read_size(o, "max_page_size", out.max_page_size);
  read_size(o, "max_batch_children", out.max_batch_children);
  o.finish();
}

void read_create_members(object_reader& o, create_request& out) {
  o.required("kind", out.kind);
  o.optional("input", out.input);
  o.optional("source_id", out.source_id);
  o.optional("correlation_id", out.correlation_id);
  o.optional("idempotency_key", out.idempotency_key);
  o.optional("details", out.details);
  o.optional("run_after", out.run_after);
  read_millis(o, "run_timeout_ms", out.run_timeout);
  read_millis(o, "pending_ttl_ms", out.pending_ttl);
  o.optional("retry", out.retry);
}

void read(reader& r, const json::value& v, const path& p, batch_child& out) {
  object_reader o(r, v, p, object_reader::mode::strict);
  o.required("kind", out.kind);
  o.optional("input", out.input);
  o.optional("source_id", out.source_id);
  o.optional("correlation_id", out.correlation_id);
  o.finish();
}

void read_children(object_reader& o, std::size_t max_children,
                   std::vector<batch_child>& out) {
  const path p = o.member_path("children");
  const json::value* children = o.find("children");
  if (!children) {
    if (o.ok()) o.failures().fail(p, "required member is missing");
    return;
  }
  const json::array* items = children->if_array();
  if (!items || items->empty()) {
    o.failures().expected(p, "a non-empty array of children", *children);
    return;
  }
  // Too many is the engine's too_large; reading them all first would only
  // spend memory on a request that fails.
  if (items->size() > max_children) {
    o.failures().fail_with(
        error(errc::too_large, p.str() + ": " + std::to_string(items->size()) +
                                   " children, more than max_batch_children (" +
                                   std::to_string(max_children) + ")"));
    return;
  }
  read(o.failures(), *children, p, out);
}

void read_claim_members(object_reader& o, claim_request& out) {
  o.required("kinds", out.kinds);
  o.required("worker_id", out.worker_id);
  std::int64_t ms = out.lease_ttl.count();
  o.optional("lease_ttl_ms", ms);
  out.lease_ttl = std::chrono::milliseconds(ms);
  ms = out.wait.count();
  o.optional("wait_ms", ms);
  out.wait = std::chrono::milliseconds(ms);
  o.optional("details", out.details);
  o.optional("with_history", out.with_history);
}

void read_mutation_members(object_reader& o, std::string_view details_member,
                           mutation_options& out) {
  o.optional("expected_revision", out.expected_revision);
  o.optional("lease_epoch", out.lease_epoch);
  o.optional(details_member, out.details);
}

}  // namespace wire

using wire::object_reader;

result<options> options_from_json(std::string path, const json::value& v) {
  auto read = wire::read_request<options>(
      v, "engine options", true, [](object_reader& o, options& out) {
        wire::read_named(o, "durability", wire::durability_names,
                         out.durability);
        std::uint64_t n = out.map_size;
        o.optional("map_size", n);
        out.map_size = n;
        n = out.max_map_size;
        o.optional("max_map_size", n);
        out.max_map_size = n;
        std::uint32_t readers = out.max_readers;
        o.optional("max_readers", readers);
        out.max_readers = readers;
        wire::read_size(o, "max_batch", out.max_batch);
        wire::read_seconds(o, "tombstone_retention_seconds",
                           out.tombstone_retention);
        wire::read_size(o, "feed_retention_count", out.feed_retention_count);
        wire::read_seconds(o, "feed_retention_age_seconds",
                           out.feed_retention_age);
        o.optional("cross_process_notifications",
                   out.cross_process_notifications);
        o.optional("write_map", out.write_map);
        o.optional("automatic_lease_expiry", out.automatic_lease_expiry);
        o.optional("default_retry", out.default_retry);
        o.optional("limits", out.limits);
      });
  if (read) read->path = std::move(path);
  return read;
}

result<create_request> create_request_from_json(const json::value& v) {
  return wire::read_request<create_request>(
      v, "create request", false, [](object_reader& o, create_request& out) {
        o.required("account_id", out.account_id);
        o.required("project_id", out.project_id);
        wire::read_create_members(o, out);
      });
}

result<batch_request> batch_request_from_json(const json::value& v,
                                              std::size_t max_children) {
  return wire::read_request<batch_request>(
      v, "batch request", false,
      [max_children](object_reader& o, batch_request& out) {
        o.required("account_id", out.parent.account_id);
        o.required("project_id", out.parent.project_id);
        wire::read_create_members(o, out.parent);
        wire::read_children(o, max_children, out.children);
      });
}

result<mutation_options> mutation_options_from_json(const json::value& v) {
  return wire::read_request<mutation_options>(
      v, "mutation options", true, [](object_reader& o, mutation_options& out) {
        wire::read_mutation_members(o, "details", out);
        o.optional("with_history", out.with_history);
      });
}

result<claim_request> claim_request_from_json(const json::value& v) {
  return wire::read_request<claim_request>(
      v, "claim request", false, [](object_reader& o, claim_request& out) {
        o.required("account_id", out.account_id);
        o.required("project_id", out.project_id);
        wire::read_claim_members(o, out);
      });
}

result<progress> progress_from_json(const json::value& v) {
  return wire::read_request<progress>(v, "progress", false,
                                      [](object_reader& o, progress& out) {
                                        o.optional("percent", out.percent);
                                        o.optional("counts", out.counts);
                                        o.optional("details", out.details);
                                      });
}

result<completion> completion_from_json(const json::value& v) {
  return wire::read_request<completion>(v, "completion", false,
                                        [](object_reader& o, completion& out) {
                                          o.optional("status", out.status);
                                          o.optional("result", out.result);
                                          o.optional("error", out.error);
                                        });
}

result<rerun_options> rerun_options_from_json(const json::value& v) {
  return wire::read_request<rerun_options>(
      v, "rerun options", true, [](object_reader& o, rerun_options& out) {
        o.optional("correlation_id", out.correlation_id);
        o.optional("details", out.details);
      });
}

result<list_query> list_query_from_json(const json::value& v) {
  return wire::read_request<list_query>(
      v, "list query", false, [](object_reader& o, list_query& out) {
        o.required("account_id", out.account_id);
        o.required("project_id", out.project_id);
        o.optional("kind", out.kind);
        o.optional("parent_id", out.parent_id);
        o.optional("original_job_id", out.original_job_id);
        wire::read_page_members(o, out);
      });
}

result<list_query> children_query_from_json(const job_ref& parent,
                                            const json::value& v) {
  auto read = wire::read_request<list_query>(
      v, "children query", true, [](object_reader& o, list_query& out) {
        wire::read_page_members(o, out);
      });
  if (read) {
    read->account_id = parent.account_id;
    read->project_id = parent.project_id;
    read->parent_id = parent.id;
  }
  return read;
}

result<purge_request> purge_request_from_json(const json::value& v) {
  return wire::read_request<purge_request>(
      v, "purge request", true, [](object_reader& o, purge_request& out) {
        wire::read_seconds(o, "older_than_seconds", out.older_than);
        wire::read_size(o, "max_jobs", out.max_jobs);
      });
}

result<wait_condition> wait_condition_from_json(const json::value& v) {
  std::optional<wait_condition> condition;
  auto read = wire::read_request<int>(
      v, "wait condition", true, [&](object_reader& o, int&) {
        std::optional<bool> terminal;
        std::optional<std::uint64_t> after;
        std::optional<std::vector<job_status>> statuses;
        o.optional("terminal", terminal);
        o.optional("changed_after", after);
        o.optional("status_in", statuses);
        if (o.failures().failed()) return;
        const int given =
            (terminal ? 1 : 0) + (after ? 1 : 0) + (statuses ? 1 : 0);
        if (given > 1) {
          o.failures().fail(o.where(),
                            "give one of \"terminal\", \"changed_after\" and "
                            "\"status_in\"");
        } else if (terminal && !*terminal) {
          o.failures().fail(o.member_path("terminal"),
                            "must be true when given");
        } else if (statuses && statuses->empty()) {
          o.failures().fail(o.member_path("status_in"),
                            "expected at least one job status");
        } else if (after) {
          condition = wait_condition::changed_after(*after);
        } else if (statuses) {
          condition = wait_condition::status_in(*statuses);
        } else {
          condition = wait_condition::terminal();
        }
      });
  if (!read) return read.error();
  return *condition;
}

result<watch_request> watch_request_from_json(const json::value& v) {
  return wire::read_request<watch_request>(
      v, "watch request", true, [](object_reader& o, watch_request& out) {
        o.optional("after", out.after);
        wire::read_size(o, "limit", out.limit);
        o.optional("account_id", out.account_id);
        o.optional("project_id", out.project_id);
        std::optional<std::int64_t> ms;
        o.optional("bookmark_after_ms", ms);
        if (ms) out.bookmark_after = timeout_from_ms(*ms);
      });
}

result<job_ref> make_job_ref(std::string_view account_id,
                             std::string_view project_id, std::string_view id) {
  auto parsed = job_id::parse(id);
  if (!parsed) {
    return error(errc::invalid_argument,
                 "job id: expected a UUID such as "
                 "\"01932c07-8a1b-7c3d-9e4f-0123456789ab\", got \"" +
                     std::string(id.substr(0, 64)) + "\"");
  }
  return job_ref{std::string(account_id), std::string(project_id), *parsed};
}

std::chrono::milliseconds timeout_from_ms(std::int64_t ms) noexcept {
  // Longer timeouts wait forever: a deadline centuries away is no deadline.
  constexpr std::int64_t max_timeout_ms =
      std::int64_t{100} * 366 * 24 * 3600 * 1000;  // 100 years
  if (ms < 0 || ms > max_timeout_ms) return wait_forever;
  return std::chrono::milliseconds(ms);
}

result<job_page> list_children(engine& e, const job_ref& parent,
                               const list_query& query) {
  auto p = e.get(parent, read_options{.with_history = false});
  if (!p) return p.error();
  if (!p->is_batch) {
    return error(
        errc::invalid_argument,
        "job " + parent.id.to_string() + " is not a batch: it has no children");
  }
  return e.list(query);
}

}  // namespace jobstate
