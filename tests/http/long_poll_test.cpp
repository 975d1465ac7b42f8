// parse_long_poll and preference_applied: the `?wait=` / `Prefer: wait=`
// rules every HTTP surface shares.
#include <jobstate/long_poll.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jobstate {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

result<long_poll_wait> parse(
    std::optional<std::string_view> query,
    std::initializer_list<std::string_view> prefer = {},
    const long_poll_options& opts = {}) {
  const std::vector<std::string_view> headers(prefer);
  return parse_long_poll(query, headers, opts);
}

// The wait requested by a lone Prefer header, or -1 ms on error.
milliseconds prefer_wait(std::string_view header) {
  const auto r = parse(std::nullopt, {header});
  if (!r) return -1ms;
  EXPECT_TRUE(r->from_prefer) << header;
  return r->requested;
}

// The error detail for a request that must be refused.
std::string refusal(std::optional<std::string_view> query,
                    std::initializer_list<std::string_view> prefer = {}) {
  const auto r = parse(query, prefer);
  EXPECT_FALSE(r) << "accepted: " << query.value_or("(no query)");
  if (r) return {};
  EXPECT_EQ(r.code(), make_error_code(errc::invalid_argument));
  return r.error().detail();
}

TEST(LongPoll, NeitherGivenAnswersAtOnce) {
  const auto r = parse(std::nullopt);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->wait, 0ms);
  EXPECT_EQ(r->requested, 0ms);
  EXPECT_FALSE(r->clamped);
  EXPECT_FALSE(r->from_prefer);
  EXPECT_EQ(preference_applied(*r), "");
}

TEST(LongPoll, QueryParameter) {
  const auto r = parse("30");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->wait, 30s);
  EXPECT_EQ(r->requested, 30s);
  EXPECT_FALSE(r->clamped);
  EXPECT_FALSE(r->from_prefer);
  EXPECT_EQ(preference_applied(*r), "");
}

TEST(LongPoll, ZeroMeansAnswerAtOnce) {
  for (const auto& r : {parse("0"), parse(std::nullopt, {"wait=0"})}) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r->wait, 0ms);
    EXPECT_FALSE(r->clamped);
  }
  EXPECT_EQ(preference_applied(*parse(std::nullopt, {"wait=0"})), "wait=0");
}

TEST(LongPoll, LeadingZerosAreDigitsToo) {
  EXPECT_EQ(parse("007")->wait, 7s);
  EXPECT_EQ(prefer_wait("wait=007"), 7s);
}

TEST(LongPoll, FractionsRoundToTheNearestMillisecond) {
  EXPECT_EQ(parse("2.5")->wait, 2500ms);
  EXPECT_EQ(parse("2.25")->wait, 2250ms);
  EXPECT_EQ(parse("0.001")->wait, 1ms);
  EXPECT_EQ(parse("2.0004")->wait, 2000ms);
  EXPECT_EQ(parse("2.0005")->wait, 2001ms);
  EXPECT_EQ(parse("2.00049999")->wait, 2000ms);
  EXPECT_EQ(parse("0.9996")->wait, 1000ms);
  EXPECT_EQ(parse("2.000")->wait, 2s);
  EXPECT_EQ(prefer_wait("wait=1.5"), 1500ms);
}

TEST(LongPoll, PreferPlain) {
  const std::string_view header = "wait=10";
  const auto r = parse(std::nullopt, {header});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->wait, 10s);
  EXPECT_EQ(r->requested, 10s);
  EXPECT_TRUE(r->from_prefer);
  EXPECT_FALSE(r->clamped);
  EXPECT_EQ(preference_applied(*r), "wait=10");
}

TEST(LongPoll, PreferWhitespaceAroundEqualsAndSemicolons) {
  EXPECT_EQ(prefer_wait("wait = 10"), 10s);
  EXPECT_EQ(prefer_wait("wait\t=\t10"), 10s);
  EXPECT_EQ(prefer_wait("  wait=10  "), 10s);
  EXPECT_EQ(prefer_wait("wait=10 ; foo"), 10s);
  EXPECT_EQ(prefer_wait("wait=10;foo=bar"), 10s);
  EXPECT_EQ(prefer_wait("wait=10 ;foo = \"x;y\""), 10s);
}

TEST(LongPoll, PreferNamesAreCaseInsensitive) {
  EXPECT_EQ(prefer_wait("WAIT=10"), 10s);
  EXPECT_EQ(prefer_wait("Wait=10"), 10s);
}

TEST(LongPoll, PreferQuotedValue) {
  EXPECT_EQ(prefer_wait("wait=\"5\""), 5s);
  EXPECT_EQ(prefer_wait("wait = \"5\" ; x"), 5s);
  EXPECT_EQ(prefer_wait("wait=\"\\5\""), 5s);  // A quoted-pair is its char.
}

TEST(LongPoll, PreferAmongOtherPreferences) {
  EXPECT_EQ(prefer_wait("respond-async, wait=100"), 100s);
  EXPECT_EQ(prefer_wait("return=minimal,wait=7,handling=lenient"), 7s);
  EXPECT_EQ(prefer_wait(",, wait=7 ,"), 7s);
  // Commas and "wait=" inside another preference's quoted value are not
  // preferences.
  EXPECT_EQ(prefer_wait("foo=\"a, wait=1\", wait=7"), 7s);
  EXPECT_EQ(prefer_wait("foo=\"a\\\", wait=1\", wait=7"), 7s);
  // Names merely starting with "wait" are other preferences.
  EXPECT_EQ(prefer_wait("waiting=1, wait=7"), 7s);
  EXPECT_EQ(prefer_wait("x-wait=1, wait=7"), 7s);
  // Other preferences are ignored even when we could not parse them.
  EXPECT_EQ(prefer_wait("foo=a/b, wait=7"), 7s);
}

TEST(LongPoll, PreferWithoutWaitIsIgnored) {
  const auto r = parse("3", {"respond-async", "return=minimal"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->wait, 3s);
  EXPECT_FALSE(r->from_prefer);
  EXPECT_EQ(preference_applied(*r), "");

  const auto empty = parse(std::nullopt, {""});
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->wait, 0ms);
  EXPECT_FALSE(empty->from_prefer);
}

TEST(LongPoll, SeveralPreferHeaders) {
  const auto r = parse(std::nullopt, {"respond-async", "wait=12"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->wait, 12s);
  EXPECT_TRUE(r->from_prefer);
}

TEST(LongPoll, FirstWaitWinsWithinAHeader) {
  EXPECT_EQ(prefer_wait("wait=5, wait=10"), 5s);
  // Later occurrences are ignored, even malformed ones (RFC 7240 section 2).
  EXPECT_EQ(prefer_wait("wait=5, wait=abc"), 5s);
  EXPECT_EQ(prefer_wait("wait=5, wait="), 5s);
}

TEST(LongPoll, FirstWaitWinsAcrossHeaders) {
  const auto r = parse(std::nullopt, {"wait=5", "wait=10"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->wait, 5s);
  const auto malformed_later = parse(std::nullopt, {"wait=5", "wait=-1"});
  ASSERT_TRUE(malformed_later);
  EXPECT_EQ(malformed_later->wait, 5s);
  // The query parameter is compared with the first wait only.
  EXPECT_TRUE(parse("5", {"wait=5", "wait=10"}));
}

TEST(LongPoll, LongerWaitsAreClamped) {
  const auto r = parse("600");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->wait, 90s);
  EXPECT_EQ(r->requested, 600s);
  EXPECT_TRUE(r->clamped);

  const auto at_max = parse("90");
  ASSERT_TRUE(at_max);
  EXPECT_EQ(at_max->wait, 90s);
  EXPECT_FALSE(at_max->clamped);

  const auto just_over = parse("90.001");
  ASSERT_TRUE(just_over);
  EXPECT_EQ(just_over->wait, 90s);
  EXPECT_TRUE(just_over->clamped);
}

TEST(LongPoll, HugeButRepresentableWaitsAreClampedNotRefused) {
  const auto r = parse("9999999999");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->wait, 90s);
  EXPECT_TRUE(r->clamped);
}

TEST(LongPoll, MaxWaitIsConfigurable) {
  long_poll_options opts;
  opts.max_wait = 20s;
  const auto r = parse(std::nullopt, {"wait=30"}, opts);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->wait, 20s);
  EXPECT_EQ(r->requested, 30s);
  EXPECT_TRUE(r->clamped);
  // The header reports what was applied, not what was asked.
  EXPECT_EQ(preference_applied(*r), "wait=20");

  opts.max_wait = 0s;
  const auto never = parse("5", {}, opts);
  ASSERT_TRUE(never);
  EXPECT_EQ(never->wait, 0ms);
  EXPECT_TRUE(never->clamped);

  opts.max_wait = -5s;  // Read as zero.
  EXPECT_EQ(parse("5", {}, opts)->wait, 0ms);

  opts.max_wait = std::chrono::seconds::max();  // Saturates, no overflow.
  EXPECT_EQ(parse("1000000", {}, opts)->wait, 1000000s);
}

TEST(LongPoll, EqualQueryAndPreferAreFine) {
  const auto r = parse("10", {"wait=10"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->wait, 10s);
  EXPECT_TRUE(r->from_prefer);
  EXPECT_EQ(preference_applied(*r), "wait=10");
  // Equal as numbers, not as text.
  EXPECT_TRUE(parse("5", {"wait=5.0"}));
  EXPECT_TRUE(parse("05", {"wait=\"5\""}));
  // Both over the limit but equal: fine, and clamped.
  const auto over = parse("120", {"wait=120"});
  ASSERT_TRUE(over);
  EXPECT_TRUE(over->clamped);
}

TEST(LongPoll, DisagreeingQueryAndPreferAreRefused) {
  const std::string detail = refusal("5", {"wait=10"});
  EXPECT_NE(detail.find("?wait=5"), std::string::npos) << detail;
  EXPECT_NE(detail.find("Prefer: wait=10"), std::string::npos) << detail;
  EXPECT_NE(detail.find("disagree; send one or make them equal"),
            std::string::npos)
      << detail;
  // Even when both would clamp to the same wait: they must match.
  EXPECT_FALSE(parse("100", {"wait=120"}));
  EXPECT_FALSE(parse("0", {"wait=1"}));
}

TEST(LongPoll, MalformedQueryIsRefusedNamingTheText) {
  for (std::string_view bad :
       {"abc", "5s", "1e3", "+5", " 5", "5 ", "0x10", ".5", "5.", "5.5.5",
        "--5", "-", "5,0", "\xff"}) {
    const std::string detail = refusal(bad);
    EXPECT_NE(detail.find("is not a number of seconds; send digits such as "
                          "?wait=30"),
              std::string::npos)
        << detail;
  }
  EXPECT_EQ(refusal("abc").rfind("?wait=abc ", 0), 0u);
}

TEST(LongPoll, EmptyQueryIsRefused) {
  EXPECT_EQ(refusal(""),
            "?wait= has no value; send a number of seconds such as ?wait=30, "
            "or leave it out to answer at once");
}

TEST(LongPoll, NegativeIsRefused) {
  EXPECT_EQ(refusal("-1"),
            "?wait=-1 is negative; send 0 to answer at once, or more seconds");
  EXPECT_EQ(refusal("-0.5"),
            "?wait=-0.5 is negative; send 0 to answer at once, or more "
            "seconds");
  EXPECT_EQ(refusal(std::nullopt, {"wait=-1"}),
            "Prefer: wait=-1 is negative; send 0 to answer at once, or more "
            "seconds");
}

TEST(LongPoll, OverflowIsRefused) {
  EXPECT_EQ(refusal("99999999999999999999"),
            "?wait=99999999999999999999 is too large; send at most 90 seconds "
            "(longer waits are cut to that)");
  EXPECT_FALSE(parse(std::nullopt, {"wait=99999999999999999999"}));
  // The largest whole number of seconds that fits in milliseconds is fine.
  EXPECT_TRUE(parse("9223372036854775"));
  EXPECT_TRUE(parse("9223372036854775.807"));
  EXPECT_FALSE(parse("9223372036854775.808"));
  EXPECT_FALSE(parse("9223372036854776"));
}

TEST(LongPoll, MalformedPreferIsRefusedNamingTheText) {
  EXPECT_EQ(refusal(std::nullopt, {"wait="}),
            "Prefer: wait= has no value; send a number of seconds such as "
            "Prefer: wait=30, or leave it out to answer at once");
  EXPECT_EQ(refusal(std::nullopt, {"wait"}),
            "Prefer: wait has no value; send a number of seconds such as "
            "Prefer: wait=30, or leave it out to answer at once");
  EXPECT_NE(refusal(std::nullopt, {"wait=\"\""}).find("has no value"),
            std::string::npos);
  EXPECT_NE(refusal(std::nullopt, {"wait=;foo"}).find("has no value"),
            std::string::npos);
  EXPECT_EQ(refusal(std::nullopt, {"respond-async, wait=abc"}),
            "Prefer: wait=abc is not a number of seconds; send digits such as "
            "Prefer: wait=30 (a fraction like 2.5 is allowed)");
  EXPECT_EQ(refusal(std::nullopt, {"wait=5 6"}),
            "Prefer: wait=5 6 is malformed; send e.g. Prefer: wait=30");
  EXPECT_EQ(refusal(std::nullopt, {"wait=\"5"}),
            "Prefer: wait=\"5 is malformed; send e.g. Prefer: wait=30");
  EXPECT_EQ(refusal(std::nullopt, {"wait 5"}),
            "Prefer: wait 5 is malformed; send e.g. Prefer: wait=30");
  EXPECT_EQ(refusal(std::nullopt, {"wait=\"5\"x"}),
            "Prefer: wait=\"5\"x is malformed; send e.g. Prefer: wait=30");
  // A malformed header is refused even when the query parameter is fine.
  EXPECT_FALSE(parse("5", {"wait=five"}));
}

TEST(LongPoll, ErrorDetailsQuoteClientTextSafely) {
  const std::string long_text(200, '7');
  const std::string detail = refusal(long_text + "x");
  EXPECT_NE(detail.find("?wait=" + std::string(64, '7') + "... is not"),
            std::string::npos)
      << detail;
  EXPECT_EQ(refusal("1\r\nX: y").rfind("?wait=1??X: y is not", 0), 0u);
}

TEST(LongPoll, PreferenceAppliedRendersTheAppliedWait) {
  long_poll_wait w;
  w.from_prefer = true;
  w.wait = 10s;
  EXPECT_EQ(preference_applied(w), "wait=10");
  w.wait = 2500ms;
  EXPECT_EQ(preference_applied(w), "wait=2.5");
  w.wait = 2050ms;
  EXPECT_EQ(preference_applied(w), "wait=2.05");
  w.wait = 1ms;
  EXPECT_EQ(preference_applied(w), "wait=0.001");
  w.wait = 0ms;
  EXPECT_EQ(preference_applied(w), "wait=0");
  w.from_prefer = false;
  EXPECT_EQ(preference_applied(w), "");
}

}  // namespace
}  // namespace jobstate
