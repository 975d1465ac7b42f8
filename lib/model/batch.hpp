// Batch rules: how a parent's counters and status follow its children.
// Pure functions, no I/O. The table is in docs/batches.md.
#ifndef JOBSTATE_MODEL_BATCH_HPP
#define JOBSTATE_MODEL_BATCH_HPP

#include <jobstate/requests.hpp>
#include <jobstate/result.hpp>

namespace jobstate::model {

/// Moves `delta` children into (or out of) the counters of status `s`.
void count_child(progress_counts& c, job_status s, std::int64_t delta);

/// The status of a batch whose children have all finished: all succeeded →
/// succeeded; none succeeded and some failed → failed; all cancelled →
/// cancelled; otherwise partially_succeeded (also when every child succeeded
/// but some only partially).
job_status finished_batch_status(const progress_counts& c);

/// A pending batch parent for `children` children, at revision 1.
job make_batch_parent(const create_request& request, std::size_t children,
                      job_id id, timestamp now);

/// The create request of a child of a batch created by `parent`: its
/// account and project, and the child's kind, input, source and
/// correlation (no idempotency key, time limit or retry policy).
create_request child_request(const create_request& parent,
                             const batch_child& child);

/// Records on `parent` that one child moved from `from` to `to`: counters,
/// percent, and the derived status (running once a child starts; terminal
/// once every child is). Bumps the revision.
void apply_child_change(job& parent, job_status from, job_status to,
                        timestamp now);

/// illegal_transition for `what` ("start", "complete", ...) on a batch
/// parent, whose status only its children move.
error batch_parent_is_derived(const job& parent, std::string_view what);

}  // namespace jobstate::model

#endif  // JOBSTATE_MODEL_BATCH_HPP
