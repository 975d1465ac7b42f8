// Helpers of the worker tests (claims, leases, schedules): a clock the test
// moves, an engine stamped by it, and claim requests.
#ifndef JOBSTATE_TESTS_SUPPORT_WORKERS_HPP
#define JOBSTATE_TESTS_SUPPORT_WORKERS_HPP

#include <jobstate/jobstate.hpp>

#include "support/test_engine.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace jobstate::test {

/// A clock the test moves by hand; it starts at the real time.
class manual_clock {
 public:
  manual_clock();
  timestamp now() const {
    return timestamp(std::chrono::microseconds(micros_.load()));
  }
  void advance(std::chrono::microseconds by) { micros_ += by.count(); }

 private:
  std::atomic<std::int64_t> micros_;
};

/// An engine stamped by a manual clock. Leases and deadlines expire when
/// the test says (engine::expire_leases), so that counts are exact: the
/// engine's own timer would otherwise act as soon as the clock moves past
/// one. `configure` may change the options further.
struct clocked_engine {
  explicit clocked_engine(bool automatic_expiry = false,
                          std::function<void(options&)> configure = {});
  std::shared_ptr<manual_clock> clock = std::make_shared<manual_clock>();
  test_engine db;
};

/// A claim in account/project for `kinds`, with lease `ttl`, by `worker`.
claim_request claim_of(std::vector<std::string> kinds = {"parse"},
                       std::chrono::milliseconds ttl = std::chrono::seconds(10),
                       std::string worker = "worker-1");

/// Options that fence a write with lease epoch `epoch`.
mutation_options fenced(std::uint64_t epoch);

/// Closes `t`'s engine, moves its clock by `by`, opens the database again
/// and waits (up to hang_guard) for `j` to end, as the engine's own expiry
/// must make it do at open; the job as it ended, or a failed test (and a
/// throw) when it did not.
job ended_after_reopen(clocked_engine& t, const job& j,
                       std::chrono::microseconds by);

/// Claims one job or fails the test (and throws).
job claim_one(engine& e, const claim_request& r = claim_of());

}  // namespace jobstate::test

#endif  // JOBSTATE_TESTS_SUPPORT_WORKERS_HPP
