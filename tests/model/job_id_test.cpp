// job_id: UUIDv7 generation, ordering, text form.
#include <jobstate/job_id.hpp>

#include "support/jobs.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace jobstate {
namespace {

const job_id::bytes_type known_bytes = {0x01, 0x93, 0x2c, 0x07, 0x8a, 0x1b,
                                        0x7c, 0x3d, 0x9e, 0x4f, 0x01, 0x23,
                                        0x45, 0x67, 0x89, 0xab};
constexpr const char* known_text = "01932c07-8a1b-7c3d-9e4f-0123456789ab";

std::int64_t now_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST(JobId, DefaultIsNil) {
  job_id id;
  EXPECT_TRUE(id.is_nil());
  EXPECT_EQ(id.to_string(), "00000000-0000-0000-0000-000000000000");
  for (auto b : id.bytes()) EXPECT_EQ(b, 0);
}

TEST(JobId, NilRoundTrips) {
  auto parsed = job_id::parse("00000000-0000-0000-0000-000000000000");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_TRUE(parsed->is_nil());
}

TEST(JobId, KnownBytesFormatCanonically) {
  job_id id(known_bytes);
  EXPECT_FALSE(id.is_nil());
  EXPECT_EQ(id.bytes(), known_bytes);
  EXPECT_EQ(id.to_string(), known_text);
}

TEST(JobId, UnixMillisOfKnownIdIsItsFirst48Bits) {
  job_id id(known_bytes);
  EXPECT_EQ(id.unix_millis(), std::int64_t{0x01932c078a1b});
}

TEST(JobId, GeneratedIdIsVersion7WithRfcVariant) {
  for (int i = 0; i < 100; ++i) {
    job_id id = job_id::generate();
    ASSERT_FALSE(id.is_nil());
    EXPECT_EQ(id.bytes()[6] >> 4, 7) << id.to_string();
    EXPECT_EQ(id.bytes()[8] >> 6, 2) << id.to_string();
  }
}

TEST(JobId, ToStringIsCanonicalLowerCase) {
  for (int i = 0; i < 100; ++i) {
    std::string text = job_id::generate().to_string();
    ASSERT_EQ(text.size(), 36u) << text;
    for (std::size_t k = 0; k < text.size(); ++k) {
      if (k == 8 || k == 13 || k == 18 || k == 23) {
        EXPECT_EQ(text[k], '-') << text;
      } else {
        EXPECT_TRUE((text[k] >= '0' && text[k] <= '9') ||
                    (text[k] >= 'a' && text[k] <= 'f'))
            << text;
      }
    }
    EXPECT_EQ(text[14], '7') << text;
  }
}

TEST(JobId, ParseRoundTrips) {
  for (int i = 0; i < 100; ++i) {
    job_id id = job_id::generate();
    auto parsed = job_id::parse(id.to_string());
    ASSERT_TRUE(parsed.has_value()) << id.to_string();
    EXPECT_EQ(*parsed, id);
  }
  auto known = job_id::parse(known_text);
  ASSERT_TRUE(known.has_value());
  EXPECT_EQ(known->bytes(), known_bytes);
}

TEST(JobId, ParseAcceptsUpperCase) {
  auto parsed = job_id::parse("01932C07-8A1B-7C3D-9E4F-0123456789AB");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(*parsed, job_id(known_bytes));
  EXPECT_EQ(parsed->to_string(), known_text);
}

TEST(JobId, ParseRejectsMalformedText) {
  const std::string good = known_text;
  const std::vector<std::string> bad = {
      "",
      "not-a-uuid",
      good.substr(0, 35),                      // one digit short
      good + "0",                              // one digit long
      "01932c078a1b7c3d9e4f0123456789ab",      // no dashes
      "01932c07-8a1b7c3d-9e4f-0123456789ab-",  // dash moved
      "01932c0-78a1b-7c3d-9e4f-0123456789ab",  // dash misplaced
      "01932c07_8a1b_7c3d_9e4f_0123456789ab",  // wrong separator
      "01932g07-8a1b-7c3d-9e4f-0123456789ab",  // not hexadecimal
      "01932c07-8a1b-7c3d-9e4f-0123456789a ",  // space instead of digit
      " " + good,                              // leading space
      good + " ",                              // trailing space
      good + "\n",                             // trailing newline
      "{" + good + "}",                        // braces
      "urn:uuid:" + good,                      // URN prefix
      "+1932c07-8a1b-7c3d-9e4f-0123456789ab",  // sign
      std::string(known_text, 8) + std::string(1, '\0') + good.substr(9),
  };
  for (const auto& text : bad) {
    SCOPED_TRACE("text: \"" + text + "\"");
    EXPECT_EQ(job_id::parse(text), std::nullopt);
  }
}

TEST(JobId, GenerateIsStrictlyIncreasing) {
  job_id previous = job_id::generate();
  for (int i = 0; i < 20000; ++i) {
    job_id next = job_id::generate();
    ASSERT_LT(previous, next) << "after " << i << " ids";
    previous = next;
  }
}

TEST(JobId, GenerateIsStrictlyIncreasingAcrossThreads) {
  // Each thread reads the newest id published by any thread (under a mutex,
  // so that id was generated before), then generates one: it must be
  // greater. All ids together must be distinct.
  constexpr int threads = 4;
  constexpr int per_thread = 5000;
  std::mutex mu;
  job_id newest;  // guarded by mu
  std::vector<std::vector<job_id>> made(threads);
  std::vector<int> violations(threads, 0);

  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      made[t].reserve(per_thread);
      for (int i = 0; i < per_thread; ++i) {
        job_id seen;
        {
          std::lock_guard lock(mu);
          seen = newest;
        }
        job_id id = job_id::generate();
        if (!(seen < id)) ++violations[t];
        if (!made[t].empty() && !(made[t].back() < id)) ++violations[t];
        made[t].push_back(id);
        std::lock_guard lock(mu);
        newest = std::max(newest, id);
      }
    });
  }
  for (auto& th : pool) th.join();

  std::set<job_id> all;
  for (int t = 0; t < threads; ++t) {
    EXPECT_EQ(violations[t], 0) << "thread " << t;
    all.insert(made[t].begin(), made[t].end());
  }
  EXPECT_EQ(all.size(), std::size_t{threads} * per_thread);
}

TEST(JobId, ByteOrderMatchesTextOrder) {
  std::vector<job_id> ids;
  for (int i = 0; i < 200; ++i) ids.push_back(job_id::generate());
  ids.push_back(job_id(known_bytes));
  ids.push_back(job_id{});
  for (const auto& a : ids) {
    for (const auto& b : ids) {
      ASSERT_EQ(a < b, a.to_string() < b.to_string())
          << a.to_string() << " vs " << b.to_string();
    }
  }
}

TEST(JobId, UnixMillisIsNearNow) {
  // Not a timing assertion: a generated id must carry today's date, not
  // zero, not microseconds, not seconds. One minute of slack either way.
  const std::int64_t before = now_millis();
  job_id id = job_id::generate();
  const std::int64_t after = now_millis();
  EXPECT_GE(id.unix_millis(), before - 60'000);
  EXPECT_LE(id.unix_millis(), after + 60'000);
}

}  // namespace
}  // namespace jobstate
