// Timestamps as RFC 3339 text: format_timestamp and parse_timestamp of
// include/jobstate/timestamp.hpp, the one renderer and reader in jobstate.
#include <jobstate/timestamp.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>

namespace jobstate {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;

timestamp at(year_month_day day, microseconds since_midnight = 0us) {
  return sys_days(day) + since_midnight;
}

TEST(TimestampFormat, WritesUtcWithSixFractionDigitsAndZ) {
  EXPECT_EQ(format_timestamp(timestamp{}), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(format_timestamp(at(2026y / 11 / 24, 23h + 30min + 39s + 123456us)),
            "2026-11-24T23:30:39.123456Z");
  EXPECT_EQ(format_timestamp(at(2024y / 2 / 29, 1us)),
            "2024-02-29T00:00:00.000001Z");
  EXPECT_EQ(format_timestamp(timestamp{} - 1us), "1969-12-31T23:59:59.999999Z");
}

TEST(TimestampFormat, IntoABufferWritesExactlyItsSize) {
  char buffer[timestamp_text_size + 1];
  buffer[timestamp_text_size] = '#';
  char* end = format_timestamp(at(2026y / 1 / 2, 3h + 4min + 5s), buffer);
  EXPECT_EQ(end, buffer + timestamp_text_size);
  EXPECT_EQ(std::string(buffer, timestamp_text_size),
            "2026-01-02T03:04:05.000000Z");
  EXPECT_EQ(buffer[timestamp_text_size], '#');  // Nothing written past it.
}

TEST(TimestampFormat, ClampsYearsFourDigitsCannotShow) {
  EXPECT_EQ(format_timestamp(timestamp::min()), "0000-01-01T00:00:00.000000Z");
  EXPECT_EQ(format_timestamp(timestamp::max()), "9999-12-31T23:59:59.999999Z");
}

TEST(TimestampParse, ReadsWhatFormatWrites) {
  std::mt19937_64 random(12345);
  std::uniform_int_distribution<std::int64_t> micros(
      -62'000'000'000'000'000, 253'000'000'000'000'000);  // Years 0 to 9999.
  for (int i = 0; i < 10'000; ++i) {
    const timestamp t{microseconds(micros(random))};
    const std::string text = format_timestamp(t);
    ASSERT_EQ(parse_timestamp(text), t) << text;
  }
}

TEST(TimestampParse, AcceptsEveryRfc3339Form) {
  const timestamp t = at(2026y / 11 / 24, 23h + 30min + 39s);
  EXPECT_EQ(parse_timestamp("2026-11-24T23:30:39Z"), t);
  EXPECT_EQ(parse_timestamp("2026-11-24t23:30:39z"), t);
  EXPECT_EQ(parse_timestamp("2026-11-24T23:30:39.5Z"), t + 500ms);
  EXPECT_EQ(parse_timestamp("2026-11-24T23:30:39.123456789Z"), t + 123456us);
  EXPECT_EQ(parse_timestamp("2026-11-25T01:30:39+02:00"), t);
  EXPECT_EQ(parse_timestamp("2026-11-24T20:00:39-03:30"), t);
}

TEST(TimestampParse, RefusesMalformedText) {
  for (const char* bad : {
           "",
           "2026-11-24",
           "2026-11-24T23:30:39",         // No zone.
           "2026-11-24 23:30:39Z",        // A space, not T.
           "2026-11-24T23:30:39.Z",       // A point without digits.
           "2026-02-30T00:00:00Z",        // No such day.
           "2026-13-01T00:00:00Z",        // No such month.
           "2026-11-24T24:00:00Z",        // No such hour.
           "2026-11-24T23:60:00Z",        // No such minute.
           "2026-11-24T23:59:60Z",        // Leap seconds: timestamps have none.
           "2026-11-24T23:30:39+2:00",    // Offset hours need two digits.
           "2026-11-24T23:30:39+02:00x",  // Trailing text.
           "2026-11-24T23:30:39Zx",
           "+2026-11-24T23:30:39Z",
           "2O26-11-24T23:30:39Z",
       }) {
    EXPECT_FALSE(parse_timestamp(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace jobstate
