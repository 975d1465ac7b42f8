#include "support/workers.hpp"

#include "support/jobs.hpp"
#include "support/waits.hpp"

#include <gtest/gtest.h>

namespace jobstate::test {

manual_clock::manual_clock()
    : micros_(std::chrono::time_point_cast<std::chrono::microseconds>(
                  std::chrono::system_clock::now())
                  .time_since_epoch()
                  .count()) {}

clocked_engine::clocked_engine(bool automatic_expiry,
                               std::function<void(options&)> configure)
    : db([c = clock, automatic_expiry,
          configure = std::move(configure)](options& o) {
        o.clock = [c] { return c->now(); };
        o.automatic_lease_expiry = automatic_expiry;
        if (configure) configure(o);
      }) {}

claim_request claim_of(std::vector<std::string> kinds,
                       std::chrono::milliseconds ttl, std::string worker) {
  claim_request r;
  r.account_id = std::string(account);
  r.project_id = std::string(project);
  r.kinds = std::move(kinds);
  r.worker_id = std::move(worker);
  r.lease_ttl = ttl;
  return r;
}

mutation_options fenced(std::uint64_t epoch) {
  mutation_options o;
  o.lease_epoch = epoch;
  return o;
}

job ended_after_reopen(clocked_engine& t, const job& j,
                       std::chrono::microseconds by) {
  t.db.close();
  t.clock->advance(by);
  t.db.reopen();
  auto done = t.db->wait(ref_of(j), wait_condition::terminal(), hang_guard);
  EXPECT_TRUE(done.has_value()) << done.error().message();
  EXPECT_TRUE(done.has_value() && !done->timed_out)
      << "job " << j.id.to_string() << " did not end at open";
  return done.value().job;
}

job claim_one(engine& e, const claim_request& r) {
  auto claimed = e.claim(r);
  EXPECT_TRUE(claimed.has_value()) << claimed.error().message();
  EXPECT_TRUE(claimed.has_value() && claimed->has_value()) << "nothing claimed";
  return claimed.value().value();
}

}  // namespace jobstate::test
