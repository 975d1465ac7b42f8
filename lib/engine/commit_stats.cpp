#include "engine/commit_stats.hpp"

#include <algorithm>
#include <array>

namespace jobstate::engine_detail {
namespace {

// From a fast no_sync commit (tens of microseconds) to a slow disk's fsync.
constexpr std::array<double, 12> bounds = {0.0001, 0.00025, 0.0005, 0.001,
                                           0.0025, 0.005,   0.01,   0.025,
                                           0.05,   0.1,     0.25,   1.0};

}  // namespace

void commit_stats::record(std::chrono::nanoseconds took,
                          const std::vector<store::change_record>& changes) {
  const double seconds = std::chrono::duration<double>(took).count();
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin());
  support::mutex_lock lock(mutex_);
  if (buckets_.empty()) buckets_.resize(bounds.size() + 1);
  ++buckets_[bucket];
  sum_seconds_ += seconds;
  ++count_;
  for (const auto& c : changes) ++steps_[c.step];
}

void commit_stats::snapshot(engine_stats& out) const {
  out.commits.bucket_bounds_seconds.assign(bounds.begin(), bounds.end());
  support::mutex_lock lock(mutex_);
  out.commits.bucket_counts = buckets_;
  out.commits.bucket_counts.resize(bounds.size() + 1);
  out.commits.sum_seconds = sum_seconds_;
  out.commits.count = count_;
  out.changes_by_step.assign(steps_.begin(), steps_.end());
}

}  // namespace jobstate::engine_detail
