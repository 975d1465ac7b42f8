// The rules every job record obeys, however it was reached: what the
// transitions (transitions.cpp, batch.cpp) guarantee, stated once so that
// the integrity check (lib/store/check.cpp) and the engine's write path
// (lib/engine/mutations.cpp) hold records to the same rules. Pure
// functions, no I/O.
//
// Each rule concerns one record alone and holds after every step of a
// mutation, not only at commit: a batch parent's counters move with each
// child in the same write. Rules that compare records (a batch's counters
// with its children) need the store, and stay in the check.
#ifndef JOBSTATE_MODEL_INVARIANTS_HPP
#define JOBSTATE_MODEL_INVARIANTS_HPP

#include <jobstate/job.hpp>

#include <string>
#include <vector>

namespace jobstate::model {

/// The rules of a job record.
enum class job_invariant {
  // Every job.
  revision_starts_at_one,    ///< revision >= 1.
  attempt_starts_at_one,     ///< attempt >= 1.
  history_not_empty,         ///< At least the "created" event.
  history_starts_created,    ///< The first event is "created", pending.
  revision_covers_history,   ///< One revision per event at least (a batch
                             ///< may record "started" and its end at once).
  legal_transitions,         ///< Each event moves along the status table.
  only_running_repeats,      ///< An event that keeps the status (progress)
                             ///< happens only while running.
  status_ends_history,       ///< The status is the last event's.
  completed_at_if_terminal,  ///< completed_at is set exactly when terminal.
  started_at_if_ran,         ///< started_at is set exactly when it ran.
  // Leases.
  lease_only_on_a_job_that_ran,  ///< A lease: not pending, not a batch, an
                                 ///< epoch of 1 or more, a positive ttl.
  // Batch parents.
  batch_has_counts,                 ///< A batch carries progress counts.
  batch_counts_add_up,              ///< pending + succeeded + failed +
                                    ///< cancelled = total, and the sub-counts
                                    ///< fit in theirs.
  finished_batch_has_no_pending,    ///< Terminal: every child finished.
  finished_batch_follows_children,  ///< Terminal (not cancelled by hand):
                                    ///< the status finished_batch_status
                                    ///< gives.
  running_batch_has_unfinished,     ///< Running: some child has not finished.
  pending_batch_has_not_run,        ///< Pending: no child has run.
};

/// One rule a record breaks, and how.
struct invariant_violation {
  job_invariant invariant;
  std::string detail;  ///< For people: the values or event concerned.
};

/// Every rule `j` breaks; empty when it obeys them all. A record with no
/// history is reported for that alone (the history rules need an event),
/// and a batch without counts for that alone among the batch rules.
std::vector<invariant_violation> check_invariants(const job& j);

/// What comes before `j.history` when it holds only a job's last events
/// (the write path reads no further back than the last stored event).
struct earlier_history {
  std::size_t events = 0;  ///< How many events come before j.history.
  bool ran = false;        ///< Whether one of them is `running`.
};
/// As check_invariants(j), for a job whose history holds only its last
/// events: the rules are checked on those, with `earlier` standing for the
/// rest (so "starts created" is checked only when earlier.events is 0). The
/// integrity check holds the whole history to every rule; this holds each
/// write to what it can see.
std::vector<invariant_violation> check_invariants(
    const job& j, const earlier_history& earlier);

/// The rules that need no history event (the counters start at 1,
/// completed_at, a batch's counts): what the integrity check holds a record
/// to when some of its events are missing or damaged.
std::vector<invariant_violation> check_record_invariants(const job& j);

/// "total 3, succeeded 1 (partially 0), failed 0, ...": a batch's counters
/// in messages.
std::string counts_text(const progress_counts& c);

}  // namespace jobstate::model

#endif  // JOBSTATE_MODEL_INVARIANTS_HPP
