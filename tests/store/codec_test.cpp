// The store's value encoding and key layout (lib/store/codec.cpp, keys.cpp):
// exact round trips, damage detection, and the orderings the indexes rely on.
#include "store/codec.hpp"

#include "model/time.hpp"
#include "store/keys.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <bit>
#include <functional>
#include <random>
#include <string>
#include <vector>

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
                    nullptr, 7}};
  j.lease = lease{"worker-7", 7, *j.started_at + std::chrono::seconds(30),
                  std::chrono::milliseconds(30000)};
  j.revision = 3;
  return j;
}

job without_history(job j) {
  j.history.clear();
  return j;
}

TEST(Codec, RecordRoundTripsExactlyWithoutItsHistory) {
  const job j = full_job();
  const auto decoded = decode_record(encode_record(j, 3));
  ASSERT_TRUE(decoded) << decoded.error().message();
  EXPECT_EQ(decoded->value, without_history(j));
  EXPECT_EQ(decoded->history_length, 3u);
  // The history is not in the record: a longer one encodes the same.
  job longer = j;
  longer.history.push_back(j.history.back());
  EXPECT_EQ(encode_record(longer, 3), encode_record(j, 3));
}

TEST(Codec, EventsRoundTripExactly) {
  for (const history_event& e : full_job().history) {
    const auto decoded = decode_event(encode(e));
    ASSERT_TRUE(decoded) << decoded.error().message();
    EXPECT_EQ(*decoded, e);
  }
}

TEST(Codec, AnEventWithoutAnEpochKeepsTheEarlierFormat) {
  history_event e{"progress", model::now(), 3, job_status::running, nullptr};
  const std::string plain = encode(e);
  EXPECT_EQ(static_cast<std::uint8_t>(plain[0]), 0x41);
  e.epoch = 2;
  const std::string leased = encode(e);
  EXPECT_EQ(static_cast<std::uint8_t>(leased[0]), 0x42);
  EXPECT_EQ(decode_event(leased).value(), e);
}

TEST(Codec, AnEpochEventSayingEpochZeroIsCorrupt) {
  // 0x42 means "with an epoch": a zero one is not a way to write none.
  history_event e{"progress", model::now(), 3, job_status::running, nullptr};
  std::string bytes = encode(e);
  bytes.pop_back(), bytes.pop_back(), bytes.pop_back(), bytes.pop_back();
  bytes[0] = static_cast<char>(0x42);
  bytes.push_back('\0');  // epoch varint 0
  const std::uint32_t crc = crc32c(bytes);
  for (int i = 0; i < 4; ++i) {
    bytes.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  }
  const auto decoded = decode_event(bytes);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.code(), errc::corrupt);
}

TEST(Codec, SchemaOneRecordRoundTripsWithItsHistory) {
  job j = full_job();
  for (auto& e : j.history) e.epoch = 0;  // Schema 1 had no leases.
  const auto decoded = decode_job_v1(encode_v1(j));
  ASSERT_TRUE(decoded) << decoded.error().message();
  EXPECT_EQ(*decoded, j);
}

TEST(Codec, RecordWithoutEventsIsCorrupt) {
  const auto decoded = decode_record(encode_record(full_job(), 0));
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.code(), errc::corrupt);
}

TEST(Codec, MinimalJobRoundTrips) {
  job j;
  j.id = job_id::generate();
  const auto decoded = decode_record(encode_record(j, 1));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->value, j);
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
  const auto decoded = decode_record(encode_record(j, 1));
  ASSERT_TRUE(decoded);
  const auto& back = decoded->value.input.as_array();
  for (std::size_t i = 0; i < values.size(); ++i) {
    ASSERT_EQ(std::bit_cast<std::uint64_t>(back[i].as_double()),
              std::bit_cast<std::uint64_t>(values[i].as_double()))
        << "value " << i;
  }
}

// Each kind of value a job is stored as, with its decoder: decoding yields
// its re-encoding, or the decoder's error.
struct encoded_kind {
  const char* name;
  std::string bytes;
  std::function<result<std::string>(std::string_view)> reencode;
};
std::vector<encoded_kind> job_encodings() {
  const job j = full_job();
  return {
      {"record", encode_record(j, 3),
       [](std::string_view b) -> result<std::string> {
         auto d = decode_record(b);
         if (!d) return d.error();
         return encode_record(d->value, d->history_length);
       }},
      {"event", encode(j.history[1]),
       [](std::string_view b) -> result<std::string> {
         auto d = decode_event(b);
         if (!d) return d.error();
         return encode(*d);
       }},
      {"schema-1 record", encode_v1(j),
       [](std::string_view b) -> result<std::string> {
         auto d = decode_job_v1(b);
         if (!d) return d.error();
         return encode_v1(*d);
       }},
  };
}

TEST(Codec, EveryFlippedByteIsReportedAsCorrupt) {
  for (const encoded_kind& kind : job_encodings()) {
    for (std::size_t i = 0; i < kind.bytes.size(); ++i) {
      std::string damaged = kind.bytes;
      damaged[i] = static_cast<char>(damaged[i] ^ 0x5a);
      const auto decoded = kind.reencode(damaged);
      ASSERT_FALSE(decoded) << kind.name << ", byte " << i;
      EXPECT_EQ(decoded.code(), errc::corrupt);
    }
  }
}

TEST(Codec, EveryTruncationIsReportedAsCorrupt) {
  for (const encoded_kind& kind : job_encodings()) {
    for (std::size_t n = 0; n < kind.bytes.size(); ++n) {
      const auto decoded = kind.reencode(kind.bytes.substr(0, n));
      ASSERT_FALSE(decoded) << kind.name << ", length " << n;
      EXPECT_EQ(decoded.code(), errc::corrupt);
    }
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
  for (const encoded_kind& kind : job_encodings()) {
    for (std::size_t n = 0; n + 4 < kind.bytes.size(); ++n) {
      const std::string damaged =
          with_valid_crc(kind.bytes, [&](std::string& p) { p.resize(n); });
      const auto decoded = kind.reencode(damaged);
      ASSERT_FALSE(decoded) << kind.name << ", length " << n;
      EXPECT_EQ(decoded.code(), errc::corrupt);
    }
  }
}

TEST(Codec, EveryChangedByteBehindAValidChecksumDecodesOrIsCorrupt) {
  for (const encoded_kind& kind : job_encodings()) {
    for (std::size_t i = 0; i + 4 < kind.bytes.size(); ++i) {
      for (const std::uint8_t x : {0x01, 0x80, 0xff}) {
        const std::string damaged = with_valid_crc(
            kind.bytes,
            [&](std::string& p) { p[i] = static_cast<char>(p[i] ^ x); });
        const auto again = kind.reencode(damaged);
        if (!again) {
          EXPECT_EQ(again.code(), errc::corrupt) << kind.name << ", byte " << i;
          continue;
        }
        // What decodes re-encodes to a fixed point.
        const auto second = kind.reencode(*again);
        ASSERT_TRUE(second) << kind.name << ", byte " << i;
        EXPECT_EQ(*second, *again) << kind.name << ", byte " << i;
      }
    }
  }
}

TEST(Codec, ValuesOfOneKindAreNotReadAsAnother) {
  const tombstone t{job_id::generate(), "a", "p", job_status::succeeded, 4, "k",
                    model::now()};
  EXPECT_FALSE(decode_record(encode(t)));
  EXPECT_FALSE(decode_event(encode(t)));
  EXPECT_FALSE(decode_change(encode(t)));
  const job j = full_job();
  EXPECT_FALSE(decode_record(encode_v1(j)));
  EXPECT_FALSE(decode_job_v1(encode_record(j, 3)));
  EXPECT_FALSE(decode_event(encode_record(j, 3)));
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

TEST(Keys, AJobsEventsSortAfterItsRecordInOrder) {
  const job_id id = job_id::generate();
  EXPECT_LT(keys::id(id), keys::history_event(id, 0));
  EXPECT_LT(keys::history_event(id, 255), keys::history_event(id, 256));
  // ...and before the next job's record.
  job_id next = id;
  while (keys::id(next) <= keys::id(id)) next = job_id::generate();
  EXPECT_LT(keys::history_event(id, 0xffffffffu), keys::id(next));
  EXPECT_EQ(keys::event_number_at(keys::history_event(id, 70000)), 70000u);
  EXPECT_EQ(keys::history_event(id, 1).size(), keys::history_event_size);
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
