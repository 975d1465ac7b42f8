#include "model/transitions.hpp"

#include "model/batch.hpp"

#include <string>

namespace jobstate::model {
namespace {

// Never negative: a wall clock stepped back must not make time run backwards
// in a history.
std::int64_t millis_between(timestamp from, timestamp to) {
  if (to <= from) return 0;
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from)
      .count();
}

// Checks the expected revision, then the table. Conflict is checked first: a
// caller holding a stale snapshot should re-read before anything else.
result<void> check_move(const job& j, job_status to,
                        const mutation_options& opts) {
  if (opts.expected_revision && *opts.expected_revision != j.revision) {
    return error(errc::conflict, "job " + j.id.to_string() +
                                     " is at revision " +
                                     std::to_string(j.revision) + ", not " +
                                     std::to_string(*opts.expected_revision))
        .with_job_state(j.status, j.revision);
  }
  if (!is_legal_transition(j.status, to)) {
    return error(errc::illegal_transition,
                 "job " + j.id.to_string() + " is " +
                     std::string(to_string(j.status)) + "; it cannot become " +
                     std::string(to_string(to)))
        .with_job_state(j.status, j.revision);
  }
  return {};
}

void move(job& j, std::string_view step, job_status to, timestamp now,
          const boost::json::value& details) {
  j.history.push_back(make_event(j, step, to, now, details));
  j.status = to;
  if (is_terminal(to)) j.completed_at = now;
  ++j.revision;
}

}  // namespace

history_event make_event(const job& j, std::string_view step, job_status to,
                         timestamp now, const boost::json::value& details) {
  const timestamp previous = j.history.empty() ? now : j.history.back().at;
  // Written while the job runs under a lease: the lease's epoch says which
  // claim wrote it.
  const std::uint64_t epoch =
      j.status == job_status::running && j.lease ? j.lease->epoch : 0;
  return history_event{
      std::string(step), now,  millis_between(previous, now), to,
      details,           epoch};
}

job make_job(const create_request& request, job_id id, timestamp now) {
  job j;
  j.id = id;
  j.account_id = request.account_id;
  j.project_id = request.project_id;
  j.kind = request.kind;
  j.status = job_status::pending;
  j.created_at = now;
  j.source_id = request.source_id;
  j.correlation_id = request.correlation_id;
  j.idempotency_key = request.idempotency_key;
  j.input = request.input;
  j.run_after = request.run_after;
  j.run_timeout = request.run_timeout;
  j.pending_ttl = request.pending_ttl;
  j.retry = request.retry;
  j.history.push_back(
      history_event{"created", now, 0, job_status::pending, request.details});
  j.revision = 1;
  return j;
}

result<void> check_rerun(const job& original) {
  if (!is_terminal(original.status)) {
    return error(errc::illegal_transition,
                 "job " + original.id.to_string() + " is " +
                     std::string(to_string(original.status)) +
                     "; only a finished job can be rerun")
        .with_job_state(original.status, original.revision);
  }
  return {};
}

job make_rerun(const job& original, const rerun_options& opts, job_id id,
               timestamp now) {
  create_request request;
  request.account_id = original.account_id;
  request.project_id = original.project_id;
  request.kind = original.kind;
  request.input = original.input;
  request.source_id = original.source_id;
  request.correlation_id =
      opts.correlation_id ? opts.correlation_id : original.correlation_id;
  request.details = opts.details;
  // The time limits and the retry policy carry over; a schedule does not
  // (a rerun is asked for now).
  request.run_timeout = original.run_timeout;
  request.pending_ttl = original.pending_ttl;
  request.retry = original.retry;
  job j = make_job(request, id, now);
  j.original_job_id = original.id;
  j.attempt = original.attempt + 1;
  return j;
}

result<void> apply_start(job& j, const mutation_options& opts, timestamp now,
                         const limits&) {
  if (j.is_batch) return batch_parent_is_derived(j, "start");
  if (auto r = check_move(j, job_status::running, opts); !r) return r;
  j.started_at = now;
  move(j, "started", job_status::running, now, opts.details);
  return {};
}

result<void> apply_progress(job& j, const progress& p,
                            const mutation_options& opts, timestamp now,
                            const limits& lim, std::size_t earlier_events) {
  if (opts.expected_revision && *opts.expected_revision != j.revision) {
    return check_move(j, j.status, opts);  // Reports the conflict.
  }
  if (j.is_batch) return batch_parent_is_derived(j, "progress");
  if (j.status != job_status::running) {
    return error(errc::illegal_transition,
                 "job " + j.id.to_string() + " is " +
                     std::string(to_string(j.status)) +
                     "; progress can be reported only while it is running")
        .with_job_state(j.status, j.revision);
  }
  j.progress = p;
  // Keep one slot free for the terminal event: when the history is full, a
  // progress event replaces the previous progress event instead of growing
  // it, so a chatty worker cannot push the job past its history limit.
  history_event event = make_event(j, "progress", j.status, now, opts.details);
  if (earlier_events + j.history.size() + 1 >= lim.max_history &&
      j.history.back().step == "progress") {
    event.duration_ms += j.history.back().duration_ms;
    j.history.back() = std::move(event);
  } else {
    j.history.push_back(std::move(event));
  }
  ++j.revision;
  return {};
}

result<void> apply_complete(job& j, const completion& c,
                            const mutation_options& opts, timestamp now,
                            const limits&) {
  if (j.is_batch) return batch_parent_is_derived(j, "complete");
  if (auto r = check_move(j, c.status, opts); !r) return r;
  j.result = c.result;
  j.error = c.error;
  move(j, to_string(c.status), c.status, now, opts.details);
  return {};
}

result<void> apply_cancel(job& j, std::string_view reason,
                          const mutation_options& opts, timestamp now,
                          const limits&) {
  if (auto r = check_move(j, job_status::cancelled, opts); !r) return r;
  j.error = job_error{std::string(cancelled_error_code), std::string(reason)};
  boost::json::value details = opts.details;
  if (details.is_null() && !reason.empty()) {
    details = boost::json::object{{"reason", reason}};
  }
  move(j, "cancelled", job_status::cancelled, now, details);
  return {};
}

}  // namespace jobstate::model
