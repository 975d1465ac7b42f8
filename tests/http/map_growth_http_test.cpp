// jobstated writing through several map growths under load: clients
// creating, driving and long-polling jobs at once while the map doubles
// from 1 MiB to 8 MiB. Regression: the committer deadlocked at the first
// growth under a fast writer and the server stopped accepting jobs for
// ever while /healthz still answered. A deadlock fails through the suite's
// watchdog.
#include "support/server_fixture.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace jobstate::test {
namespace {

constexpr std::uint64_t one_mib = std::uint64_t{1} << 20;

class MapGrowthHttp : public server_test {
 protected:
  MapGrowthHttp() { map_size_ = one_mib; }

  std::uintmax_t data_file_size() const {
    return std::filesystem::file_size(dir_.sub("db") / "data.mdb");
  }
  bool grown() const { return data_file_size() >= 4 * one_mib + one_mib / 2; }
};

TEST_F(MapGrowthHttp, ServesThroughThreeGrowthsUnderLoad) {
  const std::string jobs = "/v1/native/projects/alpha/jobs";
  const std::string body = R"({"kind": "ingest", "input": {"blob": ")" +
                           std::string(3000, 'b') + R"("}})";
  std::atomic<int> created{0};
  std::atomic<int> failures{0};
  std::atomic<int> long_polls_answered{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 12; ++c) {
    clients.emplace_back([&, c] {
      while (!grown() && failures == 0) {
        auto a = post(jobs, body);
        if (a.status != 201) {
          ADD_FAILURE() << "create answered " << a.status << ": " << a.body;
          ++failures;
          return;
        }
        ++created;
        if (c % 3 != 0) continue;
        // Every third client also drives its job to the end while a
        // long-poll waits for it.
        const std::string id = a.json().at("id").as_string().c_str();
        std::thread poll([&, id] {
          auto answer = get(jobs + "/" + id + "?wait=30");
          if (answer.status == 200 &&
              answer.json().at("status") == "succeeded") {
            ++long_polls_answered;
          }
        });
        const bool driven = post(jobs + "/" + id + "/start").status == 200 &&
                            post(jobs + "/" + id + "/complete").status == 200;
        poll.join();
        if (!driven) ++failures;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_TRUE(grown());
  EXPECT_GT(long_polls_answered, 0);
  // Still serving, and every acknowledged create is there.
  EXPECT_EQ(get("/healthz").status, 200);
  EXPECT_EQ(post(jobs, R"({"kind": "after"})").status, 201);
  std::size_t listed = 0;
  std::string cursor;
  for (;;) {
    auto page =
        get(jobs + "?limit=1000" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(page.status, 200);
    const boost::json::value body = page.json();
    listed += body.at("jobs").as_array().size();
    const auto& next = body.at("next_cursor");
    if (next.is_null()) break;
    cursor = next.as_string().c_str();
  }
  EXPECT_EQ(listed, static_cast<std::size_t>(created) + 1);
}

}  // namespace
}  // namespace jobstate::test
