#include <jobstate/wait.hpp>

namespace jobstate {
namespace {

constexpr std::uint8_t bit(job_status s) {
  return static_cast<std::uint8_t>(1u << static_cast<unsigned>(s));
}

}  // namespace

wait_condition wait_condition::terminal() noexcept {
  wait_condition c;
  c.status_mask_ = bit(job_status::succeeded) |
                   bit(job_status::partially_succeeded) |
                   bit(job_status::failed) | bit(job_status::cancelled);
  return c;
}

wait_condition wait_condition::changed_after(std::uint64_t revision) noexcept {
  wait_condition c;
  c.after_revision_ = revision;
  return c;
}

wait_condition wait_condition::status_in(
    std::initializer_list<job_status> statuses) noexcept {
  return status_in(
      std::span<const job_status>(statuses.begin(), statuses.size()));
}

wait_condition wait_condition::status_in(
    std::span<const job_status> statuses) noexcept {
  wait_condition c;
  for (job_status s : statuses) c.status_mask_ |= bit(s);
  return c;
}

bool wait_condition::satisfied_by(const job& j) const noexcept {
  return satisfied_by(j.status, j.revision);
}

bool wait_condition::satisfied_by(job_status status,
                                  std::uint64_t revision) const noexcept {
  if (after_revision_) return revision > *after_revision_;
  return (status_mask_ & bit(status)) != 0;
}

}  // namespace jobstate
