#include "model/batch.hpp"

#include "model/transitions.hpp"

#include <string>

namespace jobstate::model {
namespace {

void add(std::uint64_t& counter, std::int64_t delta) {
  counter =
      static_cast<std::uint64_t>(static_cast<std::int64_t>(counter) + delta);
}

void update_percent(job& parent) {
  const progress_counts& c = *parent.progress.counts;
  parent.progress.percent =
      c.total == 0 ? 100.0
                   : 100.0 * static_cast<double>(c.total - c.pending) /
                         static_cast<double>(c.total);
}

void record(job& parent, std::string_view step, job_status to, timestamp now) {
  parent.history.push_back(make_event(parent, step, to, now, nullptr));
  parent.status = to;
}

}  // namespace

void count_child(progress_counts& c, job_status s, std::int64_t delta) {
  switch (s) {
    case job_status::pending:
      add(c.pending, delta);
      break;
    case job_status::running:
      add(c.pending, delta);
      add(c.running, delta);
      break;
    case job_status::succeeded:
      add(c.succeeded, delta);
      break;
    case job_status::partially_succeeded:
      add(c.succeeded, delta);
      add(c.partially_succeeded, delta);
      break;
    case job_status::failed:
      add(c.failed, delta);
      break;
    case job_status::cancelled:
      add(c.cancelled, delta);
      break;
  }
}

job_status finished_batch_status(const progress_counts& c) {
  if (c.succeeded == c.total && c.partially_succeeded == 0) {
    return job_status::succeeded;
  }
  if (c.cancelled == c.total) return job_status::cancelled;
  if (c.succeeded == 0 && c.failed > 0) return job_status::failed;
  return job_status::partially_succeeded;
}

create_request child_request(const create_request& parent,
                             const batch_child& child) {
  create_request r;
  r.account_id = parent.account_id;
  r.project_id = parent.project_id;
  r.kind = child.kind;
  r.input = child.input;
  r.source_id = child.source_id;
  r.correlation_id = child.correlation_id;
  return r;
}

job make_batch_parent(const create_request& request, std::size_t children,
                      job_id id, timestamp now) {
  job parent = make_job(request, id, now);
  parent.is_batch = true;
  progress_counts c;
  c.total = children;
  c.pending = children;
  parent.progress.counts = c;
  update_percent(parent);
  return parent;
}

void apply_child_change(job& parent, job_status from, job_status to,
                        timestamp now) {
  progress_counts& c = *parent.progress.counts;
  count_child(c, from, -1);
  count_child(c, to, +1);
  update_percent(parent);
  ++parent.revision;
  if (is_terminal(parent.status)) return;  // Cancelled by hand already.
  const bool all_finished = c.pending == 0;
  if (parent.status == job_status::pending &&
      (to == job_status::running || all_finished)) {
    // The table goes through running: a batch whose children all end
    // without one starting (say, all cancelled) still records a start.
    parent.started_at = now;
    record(parent, "started", job_status::running, now);
  }
  if (all_finished) {
    const job_status end = finished_batch_status(c);
    record(parent, to_string(end), end, now);
    parent.completed_at = now;
  }
}

error batch_parent_is_derived(const job& parent, std::string_view what) {
  return error(errc::illegal_transition,
               "job " + parent.id.to_string() +
                   " is a batch; its status follows its children, so it "
                   "cannot be sent " +
                   std::string(what) + " by hand (cancel is allowed)")
      .with_job_state(parent.status, parent.revision);
}

}  // namespace jobstate::model
