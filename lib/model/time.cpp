// The engine's clock, and timestamps as RFC 3339 text
// (include/jobstate/timestamp.hpp).
#include "model/time.hpp"

#include <jobstate/timestamp.hpp>

#include <algorithm>

namespace jobstate {
namespace {

using namespace std::chrono;

// Writes `v` as exactly `n` decimal digits, most significant first.
char* put_digits(char* out, unsigned v, int n) noexcept {
  for (int i = n - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return out + n;
}

// Reads exactly `n` decimal digits at `pos`; -1 when any is not a digit.
int read_digits(std::string_view s, std::size_t pos, std::size_t n) noexcept {
  if (pos + n > s.size()) return -1;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

// The range four year digits can show.
constexpr timestamp earliest_shown =
    sys_days(year(0) / January / 1) + microseconds(0);
constexpr timestamp latest_shown = sys_days(year(9999) / December / 31) +
                                   hours(23) + minutes(59) + seconds(59) +
                                   microseconds(999999);

}  // namespace

namespace model {

timestamp now() noexcept {
  return time_point_cast<microseconds>(system_clock::now());
}

}  // namespace model

// By hand rather than snprintf: every job rendered carries several
// timestamps, and snprintf's format parsing was 3% of an HTTP GET.
char* format_timestamp(timestamp t, char* out) noexcept {
  t = std::clamp(t, earliest_shown, latest_shown);
  const auto day = floor<days>(t);
  const year_month_day ymd(day);
  const hh_mm_ss hms(t - day);
  out = put_digits(out, static_cast<unsigned>(static_cast<int>(ymd.year())), 4);
  *out++ = '-';
  out = put_digits(out, static_cast<unsigned>(ymd.month()), 2);
  *out++ = '-';
  out = put_digits(out, static_cast<unsigned>(ymd.day()), 2);
  *out++ = 'T';
  out = put_digits(out, static_cast<unsigned>(hms.hours().count()), 2);
  *out++ = ':';
  out = put_digits(out, static_cast<unsigned>(hms.minutes().count()), 2);
  *out++ = ':';
  out = put_digits(out, static_cast<unsigned>(hms.seconds().count()), 2);
  *out++ = '.';
  out = put_digits(out, static_cast<unsigned>(hms.subseconds().count()), 6);
  *out++ = 'Z';
  return out;
}

std::string format_timestamp(timestamp t) {
  std::string text(timestamp_text_size, '\0');
  format_timestamp(t, text.data());
  return text;
}

std::optional<timestamp> parse_timestamp(std::string_view s) noexcept {
  // YYYY-MM-DDTHH:MM:SS
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' ||
      (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  const int y = read_digits(s, 0, 4), mo = read_digits(s, 5, 2),
            d = read_digits(s, 8, 2), h = read_digits(s, 11, 2),
            mi = read_digits(s, 14, 2), sec = read_digits(s, 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
      sec < 0 || sec > 59) {
    return std::nullopt;
  }
  const year_month_day ymd{year(y), month(static_cast<unsigned>(mo)),
                           day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return std::nullopt;

  std::size_t pos = 19;
  long long micros = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 6) micros = micros * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 6; ++digits) micros *= 10;
  }
  if (pos >= s.size()) return std::nullopt;
  minutes offset{0};
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    const int oh = read_digits(s, pos + 1, 2), om = read_digits(s, pos + 4, 2);
    if (oh < 0 || om < 0 || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = hours(oh) + minutes(om);
    if (s[pos] == '-') offset = -offset;
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  return timestamp(sys_days(ymd).time_since_epoch() + hours(h) + minutes(mi) +
                   seconds(sec) + microseconds(micros) - offset);
}

}  // namespace jobstate
