#include "http/compat_shapes.hpp"

#include <jobstate/json.hpp>
#include <jobstate/timestamp.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value_from.hpp>

#include <algorithm>
#include <array>
#include <cmath>

namespace jobstate::http {

namespace json = boost::json;

namespace {

// What each surface calls each job_status (index: the status's value).
// jobstate's partially_succeeded has no name of its own on the published
// surfaces: it is their success.
using status_names = std::array<std::string_view, all_job_statuses.size()>;
constexpr status_names jobs_api_names = {"pending",   "running", "completed",
                                         "completed", "failed",  "cancelled"};
constexpr status_names gc_ai_names = {"pending",   "running", "succeeded",
                                      "succeeded", "failed",  "canceled"};
static_assert(static_cast<int>(job_status::pending) == 0 &&
                  static_cast<int>(job_status::running) == 1 &&
                  static_cast<int>(job_status::succeeded) == 2 &&
                  static_cast<int>(job_status::partially_succeeded) == 3 &&
                  static_cast<int>(job_status::failed) == 4 &&
                  static_cast<int>(job_status::cancelled) == 5,
              "the tables above follow job_status's order");

std::string_view name_in(const status_names& names, job_status s) {
  return names[static_cast<std::size_t>(s)];
}

json::value time_or_null(const std::optional<timestamp>& t) {
  if (!t) return nullptr;
  return json::value(format_timestamp(*t));
}

json::value text_or_null(const std::optional<std::string>& s) {
  if (!s) return nullptr;
  return json::value(*s);
}

json::value id_or_null(const std::optional<job_id>& id) {
  if (!id) return nullptr;
  return json::value(id->to_string());
}

json::value error_text(const job& j) {
  if (!j.error) return nullptr;
  return json::value(j.error->message.empty() ? j.error->code
                                              : j.error->message);
}

json::value error_object(const job& j) {
  if (!j.error) return nullptr;
  return json::object{{"code", j.error->code}, {"message", j.error->message}};
}

json::value scale_gp_progress(const job& j, const std::vector<job>& children) {
  if (!j.progress.counts && !j.is_batch) return nullptr;
  const progress_counts counts = j.progress.counts.value_or(progress_counts{});
  json::array child_jobs;
  for (const job& child : children) {
    json::value parse_result_id = nullptr;
    if (const auto* r = child.result.if_object()) {
      if (const auto* id = r->if_contains("parse_result_id")) {
        parse_result_id = *id;
      }
    }
    child_jobs.push_back(json::object{
        {"source_document_id",
         child.source_id ? json::value(*child.source_id) : json::value()},
        {"job_id", child.id.to_string()},
        {"status", to_string(child.status)},
        {"parse_result_id", std::move(parse_result_id)},
        {"error", error_text(child)}});
  }
  return json::object{
      {"total", counts.total},     {"succeeded", counts.succeeded},
      {"failed", counts.failed},   {"cancelled", counts.cancelled},
      {"pending", counts.pending}, {"child_jobs", std::move(child_jobs)}};
}

// 0 to 100, and 100 only once the job completed: before (and for a failed or
// cancelled job) the job's own percent rounded, else its counters' finished
// share, else 0, each at most 99. A running job at 99.6 % or with every
// counter finished is not done, and a client reading 100 would think so.
std::int64_t percent_of(const job& j) {
  if (j.status == job_status::succeeded ||
      j.status == job_status::partially_succeeded) {
    return 100;
  }
  constexpr std::int64_t unfinished_at_most = 99;
  std::int64_t percent = 0;
  if (j.progress.percent) {
    percent = static_cast<std::int64_t>(std::lround(*j.progress.percent));
  } else if (j.progress.counts && j.progress.counts->total > 0) {
    const auto& c = *j.progress.counts;
    percent = static_cast<std::int64_t>((c.total - c.pending) * 100 / c.total);
  }
  return std::min(percent, unfinished_at_most);
}

// The jobs API's `result`. Its document sends clients to the result for a
// failure's details, so a failed or cancelled job's result carries `error`
// ({code, message}, null when the job recorded none) beside the members of
// the job's own result (an object; any other value is kept as `value`).
json::value jobs_api_result(const job& j) {
  if (j.status != job_status::failed && j.status != job_status::cancelled) {
    return j.result;
  }
  json::object result;
  if (const auto* own = j.result.if_object()) {
    result = *own;
  } else if (!j.result.is_null()) {
    result["value"] = j.result;
  }
  result["error"] = error_object(j);
  return result;
}

}  // namespace

json::value scale_gp_job(const job& j, const std::vector<job>& children) {
  return json::object{
      {"id", j.id.to_string()},
      {"project_id", j.project_id},
      {"operation", j.kind},
      {"status", to_string(j.status)},
      {"created_at", format_timestamp(j.created_at)},
      {"object", "job"},
      {"source_id", text_or_null(j.source_id)},
      {"correlation_id", text_or_null(j.correlation_id)},
      {"started_at", time_or_null(j.started_at)},
      {"completed_at", time_or_null(j.completed_at)},
      {"result", j.result},
      {"progress", scale_gp_progress(j, children)},
      {"error", error_text(j)},
      {"history", json::value_from(j.history)},
  };
}

std::string_view jobs_api_status(job_status s) {
  return name_in(jobs_api_names, s);
}

json::value jobs_api_job(const job& j) {
  return json::object{
      {"id", j.id.to_string()},
      {"type", j.kind},
      {"status", jobs_api_status(j.status)},
      {"progress", percent_of(j)},
      {"result", jobs_api_result(j)},
      {"createdAt", format_timestamp(j.created_at)},
      {"completedAt", time_or_null(j.completed_at)},
      {"originalJobId", id_or_null(j.original_job_id)},
  };
}

std::string_view gc_ai_status(job_status s) { return name_in(gc_ai_names, s); }

json::value gc_ai_job(const job& j) {
  return json::object{
      {"job_id", j.id.to_string()},
      {"kind", j.kind},
      {"status", gc_ai_status(j.status)},
      {"result", j.result},
      {"error", error_object(j)},
      {"created_at", format_timestamp(j.created_at)},
      {"completed_at", time_or_null(j.completed_at)},
  };
}

}  // namespace jobstate::http
