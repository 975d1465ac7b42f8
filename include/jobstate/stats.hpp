// What an engine can say about itself for monitoring: job counts, change
// counts, pending waiters and commit latency. A plain snapshot.
#ifndef JOBSTATE_STATS_HPP
#define JOBSTATE_STATS_HPP

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace jobstate {

/// Latency of group commits (one LMDB write transaction, fsync included),
/// as a histogram: `bucket_counts[i]` commits took at most
/// `bucket_bounds_seconds[i]` and more than the previous bound; the last
/// count (one more than the bounds) is for slower ones.
struct commit_latency {
  std::vector<double> bucket_bounds_seconds;
  std::vector<std::uint64_t> bucket_counts;
  double sum_seconds = 0;
  std::uint64_t count = 0;
};

/// A snapshot of `engine::stats`.
struct engine_stats {
  /// Jobs stored now, by job_status (index = the status's numeric value),
  /// across all accounts. Counted by walking the status index: its cost grows
  /// with the number of jobs (tens of milliseconds per million).
  std::array<std::uint64_t, 6> jobs_by_status{};
  /// Changes committed by this engine since it was opened, by history step
  /// ("created", "started", "succeeded", ...), sorted by step.
  std::vector<std::pair<std::string, std::uint64_t>> changes_by_step;
  std::uint64_t waits_pending = 0;    ///< async_wait / wait calls pending.
  std::uint64_t watches_pending = 0;  ///< async_watch / watch calls pending.
  /// claim / async_claim calls not answered yet (most waiting for work).
  std::uint64_t claims_pending = 0;
  commit_latency commits;  ///< Since the engine was opened.
};

}  // namespace jobstate

#endif  // JOBSTATE_STATS_HPP
