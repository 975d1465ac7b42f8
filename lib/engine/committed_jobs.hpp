// The jobs as a commit left them, while the committing thread still holds
// them in memory: a waiter answered from here costs no read transaction and
// no decode of the record it just wrote.
#ifndef JOBSTATE_ENGINE_COMMITTED_JOBS_HPP
#define JOBSTATE_ENGINE_COMMITTED_JOBS_HPP

#include <jobstate/job.hpp>

#include <functional>

namespace jobstate::engine_detail {

class committed_jobs {
 public:
  /// The job `id` exactly as the commit left it, or null when the commit's
  /// writes do not hold that state in memory (the job changed only as a
  /// side effect of another job's write, was purged, or did not change):
  /// then read it. Valid until the commit listener returns.
  virtual const job* find(const job_id& id) const = 0;
  /// Calls `f` with each job a write of the commit answered with, as it
  /// answered (one per write: a batch's children are not among them).
  virtual void for_each_answered(
      const std::function<void(const job&)>& f) const = 0;

 protected:
  ~committed_jobs() = default;
};

}  // namespace jobstate::engine_detail

#endif  // JOBSTATE_ENGINE_COMMITTED_JOBS_HPP
