#include "model/schedules.hpp"

#include <jobstate/requests.hpp>
#include <jobstate/timestamp.hpp>

#include "model/transitions.hpp"
#include "model/validation.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace jobstate::model {
namespace {

using std::chrono::milliseconds;

// Timestamps render as years 0000 to 9999; the keys order times from 1970.
constexpr timestamp latest_run_after{std::chrono::seconds(253402300799)};

error invalid(std::string_view field, std::string_view what) {
  return error(errc::invalid_argument,
               std::string(field) + " " + std::string(what));
}

result<void> validate_limit(std::string_view field,
                            const std::optional<milliseconds>& limit) {
  if (limit && (*limit < milliseconds(1) || *limit > max_time_limit)) {
    return invalid(field, "must be 1 ms to " +
                              std::to_string(max_time_limit.count()) + " ms");
  }
  return {};
}

result<void> validate_backoff(std::string_view field, milliseconds b) {
  if (b < milliseconds(0) || b > max_retry_backoff) {
    return invalid(
        field,
        "must be 0 to " + std::to_string(max_retry_backoff.count()) + " ms");
  }
  return {};
}

}  // namespace

timestamp eligible_at(const job& j) {
  return j.run_after && *j.run_after > j.created_at ? *j.run_after
                                                    : j.created_at;
}

std::optional<timestamp> deadline(const job& j) {
  if (j.status == job_status::pending && j.pending_ttl && !j.is_batch) {
    return eligible_at(j) + *j.pending_ttl;
  }
  if (j.status == job_status::running && j.run_timeout && j.started_at) {
    return *j.started_at + *j.run_timeout;
  }
  return std::nullopt;
}

bool deadline_passed(const job& j, timestamp now) {
  const auto at = deadline(j);
  return at && *at <= now;
}

void apply_deadline(job& j, timestamp now) {
  const std::string due = format_timestamp(*deadline(j));
  if (j.status == job_status::pending) {
    mutation_options opts;
    opts.details = boost::json::object{
        {"pending_ttl_ms", j.pending_ttl->count()}, {"expired_at", due}};
    // A pending job may always be cancelled: this cannot be refused.
    (void)apply_cancel(j, "not claimed by " + due, opts, now, limits{});
    j.error->code = std::string(pending_expired_code);
    j.history.back().step = "expired";
    return;
  }
  completion failed;
  failed.status = job_status::failed;
  failed.error = job_error{std::string(deadline_exceeded_code),
                           "still running at its deadline, " + due + " (" +
                               std::to_string(j.run_timeout->count()) +
                               " ms after it started)"};
  mutation_options opts;
  opts.details = boost::json::object{{"run_timeout_ms", j.run_timeout->count()},
                                     {"deadline", due}};
  // A running job may always fail: this cannot be refused.
  (void)apply_complete(j, failed, opts, now, limits{});
  j.history.back().step = "deadline_exceeded";
}

milliseconds retry_backoff(const retry_policy& p, std::uint32_t attempt,
                           double unit) {
  if (p.initial_backoff <= milliseconds(0)) return milliseconds(0);
  const double cap = static_cast<double>(p.max_backoff.count());
  double wait = static_cast<double>(p.initial_backoff.count()) *
                std::pow(p.multiplier, static_cast<double>(attempt - 1));
  if (!std::isfinite(wait) || wait > cap) wait = cap;  // An overflowing power.
  wait *= 1.0 + p.jitter * (2.0 * std::clamp(unit, 0.0, 1.0) - 1.0);
  return milliseconds(
      static_cast<milliseconds::rep>(std::clamp(std::round(wait), 0.0, cap)));
}

bool retries(const job& j) {
  if (j.status != job_status::failed || !j.retry || j.parent_id || j.is_batch ||
      j.attempt >= j.retry->max_attempts) {
    return false;
  }
  const auto& codes = j.retry->retry_on;
  return codes.empty() || (j.error && std::find(codes.begin(), codes.end(),
                                                j.error->code) != codes.end());
}

job make_retry(const job& failed, job_id id, timestamp now, double unit) {
  rerun_options opts;
  opts.details = boost::json::object{
      {"retry_of", failed.id.to_string()},
      {"attempt", failed.attempt + 1},
      {"error_code", failed.error ? failed.error->code : std::string()}};
  job j = make_rerun(failed, opts, id, now);
  j.run_after = now + retry_backoff(*failed.retry, failed.attempt, unit);
  return j;
}

result<void> validate_retry_policy(std::string_view field,
                                   const retry_policy& p) {
  const std::string f(field);
  if (p.max_attempts < 1 || p.max_attempts > max_retry_attempts) {
    return invalid(f + ".max_attempts",
                   "must be 1 to " + std::to_string(max_retry_attempts));
  }
  if (auto r = validate_backoff(f + ".initial_backoff", p.initial_backoff); !r)
    return r;
  if (auto r = validate_backoff(f + ".max_backoff", p.max_backoff); !r)
    return r;
  if (!(p.multiplier >= 1.0 && p.multiplier <= 100.0)) {
    return invalid(f + ".multiplier", "must be 1 to 100");
  }
  if (!(p.jitter >= 0.0 && p.jitter <= 1.0)) {
    return invalid(f + ".jitter", "must be 0 to 1");
  }
  if (p.retry_on.size() > max_retry_codes) {
    return invalid(
        f + ".retry_on",
        "names more than " + std::to_string(max_retry_codes) + " error codes");
  }
  if (p.initial_backoff > p.max_backoff) {
    return invalid(f + ".initial_backoff", "must not exceed max_backoff");
  }
  for (const std::string& code : p.retry_on) {
    // As long as an error code may be (limits::max_text_size's default).
    if (code.empty() || code.size() > 4096 || !is_valid_utf8(code)) {
      return invalid(f + ".retry_on",
                     "holds an empty, over-long or non-UTF-8 error code");
    }
  }
  return {};
}

result<void> validate_schedule(const create_request& r, bool batch_parent) {
  if (batch_parent &&
      (r.run_after || r.run_timeout || r.pending_ttl || r.retry)) {
    return invalid("run_after, run_timeout, pending_ttl and retry",
                   "apply to jobs a worker runs, not to a batch parent");
  }
  if (r.run_after && (r.run_after->time_since_epoch().count() < 0 ||
                      *r.run_after > latest_run_after)) {
    return invalid("run_after", "is out of range");
  }
  if (auto v = validate_limit("run_timeout", r.run_timeout); !v) return v;
  if (auto v = validate_limit("pending_ttl", r.pending_ttl); !v) return v;
  if (r.retry) return validate_retry_policy("retry", *r.retry);
  return {};
}

}  // namespace jobstate::model
