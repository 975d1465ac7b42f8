// Status names and the transition table.
#include <jobstate/status.hpp>

namespace jobstate {

std::string_view to_string(job_status status) noexcept {
  switch (status) {
    case job_status::pending: return "pending";
    case job_status::running: return "running";
    case job_status::succeeded: return "succeeded";
    case job_status::partially_succeeded: return "partially_succeeded";
    case job_status::failed: return "failed";
    case job_status::cancelled: return "cancelled";
  }
  return "unknown";
}

std::optional<job_status> parse_job_status(std::string_view name) noexcept {
  for (job_status s : all_job_statuses) {
    if (to_string(s) == name) return s;
  }
  return std::nullopt;
}

bool is_terminal(job_status status) noexcept {
  return status != job_status::pending && status != job_status::running;
}

bool is_legal_transition(job_status from, job_status to) noexcept {
  switch (from) {
    case job_status::pending:
      return to == job_status::running || to == job_status::cancelled;
    case job_status::running:
      return is_terminal(to);
    default:
      return false;  // Terminal statuses never change.
  }
}

}  // namespace jobstate
