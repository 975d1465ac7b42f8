#include "model/leases.hpp"

#include <jobstate/timestamp.hpp>

#include "model/schedules.hpp"
#include "model/transitions.hpp"

#include <string>

namespace jobstate::model {
namespace {

std::string epoch_text(const job& j) {
  return j.lease ? "epoch " + std::to_string(j.lease->epoch) : "no lease";
}

}  // namespace

result<void> check_lease(const job& j, std::uint64_t epoch, timestamp now) {
  const auto lost = [&](std::string why) {
    return error(errc::lease_lost, "job " + j.id.to_string() + ": " + why)
        .with_job_state(j.status, j.revision)
        .with_epoch(j.lease ? j.lease->epoch : 0);
  };
  if (!j.lease || j.lease->epoch != epoch) {
    return lost("the lease of epoch " + std::to_string(epoch) +
                " is not the job's (it has " + epoch_text(j) + ")");
  }
  if (j.status != job_status::running) {
    return lost("it is " + std::string(to_string(j.status)) +
                (j.error ? " (" + j.error->code + ")" : std::string()));
  }
  if (j.lease->expires_at <= now) {
    return lost("the lease of epoch " + std::to_string(epoch) + " lapsed at " +
                format_timestamp(j.lease->expires_at));
  }
  // The run deadline ends the lease with it, even before it is written.
  if (deadline_passed(j, now)) {
    return lost("its run_timeout ran out at " + format_timestamp(*deadline(j)));
  }
  return {};
}

result<void> apply_claim(job& j, const claim_request& r, timestamp now,
                         const limits& lim) {
  mutation_options start;
  start.details =
      r.details.is_null()
          ? boost::json::value(boost::json::object{{"worker_id", r.worker_id}})
          : r.details;
  // A job leaves pending once, so it is claimed at most once: its first and
  // only epoch. (Retry is a rerun, a new job with epochs of its own.)
  const std::uint64_t epoch = 1;
  if (auto s = apply_start(j, start, now, lim); !s) return s;
  j.history.back().step = "claimed";
  j.history.back().epoch = epoch;
  j.lease = lease{r.worker_id, epoch, now + r.lease_ttl, r.lease_ttl};
  return {};
}

void apply_heartbeat(job& j, timestamp now) {
  j.lease->expires_at = now + j.lease->ttl;
  ++j.revision;
}

bool lease_lapsed(const job& j, timestamp now) {
  return j.status == job_status::running && j.lease &&
         j.lease->expires_at <= now;
}

void apply_lease_expiry(job& j, timestamp now) {
  const lease& l = *j.lease;
  completion failed;
  failed.status = job_status::failed;
  failed.error = job_error{
      std::string(lease_expired_code),
      "worker " + l.worker_id + " did not renew its lease (epoch " +
          std::to_string(l.epoch) + ") by " + format_timestamp(l.expires_at)};
  mutation_options opts;
  opts.details =
      boost::json::object{{"worker_id", l.worker_id}, {"epoch", l.epoch}};
  // A running job may always fail: this cannot be refused.
  (void)apply_complete(j, failed, opts, now, limits{});
  j.history.back().step = "lease_expired";
}

}  // namespace jobstate::model
