#include "model/invariants.hpp"

#include "model/batch.hpp"

namespace jobstate::model {
namespace {

std::string text(job_status s) { return std::string(to_string(s)); }

void check_completed_at(const job& j, std::vector<invariant_violation>& out) {
  if (is_terminal(j.status) != j.completed_at.has_value()) {
    out.push_back(invariant_violation{
        job_invariant::completed_at_if_terminal,
        j.completed_at ? "completed_at is set on a job still " + text(j.status)
                       : "completed_at is missing on a job " + text(j.status)});
  }
}

void check_counters(const job& j, std::vector<invariant_violation>& out) {
  if (j.revision == 0) {
    out.push_back({job_invariant::revision_starts_at_one,
                   "revision 0 (a job starts at 1)"});
  }
  if (j.attempt == 0) {
    out.push_back({job_invariant::attempt_starts_at_one,
                   "attempt 0 (a job starts at 1)"});
  }
}

void check_lease(const job& j, std::vector<invariant_violation>& out) {
  if (!j.lease) return;
  const lease& l = *j.lease;
  if (j.status == job_status::pending || j.is_batch || l.epoch == 0 ||
      l.ttl <= std::chrono::milliseconds::zero()) {
    out.push_back(
        {job_invariant::lease_only_on_a_job_that_ran,
         "a lease (epoch " + std::to_string(l.epoch) + ", ttl " +
             std::to_string(l.ttl.count()) + " ms) on a " +
             (j.is_batch ? std::string("batch parent ") : std::string()) +
             "job " + text(j.status) +
             " (a lease needs a claimed job, epoch >= 1 and ttl > 0)"});
  }
}

void check_history(const job& j, const earlier_history& earlier,
                   std::vector<invariant_violation>& out) {
  const auto bad = [&](job_invariant rule, std::string detail) {
    out.push_back(invariant_violation{rule, std::move(detail)});
  };
  const history_event& first = j.history.front();
  if (earlier.events == 0 &&
      (first.step != "created" || first.status != job_status::pending)) {
    bad(job_invariant::history_starts_created,
        "the history starts with \"" + first.step + "\" (" +
            text(first.status) + "), not \"created\" (pending)");
  }
  // Every mutation appends one event and bumps the revision once, except
  // that a progress event may replace the previous one (history cap) and a
  // batch whose children all end before one starts records "started" and
  // its end in one revision.
  const std::size_t length = earlier.events + j.history.size();
  if (j.revision + (j.is_batch ? 1 : 0) < length) {
    bad(job_invariant::revision_covers_history,
        "revision " + std::to_string(j.revision) + " is below the " +
            std::to_string(length) + " events of its history");
  }
  bool ran = earlier.ran || first.status == job_status::running;
  for (std::size_t i = 1; i < j.history.size(); ++i) {
    const job_status from = j.history[i - 1].status;
    const job_status to = j.history[i].status;
    const std::string number = std::to_string(earlier.events + i);
    if (to == job_status::running) ran = true;
    if (from != to && !is_legal_transition(from, to)) {
      bad(job_invariant::legal_transitions,
          "history event " + number + " (\"" + j.history[i].step +
              "\") moves from " + text(from) + " to " + text(to) +
              ", which is illegal");
    }
    if (from == to && from != job_status::running) {
      bad(job_invariant::only_running_repeats,
          "history event " + number + " (\"" + j.history[i].step +
              "\") records a change while " + text(from));
    }
  }
  if (j.history.back().status != j.status) {
    bad(job_invariant::status_ends_history, "status is " + text(j.status) +
                                                " but the history ends at " +
                                                text(j.history.back().status));
  }
  check_completed_at(j, out);
  if (ran != j.started_at.has_value()) {
    bad(job_invariant::started_at_if_ran,
        j.started_at ? "started_at is set but the history never ran"
                     : "the history ran but started_at is missing");
  }
}

void check_batch(const job& j, std::vector<invariant_violation>& out) {
  const auto bad = [&](job_invariant rule, std::string detail) {
    out.push_back(invariant_violation{rule, std::move(detail)});
  };
  if (!j.progress.counts) {
    bad(job_invariant::batch_has_counts, "a batch without progress counts");
    return;
  }
  const progress_counts& c = *j.progress.counts;
  const bool terminal = is_terminal(j.status);
  if (c.pending + c.succeeded + c.failed + c.cancelled != c.total ||
      c.running > c.pending || c.partially_succeeded > c.succeeded) {
    bad(job_invariant::batch_counts_add_up,
        "batch counters do not add up: " + counts_text(c));
  }
  if (terminal && c.pending != 0) {
    bad(job_invariant::finished_batch_has_no_pending,
        "a " + text(j.status) + " batch with " + std::to_string(c.pending) +
            " children not finished");
  }
  if (terminal && j.status != job_status::cancelled && c.pending == 0 &&
      j.status != finished_batch_status(c)) {
    bad(job_invariant::finished_batch_follows_children,
        "a " + text(j.status) + " batch whose children say " +
            text(finished_batch_status(c)) + ": " + counts_text(c));
  }
  if (j.status == job_status::running && c.pending == 0) {
    bad(job_invariant::running_batch_has_unfinished,
        "a running batch whose children have all finished");
  }
  if (j.status == job_status::pending &&
      (c.running != 0 || c.succeeded != 0 || c.failed != 0)) {
    bad(job_invariant::pending_batch_has_not_run,
        "a pending batch with children that have run: " + counts_text(c));
  }
}

}  // namespace

std::vector<invariant_violation> check_invariants(const job& j) {
  return check_invariants(j, earlier_history{});
}

std::vector<invariant_violation> check_invariants(
    const job& j, const earlier_history& earlier) {
  std::vector<invariant_violation> out;
  check_counters(j, out);
  check_lease(j, out);
  if (j.history.empty()) {
    out.push_back({job_invariant::history_not_empty, "the history is empty"});
    return out;
  }
  check_history(j, earlier, out);
  if (j.is_batch) check_batch(j, out);
  return out;
}

std::vector<invariant_violation> check_record_invariants(const job& j) {
  std::vector<invariant_violation> out;
  check_counters(j, out);
  check_completed_at(j, out);
  check_lease(j, out);
  if (j.is_batch) check_batch(j, out);
  return out;
}

std::string counts_text(const progress_counts& c) {
  return "total " + std::to_string(c.total) + ", succeeded " +
         std::to_string(c.succeeded) + " (partially " +
         std::to_string(c.partially_succeeded) + "), failed " +
         std::to_string(c.failed) + ", cancelled " +
         std::to_string(c.cancelled) + ", pending " +
         std::to_string(c.pending) + " (running " + std::to_string(c.running) +
         ")";
}

}  // namespace jobstate::model
