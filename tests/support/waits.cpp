#include "support/waits.hpp"

#include "engine/engine_impl.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <gtest/gtest.h>

namespace jobstate::test {

std::size_t waits_pending(engine& e) {
  return engine_access::of(e).subs_->waits_pending();
}

bool subscriptions_idle(engine& e) {
  return engine_access::of(e).subs_->idle();
}

bool eventually(const std::function<bool()>& done,
                std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds limit) {
  if (io.stopped()) io.restart();
  auto guard = boost::asio::make_work_guard(io);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.run_one_for(std::chrono::milliseconds(20));
  }
  return true;
}

std::future<void> run_in_background(boost::asio::io_context& io) {
  return std::async(std::launch::async, [&io] { io.run(); });
}

io_runner::io_runner(int threads) : guard_(io.get_executor()) {
  for (int i = 0; i < threads; ++i) {
    std::promise<void> done;
    done_.push_back(done.get_future());
    threads_.emplace_back([this, done = std::move(done)]() mutable {
      io.run();
      done.set_value();
    });
  }
}

io_runner::~io_runner() {
  guard_.reset();
  for (auto& f : done_) {
    if (!ready_within(f)) {
      ADD_FAILURE() << "io_context::run() did not return within "
                    << hang_guard.count() << " ms of the last work";
      io.stop();
      break;
    }
  }
  for (auto& t : threads_) t.join();
}

bool io_runner::on_runner_thread() const {
  for (const auto& t : threads_) {
    if (t.get_id() == std::this_thread::get_id()) return true;
  }
  return false;
}

std::vector<std::uint64_t> sequences_of(const std::vector<change>& changes) {
  std::vector<std::uint64_t> out;
  out.reserve(changes.size());
  for (const auto& c : changes) out.push_back(c.sequence);
  return out;
}

std::string describe(const change& c) {
  return "#" + std::to_string(c.sequence) + " " + c.id.to_string() + " " +
         c.account_id + "/" + c.project_id + " " + c.step + " -> " +
         std::string(to_string(c.status)) + " r" + std::to_string(c.revision);
}

}  // namespace jobstate::test
