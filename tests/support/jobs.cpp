#include "support/jobs.hpp"

#include <set>
#include <stdexcept>
#include <utility>

namespace jobstate {

void PrintTo(job_status status, std::ostream* os) { *os << to_string(status); }

void PrintTo(errc code, std::ostream* os) {
  *os << make_error_code(code) << " (" << make_error_code(code).message()
      << ")";
}

void PrintTo(const job_id& id, std::ostream* os) { *os << id.to_string(); }

void PrintTo(const job& j, std::ostream* os) {
  *os << "job{" << j.id.to_string() << " " << j.account_id << "/"
      << j.project_id << " kind=" << j.kind << " status=" << to_string(j.status)
      << " revision=" << j.revision << " attempt=" << j.attempt
      << " created_at=" << j.created_at.time_since_epoch().count()
      << " started_at="
      << (j.started_at
              ? std::to_string(j.started_at->time_since_epoch().count())
              : "-")
      << " completed_at="
      << (j.completed_at
              ? std::to_string(j.completed_at->time_since_epoch().count())
              : "-")
      << " input=" << boost::json::serialize(j.input)
      << " result=" << boost::json::serialize(j.result);
  if (j.error) *os << " error=" << j.error->code << ":" << j.error->message;
  *os << " history=[";
  for (const auto& e : j.history) {
    *os << e.step << "(" << to_string(e.status) << ") ";
  }
  *os << "]}";
}

}  // namespace jobstate

namespace jobstate::test {

create_request make_request(std::string kind, boost::json::value input) {
  create_request r;
  r.account_id = std::string(account);
  r.project_id = std::string(project);
  r.kind = std::move(kind);
  r.input = std::move(input);
  return r;
}

job_ref ref_of(const job& j) { return {j.account_id, j.project_id, j.id}; }

list_query make_query(std::size_t limit) {
  list_query q;
  q.account_id = std::string(account);
  q.project_id = std::string(project);
  q.limit = limit;
  return q;
}

job create_job(engine& e, const create_request& request) {
  return e.create(request).value().job;
}

completion completion_for(job_status status) {
  completion c;
  c.status = status;
  switch (status) {
    case job_status::succeeded:
      c.result = boost::json::object{{"pages", 12}};
      break;
    case job_status::partially_succeeded:
      c.result = boost::json::object{{"pages", 7}, {"skipped", 5}};
      break;
    case job_status::failed:
      c.error = job_error{"parse_error", "page 3 is not a PDF page"};
      break;
    default:
      break;
  }
  return c;
}

job create_in_status(engine& e, job_status status,
                     const create_request& request) {
  job j = create_job(e, request);
  switch (status) {
    case job_status::pending:
      return j;
    case job_status::cancelled:
      return e.cancel(ref_of(j), "no longer needed").value();
    case job_status::running:
      return e.start(ref_of(j)).value();
    case job_status::succeeded:
    case job_status::partially_succeeded:
    case job_status::failed:
      e.start(ref_of(j)).value();
      return e.complete(ref_of(j), completion_for(status)).value();
  }
  throw std::logic_error("create_in_status: unknown status");
}

std::vector<job> list_all(const engine& e, list_query query) {
  std::vector<job> all;
  std::set<std::string> cursors_seen;
  for (;;) {
    job_page page = e.list(query).value();
    for (auto& j : page.jobs) all.push_back(std::move(j));
    if (page.next_cursor.empty()) return all;
    if (!cursors_seen.insert(page.next_cursor).second) {
      throw std::runtime_error("list_all: cursor repeated: " +
                               page.next_cursor);
    }
    query.cursor = std::move(page.next_cursor);
  }
}

std::vector<job_id> ids_of(const std::vector<job>& jobs) {
  std::vector<job_id> ids;
  ids.reserve(jobs.size());
  for (const auto& j : jobs) ids.push_back(j.id);
  return ids;
}

std::string text_of_size(std::size_t size, char fill) {
  return std::string(size, fill);
}

boost::json::value json_of_serialized_size(std::size_t size) {
  return boost::json::value(text_of_size(size - 2));
}

::testing::AssertionResult unchanged(const engine& e, const job& before) {
  auto now = e.get(ref_of(before));
  if (!now) {
    return ::testing::AssertionFailure()
           << "get failed: " << now.error().message();
  }
  if (*now == before) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "job changed:\n  before: " << ::testing::PrintToString(before)
         << "\n  now:    " << ::testing::PrintToString(*now);
}

std::string name_of(durability d) {
  switch (d) {
    case durability::full:
      return "full";
    case durability::no_meta_sync:
      return "no_meta_sync";
    case durability::no_sync:
      return "no_sync";
  }
  return "unknown";
}

std::string durability_name(const testing::TestParamInfo<durability>& info) {
  return name_of(info.param);
}

}  // namespace jobstate::test
