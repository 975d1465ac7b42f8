// Map growth from every commit path. The map starts at 1 MiB and each test
// writes until it has doubled at least three times (1 → 2 → 4 → 8 MiB), under
// each durability: a blocking caller that commits itself (lead), the
// committer thread (asynchronous mutations), both at once from several
// threads, with readers, waiters and watches pending, and two processes on
// one database. A deadlock here fails through the suite's watchdog
// (support/watchdog.cpp) or the writer process's time limit, never by
// hanging.
#include <jobstate/async.hpp>
#include <jobstate/jobstate.hpp>

#include "support/jobs.hpp"
#include "support/test_engine.hpp"
#include "support/waits.hpp"
#include "support/writer_process.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace jobstate {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

using test::make_request;
using test::ref_of;
using test::test_engine;
using test::text_of_size;

constexpr std::uint64_t one_mib = std::uint64_t{1} << 20;
// Large enough that three doublings take a few thousand commits (fsync'd
// ones at `full`), small enough that many fit in one map.
constexpr std::size_t blob_bytes = 3000;
// The data file reaches this only after the map grew past 4 MiB.
constexpr std::uintmax_t grown_three_times = 4 * one_mib + one_mib / 2;

create_request blob_request(int n) {
  return make_request(
      "ingest",
      boost::json::object{{"n", n}, {"blob", text_of_size(blob_bytes)}});
}

class EngineGrowth : public testing::TestWithParam<durability> {
 protected:
  EngineGrowth()
      : db_([](options& o) {
          o.durability = GetParam();
          o.map_size = one_mib;
        }) {}

  bool grown() const {
    return std::filesystem::file_size(data_file_) >= grown_three_times;
  }

  // Creates jobs one blocking call at a time until the map has grown three
  // times; returns how many.
  int create_until_grown(int first) {
    int n = first;
    while (!grown()) {
      auto made = db_->create(blob_request(n));
      if (!made) {
        ADD_FAILURE() << "create #" << n << ": " << made.error().message();
        break;
      }
      ++n;
    }
    return n - first;
  }

  // Keeps `in_flight` asynchronous creates queued (the committer thread
  // commits them) until the map has grown three times.
  void async_create_until_grown(std::size_t in_flight) {
    asio::io_context io;
    std::atomic<int> failures{0};
    int n = 0;
    while (!grown() && failures == 0) {
      std::atomic<std::size_t> done{0};
      for (std::size_t i = 0; i < in_flight; ++i) {
        async_create(*db_, blob_request(n++),
                     [&](boost::system::error_code ec, created_job) {
                       if (ec) ++failures;
                       ++done;
                     });
      }
      io.restart();
      while (done < in_flight) io.run_one_for(50ms);
    }
    EXPECT_EQ(failures, 0);
  }

  test_engine db_;
  const std::filesystem::path data_file_ =
      std::filesystem::path(db_.options().path) / "data.mdb";
};

TEST_P(EngineGrowth, BlockingCallerThatCommitsItself) {
  EXPECT_GT(create_until_grown(0), 0);
  EXPECT_TRUE(grown());
}

TEST_P(EngineGrowth, CommitterThreadWithAsyncMutations) {
  async_create_until_grown(64);
  EXPECT_TRUE(grown());
}

TEST_P(EngineGrowth, ManyBlockingThreadsAndAsyncMutationsAtOnce) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([this, t] { create_until_grown(t * 1'000'000); });
  }
  async_create_until_grown(16);
  for (auto& t : threads) t.join();
  EXPECT_TRUE(grown());
}

// Readers in other threads, waits and a watch pending, and lifecycles that
// wake waiters, all while the map grows.
TEST_P(EngineGrowth, WithReadersWaitersAndWatchesPending) {
  // Jobs whose waiters stay pending until the end, and jobs that finish
  // mid-growth and wake theirs.
  std::vector<job> idle;
  std::vector<job> finishing;
  for (int i = 0; i < 50; ++i) idle.push_back(test::create_job(*db_));
  for (int i = 0; i < 50; ++i) finishing.push_back(test::create_job(*db_));

  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  std::thread io_thread([&io] { io.run(); });
  std::atomic<int> woken{0};
  std::atomic<int> wait_errors{0};
  auto count_wait = [&](boost::system::error_code ec, wait_result r) {
    if (ec || r.timed_out) ++wait_errors;
    ++woken;
  };
  for (const job& j : idle) {
    async_wait(*db_, ref_of(j), wait_condition::terminal(), test::long_timeout,
               asio::bind_executor(io, count_wait));
  }
  for (const job& j : finishing) {
    async_wait(*db_, ref_of(j), wait_condition::terminal(), test::long_timeout,
               asio::bind_executor(io, count_wait));
  }
  // A watch that follows the whole feed, one batch after another.
  std::atomic<std::uint64_t> watched_up_to{0};
  std::atomic<bool> watch_failed{false};
  std::function<void(std::uint64_t)> follow = [&](std::uint64_t after) {
    watch_request w;
    w.after = after;
    async_watch(*db_, w,
                asio::bind_executor(
                    io, [&](boost::system::error_code ec, change_batch b) {
                      if (ec) {
                        if (ec != asio::error::operation_aborted)
                          watch_failed = true;
                        return;
                      }
                      watched_up_to = b.last_sequence;
                      follow(b.last_sequence);
                    }));
  };
  follow(0);

  std::atomic<bool> stop{false};
  std::atomic<int> read_errors{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      while (!stop) {
        if (!db_->get(ref_of(idle.front()))) ++read_errors;
        if (!db_->list(test::make_query(20))) ++read_errors;
      }
    });
  }
  std::thread blocking_waiter([&] {
    auto r = db_->wait(ref_of(finishing.back()), wait_condition::terminal(),
                       test::long_timeout);
    if (!r || r->timed_out) ++wait_errors;
  });

  std::thread lifecycles([&] {
    for (const job& j : finishing) {
      if (!db_->start(ref_of(j)) ||
          !db_->complete(ref_of(j),
                         test::completion_for(job_status::succeeded))) {
        ++wait_errors;
      }
      if (grown()) continue;
      std::this_thread::sleep_for(1ms);
    }
  });
  async_create_until_grown(32);
  create_until_grown(10'000'000);
  lifecycles.join();
  blocking_waiter.join();
  EXPECT_TRUE(test::eventually(
      [&] { return woken == static_cast<int>(finishing.size()); }));
  for (const job& j : idle) {
    ASSERT_TRUE(db_->cancel(ref_of(j), "done").has_value());
  }
  EXPECT_TRUE(test::eventually([&] {
    return woken == static_cast<int>(idle.size() + finishing.size());
  }));
  const std::uint64_t last = db_->last_sequence().value();
  EXPECT_TRUE(test::eventually([&] { return watched_up_to == last; }))
      << "watched up to " << watched_up_to << " of " << last;
  stop = true;
  for (auto& r : readers) r.join();
  guard.reset();
  db_.close();  // Aborts the watch: the io thread can end.
  io_thread.join();
  EXPECT_EQ(wait_errors, 0);
  EXPECT_EQ(read_errors, 0);
  EXPECT_FALSE(watch_failed);
  EXPECT_TRUE(grown());
}

// Two processes writing at once, each growing the map the other then has to
// adopt.
TEST_P(EngineGrowth, TwoProcessesOnOneDatabase) {
  constexpr int other_jobs = 800;
  test::writer_process other(
      {db_.options().path, "fill", std::string(test::account),
       std::string(test::project), std::to_string(other_jobs),
       std::to_string(blob_bytes), std::to_string(one_mib),
       test::name_of(GetParam())});
  const int here = create_until_grown(0);
  const test::writer_output out = other.finish(60s);
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(out.ids().size(), static_cast<std::size_t>(other_jobs));
  // Every job of both processes is there.
  for (const job_id& id : out.ids()) {
    EXPECT_TRUE(
        db_->get({std::string(test::account), std::string(test::project), id})
            .has_value());
  }
  EXPECT_EQ(test::list_all(*db_, test::make_query(1000)).size(),
            static_cast<std::size_t>(here + other_jobs));
}

INSTANTIATE_TEST_SUITE_P(EveryDurability, EngineGrowth,
                         testing::Values(durability::full,
                                         durability::no_meta_sync,
                                         durability::no_sync),
                         test::durability_name);

}  // namespace
}  // namespace jobstate
