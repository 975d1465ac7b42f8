// Counters behind engine::stats that the commit path updates: the latency
// histogram of commits and the number of changes per history step.
#ifndef JOBSTATE_ENGINE_COMMIT_STATS_HPP
#define JOBSTATE_ENGINE_COMMIT_STATS_HPP

#include <jobstate/stats.hpp>

#include "store/job_store.hpp"
#include "support/mutex.hpp"

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace jobstate::engine_detail {

/// Thread-safe. Written by the committer thread once per commit, read by
/// engine::stats: a mutex is cheap at that rate.
class commit_stats {
 public:
  /// Records one commit that took `took` and made `changes` durable.
  void record(std::chrono::nanoseconds took,
              const std::vector<store::change_record>& changes);
  /// Fills the commit and step members of `out`.
  void snapshot(engine_stats& out) const;

 private:
  mutable support::mutex mutex_;
  std::vector<std::uint64_t> buckets_ JOBSTATE_GUARDED_BY(mutex_);
  double sum_seconds_ JOBSTATE_GUARDED_BY(mutex_) = 0;
  std::uint64_t count_ JOBSTATE_GUARDED_BY(mutex_) = 0;
  std::map<std::string, std::uint64_t> steps_ JOBSTATE_GUARDED_BY(mutex_);
};

}  // namespace jobstate::engine_detail

#endif  // JOBSTATE_ENGINE_COMMIT_STATS_HPP
