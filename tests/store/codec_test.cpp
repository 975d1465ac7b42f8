// The store's value encoding and key layout (lib/store/codec.cpp, keys.cpp):
// exact round trips, damage detection, and the orderings the indexes rely on.
#include "store/codec.hpp"

#include "model/time.hpp"
#include "store/keys.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <bit>
#include <random>

namespace jobstate::store {
namespace {

job full_job() {
  job j;
  j.id = job_id::generate();
  j.account_id = "acme";
  j.project_id = "alpha";
  j.kind = "chat/completions";
  j.status = job_status::failed;
  j.created_at = model::now();
  j.started_at = j.created_at + std::chrono::milliseconds(5);
  j.completed_at = j.created_at + std::chrono::seconds(2);
  j.source_id = "doc-1";
  j.correlation_id = "trace-7";
  j.idempotency_key = "key-9";
  j.original_job_id = job_id::generate();
  j.parent_id = job_id::generate();
  j.attempt = 3;
  j.is_batch = true;
  j.input = boost::json::parse(
      R"({"text": "héllo", "n": -5, "big": 18446744073709551615,
          "pi": 3.141592653589793, "list": [true, false, null, {}], "e": []})");
  j.result = boost::json::object{{"ok", false}};
  j.error = job_error{"timeout", "no answer in 60 s"};
  j.progress.percent = 99.99999999999999;
  j.progress.counts = progress_counts{10, 3, 2, 1, 4, 2, 1};
  j.progress.details = boost::json::object{{"stage", "pages"}};
  j.history = {
      history_event{"created", j.created_at, 0, job_status::pending, nullptr},
      history_event{"started", *j.started_at, 5, job_status::running,
                    boost::json::object{{"worker", "w1"}}},
      history_event{"failed", *j.completed_at, 1995, job_status::failed,
                    nullptr}};
  j.revision = 3;
  return j;
}

// `j` encoded as the store keeps it (the record, then each event under its
// own key) and decoded back.
result<job> round_trip(const job& j) {
  auto r = decode_record(encode(j));
  if (!r) return r.error();
  if (r->history_length != j.history.size()) {
    return error(errc::corrupt,
                 "history length " + std::to_string(r->history_length));
  }
  job back = std::move(r->job);
  for (const history_event& e : j.history) {
    auto d = decode_event(encode(e));
    if (!d) return d.error();
    back.history.push_back(std::move(*d));
  }
  return back;
}

TEST(Codec, JobRoundTripsExactly) {
  const job j = full_job();
  const auto decoded = round_trip(j);
  ASSERT_TRUE(decoded) << decoded.error().message();
  EXPECT_EQ(*decoded, j);
}

TEST(Codec, RecordHoldsNoEventsOnlyTheirCount) {
  job j = full_job();
  const std::string with_three = encode(j);
  for (int i = 0; i < 100; ++i) j.history.push_back(j.history.back());
  // A longer history changes only the count (one byte here), never the
  // record's size in proportion: writes do not grow with history.
  EXPECT_EQ(encode(j).size(), with_three.size());
  auto r = decode_record(encode(j));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->history_length, 103u);
  EXPECT_TRUE(r->job.history.empty());
}

TEST(Codec, MinimalJobRoundTrips) {
  job j;
  j.id = job_id::generate();
  const auto decoded = round_trip(j);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, j);
}

TEST(Codec, EveryFlippedByteOfAnEventIsReportedAsCorrupt) {
  const std::string bytes = encode(full_job().history[1]);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::string damaged = bytes;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x5a);
    const auto decoded = decode_event(damaged);
    ASSERT_FALSE(decoded) << "byte " << i;
    EXPECT_EQ(decoded.code(), errc::corrupt);
  }
}

TEST(Codec, HistoryEventKeysSortAfterTheRecordInOrder) {
  const job_id id = job_id::generate();
  EXPECT_LT(keys::id(id), keys::history_event(id, 0));
  EXPECT_LT(keys::history_event(id, 255), keys::history_event(id, 256));
  EXPECT_LT(keys::history_event(id, 0xfffffffe),
            keys::history_event(id, 0xffffffff));
  EXPECT_EQ(keys::event_number_at(keys::history_event(id, 70000)), 70000u);
  EXPECT_EQ(keys::id_at(keys::history_event(id, 3), 0), id);
  EXPECT_EQ(keys::history_event(id, 1).size(), keys::history_event_size);
}

// Boost 1.81's text parser may be one ulp off; the binary form is exact.
TEST(Codec, DoublesRoundTripBitForBit) {
  std::mt19937_64 random(42);
  std::uniform_real_distribution<double> any(-1e300, 1e300);
  std::uniform_real_distribution<double> percent(0, 100);
  job j;
  j.id = job_id::generate();
  boost::json::array values;
  for (int i = 0; i < 2000; ++i) {
    values.push_back(i % 2 == 0 ? any(random) : percent(random));
  }
  j.input = values;
  const auto decoded = round_trip(j);
  ASSERT_TRUE(decoded);
  const auto& back = decoded->input.as_array();
  for (std::size_t i = 0; i < values.size(); ++i) {
    ASSERT_EQ(std::bit_cast<std::uint64_t>(back[i].as_double()),
              std::bit_cast<std::uint64_t>(values[i].as_double()))
        << "value " << i;
  }
}

TEST(Codec, EveryFlippedByteIsReportedAsCorrupt) {
  const std::string bytes = encode(full_job());
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::string damaged = bytes;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x5a);
    const auto decoded = decode_record(damaged);
    ASSERT_FALSE(decoded) << "byte " << i;
    EXPECT_EQ(decoded.code(), errc::corrupt);
  }
}

TEST(Codec, EveryTruncationIsReportedAsCorrupt) {
  const std::string bytes = encode(full_job());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    const auto decoded = decode_record(bytes.substr(0, n));
    ASSERT_FALSE(decoded) << "length " << n;
    EXPECT_EQ(decoded.code(), errc::corrupt);
  }
}

// The payload of `bytes` (its CRC dropped) cut or changed by `damage`, with
// a CRC that matches again: damage the checksum cannot see.
template <class Damage>
std::string with_valid_crc(const std::string& bytes, Damage&& damage) {
  std::string payload = bytes.substr(0, bytes.size() - 4);
  damage(payload);
  const std::uint32_t crc = crc32c(payload);
  for (int i = 0; i < 4; ++i) {
    payload.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  }
  return payload;
}

// Regression (found by fuzzing, tests/fuzz/corpus/codec/regression-*): an
// object whose input ends at a key passed a null pointer to memcpy.
TEST(Codec, EveryTruncationBehindAValidChecksumIsCorrupt) {
  const std::string bytes = encode(full_job());
  for (std::size_t n = 0; n + 4 < bytes.size(); ++n) {
    const std::string damaged =
        with_valid_crc(bytes, [&](std::string& p) { p.resize(n); });
    const auto decoded = decode_record(damaged);
    ASSERT_FALSE(decoded) << "length " << n;
    EXPECT_EQ(decoded.code(), errc::corrupt);
  }
}

TEST(Codec, EveryChangedByteBehindAValidChecksumDecodesOrIsCorrupt) {
  const std::string bytes = encode(full_job());
  for (std::size_t i = 0; i + 4 < bytes.size(); ++i) {
    for (const std::uint8_t x : {0x01, 0x80, 0xff}) {
      const std::string damaged = with_valid_crc(
          bytes, [&](std::string& p) { p[i] = static_cast<char>(p[i] ^ x); });
      const auto decoded = decode_record(damaged);
      if (!decoded) {
        EXPECT_EQ(decoded.code(), errc::corrupt) << "byte " << i;
        continue;
      }
      // What decodes re-encodes to a fixed point.
      const std::string again = encode(*decoded);
      const auto second = decode_record(again);
      ASSERT_TRUE(second) << "byte " << i;
      EXPECT_EQ(encode(*second), again) << "byte " << i;
    }
  }
}

TEST(Codec, ValuesOfOneKindAreNotReadAsAnother) {
  const tombstone t{job_id::generate(), "a", "p", job_status::succeeded, 4, "k",
                    model::now()};
  EXPECT_FALSE(decode_record(encode(t)));
  EXPECT_FALSE(decode_event(encode(t)));
  EXPECT_FALSE(decode_record(encode(full_job().history[0])));
  EXPECT_FALSE(decode_change(encode(t)));
  const auto back = decode_tombstone(encode(t));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, t);
}

TEST(Codec, ChangeRecordRoundTrips) {
  const change_record c{77,  model::now(), job_id::generate(),
                        "a", "p",          job_status::running,
                        2,   "started"};
  const auto back = decode_change(encode(c));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, c);
}

TEST(Codec, Crc32cMatchesTheStandardCheckValue) {
  EXPECT_EQ(crc32c("123456789"), 0xe3069283u);  // RFC 3720's check value
  EXPECT_EQ(crc32c(""), 0u);
}

TEST(Keys, TimesSortInTimeOrderAcrossTheEpoch) {
  const job_id id;
  const timestamp before_1970{std::chrono::microseconds(-5)};
  const timestamp epoch{};
  const timestamp later{std::chrono::microseconds(5)};
  EXPECT_LT(keys::by_time(before_1970, id), keys::by_time(epoch, id));
  EXPECT_LT(keys::by_time(epoch, id), keys::by_time(later, id));
  EXPECT_EQ(keys::time_at(keys::by_time(before_1970, id)), before_1970);
}

TEST(Keys, SequencesSortNumerically) {
  EXPECT_LT(keys::sequence(255), keys::sequence(256));
  EXPECT_LT(keys::sequence(1), keys::sequence(1ull << 40));
  EXPECT_EQ(keys::sequence_at(keys::sequence(123456789)), 123456789u);
}

TEST(Keys, ScopeHashSeparatesItsParts) {
  EXPECT_NE(keys::scope("ab", "c"), keys::scope("a", "bc"));
  EXPECT_NE(keys::scope("a", "b"), keys::scope("b", "a"));
}

// The hash is part of the on-disk format: a change here is a new schema.
TEST(Keys, HashIsStable) {
  const keys::digest d = keys::hash128("acme", "alpha");
  std::string hex;
  for (std::uint8_t b : d) {
    static constexpr char digits[] = "0123456789abcdef";
    hex += digits[b >> 4];
    hex += digits[b & 0xf];
  }
  EXPECT_EQ(hex, "0686f8b4a249495362f88adadb09945e");
}

}  // namespace
}  // namespace jobstate::store
