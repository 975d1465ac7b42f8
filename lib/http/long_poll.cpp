// Long-poll wait: the `?wait=` query parameter and RFC 7240 `Prefer: wait=`.
#include <jobstate/long_poll.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

namespace jobstate {
namespace {

using std::chrono::milliseconds;

// Why a number of seconds was refused; each gets its own advice.
enum class number_error { empty, not_a_number, negative, too_large };

struct parsed_seconds {
  milliseconds value{0};
  number_error error = number_error::empty;
  bool ok = false;
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Seconds as digits with an optional fraction, rounded to the nearest
// millisecond (halves up). Anything else is refused, including signs and
// spaces: a lenient parser here would let the query parameter and the header
// "agree" on text that no other server would accept.
parsed_seconds parse_seconds(std::string_view text) {
  parsed_seconds out;
  if (text.empty()) return out;

  const bool negative = text.front() == '-';
  if (negative) text.remove_prefix(1);

  // The result must fit milliseconds' int64; past this many whole seconds it
  // cannot, so digits stop accumulating (and `whole` cannot wrap).
  constexpr std::uint64_t max_whole =
      static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) /
      1000;
  std::size_t i = 0;
  std::uint64_t whole = 0;
  for (; i < text.size() && is_digit(text[i]); ++i) {
    if (whole <= max_whole) {
      whole = whole * 10 + static_cast<std::uint64_t>(text[i] - '0');
    }
  }
  bool well_formed = i > 0;

  std::uint64_t millis = 0;
  if (i < text.size() && text[i] == '.') {
    const std::size_t first = ++i;
    for (; i < text.size() && is_digit(text[i]); ++i) {
      const auto digit = static_cast<std::uint64_t>(text[i] - '0');
      if (i - first < 3) {
        millis = millis * 10 + digit;
      } else if (i - first == 3 && digit >= 5) {
        ++millis;  // Rounds to nearest: only this digit decides.
      }
    }
    // Fewer than three digits are scaled up ("2.5" is 2500 ms); rounding
    // above only happens with four or more.
    for (std::size_t n = i - first; n < 3; ++n) millis *= 10;
    // "5." is refused as ".5" is: neither is how anyone writes a number.
    if (i == first) well_formed = false;
  }
  if (i != text.size()) well_formed = false;

  if (!well_formed) {
    out.error = number_error::not_a_number;
  } else if (negative) {
    out.error = number_error::negative;
  } else if (whole > max_whole ||
             whole * 1000 + millis >
                 static_cast<std::uint64_t>(
                     std::numeric_limits<std::int64_t>::max())) {
    out.error = number_error::too_large;
  } else {
    out.value = milliseconds(static_cast<std::int64_t>(whole * 1000 + millis));
    out.ok = true;
  }
  return out;
}

// Client text quoted in an error detail: printable ASCII only, and short, so
// that a hostile header cannot forge log lines or bloat responses.
std::string quote_client_text(std::string_view text) {
  constexpr std::size_t max_shown = 64;
  std::string out;
  const std::size_t shown = std::min(text.size(), max_shown);
  out.reserve(shown + 3);
  for (std::size_t i = 0; i < shown; ++i) {
    const char c = text[i];
    out += (c >= 0x20 && c <= 0x7e) ? c : '?';
  }
  if (text.size() > max_shown) out += "...";
  return out;
}

// max_wait in milliseconds, negative read as zero; saturates instead of
// overflowing for absurd settings such as seconds::max().
milliseconds max_wait_of(const long_poll_options& opts) {
  constexpr auto most = std::numeric_limits<milliseconds::rep>::max() / 1000;
  const auto s = std::clamp<std::int64_t>(opts.max_wait.count(), 0, most);
  return std::chrono::seconds(s);
}

std::string max_wait_text(const long_poll_options& opts) {
  return std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(max_wait_of(opts))
          .count());
}

// The error for a refused number. `shown` is how the client wrote it, e.g.
// "?wait=abc"; `example` is the same form with a good value.
error number_refused(number_error why, const std::string& shown,
                     std::string_view example, const long_poll_options& opts) {
  std::string detail = shown;
  switch (why) {
    case number_error::empty:
      detail += " has no value; send a number of seconds such as ";
      detail += example;
      detail += ", or leave it out to answer at once";
      break;
    case number_error::not_a_number:
      detail += " is not a number of seconds; send digits such as ";
      detail += example;
      detail += " (a fraction like 2.5 is allowed)";
      break;
    case number_error::negative:
      detail += " is negative; send 0 to answer at once, or more seconds";
      break;
    case number_error::too_large:
      detail += " is too large; send at most " + max_wait_text(opts) +
                " seconds (longer waits are cut to that)";
      break;
  }
  return error(errc::invalid_argument, std::move(detail));
}

// RFC 7230 section 3.2.6 token characters.
bool is_tchar(char c) {
  if (is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
    return true;
  }
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_ows(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    const auto lower = [](char c) {
      return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    };
    return lower(x) == lower(y);
  });
}

// Splits a header value into its comma-separated elements, ignoring commas
// inside quoted strings (a preference we ignore may well quote one).
template <class Visit>
bool for_each_element(std::string_view header, Visit&& visit) {
  std::size_t begin = 0;
  bool quoted = false;
  for (std::size_t i = 0; i <= header.size(); ++i) {
    if (i == header.size() || (!quoted && header[i] == ',')) {
      if (visit(header.substr(begin, i - begin))) return true;
      begin = i + 1;
    } else if (quoted && header[i] == '\\') {
      ++i;  // A quoted-pair: the next character is literal.
    } else if (header[i] == '"') {
      quoted = !quoted;
    }
  }
  return false;
}

// What the first `wait` preference said, when there is one.
struct prefer_wait {
  std::string shown;  // As written, for error details.
  std::string value;  // Unquoted.
  bool has_value = false;
  bool malformed = false;
};

// Reads one preference, RFC 7240 section 2:
//   preference = token [ BWS "=" BWS word ] *( OWS ";" [ OWS parameter ] )
// Returns nothing unless the preference is named "wait". Its parameters are
// ignored: none is defined for wait.
std::optional<prefer_wait> read_wait(std::string_view element) {
  element = trim_ows(element);
  std::size_t i = 0;
  while (i < element.size() && is_tchar(element[i])) ++i;
  if (!iequals(element.substr(0, i), "wait")) return std::nullopt;

  prefer_wait out;
  out.shown = "Prefer: " + quote_client_text(element);
  const auto skip_ows = [&] {
    while (i < element.size() && is_ows(element[i])) ++i;
  };
  skip_ows();
  if (i < element.size() && element[i] == '=') {
    ++i;
    skip_ows();
    if (i < element.size() && element[i] == '"') {
      bool closed = false;
      for (++i; i < element.size(); ++i) {
        if (element[i] == '\\' && i + 1 < element.size()) {
          out.value += element[++i];
        } else if (element[i] == '"') {
          closed = true;
          ++i;
          break;
        } else {
          out.value += element[i];
        }
      }
      if (!closed) out.malformed = true;
    } else {
      const std::size_t begin = i;
      while (i < element.size() && is_tchar(element[i])) ++i;
      out.value = element.substr(begin, i - begin);
    }
    skip_ows();
  }
  if (i < element.size() && element[i] != ';') out.malformed = true;
  // RFC 7240: an empty value is the same as no value at all.
  out.has_value = !out.value.empty();
  return out;
}

}  // namespace

result<long_poll_wait> parse_long_poll(
    std::optional<std::string_view> wait_param,
    std::span<const std::string_view> prefer_headers,
    const long_poll_options& opts) {
  std::optional<milliseconds> from_query;
  std::string query_shown;
  if (wait_param) {
    query_shown = "?wait=" + quote_client_text(*wait_param);
    const parsed_seconds n = parse_seconds(*wait_param);
    if (!n.ok) return number_refused(n.error, query_shown, "?wait=30", opts);
    from_query = n.value;
  }

  std::optional<prefer_wait> first;
  for (std::string_view header : prefer_headers) {
    // Only the first wait counts; later ones are ignored even when malformed.
    const bool found = for_each_element(header, [&](std::string_view e) {
      first = read_wait(e);
      return first.has_value();
    });
    if (found) break;
  }

  std::optional<milliseconds> from_header;
  if (first) {
    constexpr std::string_view example = "Prefer: wait=30";
    if (first->malformed) {
      return error(
          errc::invalid_argument,
          first->shown + " is malformed; send e.g. " + std::string(example));
    }
    if (!first->has_value) {
      return number_refused(number_error::empty, first->shown, example, opts);
    }
    const parsed_seconds n = parse_seconds(first->value);
    if (!n.ok) return number_refused(n.error, first->shown, example, opts);
    from_header = n.value;
  }

  if (from_query && from_header && *from_query != *from_header) {
    return error(errc::invalid_argument,
                 query_shown + " and " + first->shown +
                     " disagree; send one or make them equal");
  }

  long_poll_wait out;
  out.requested = from_header.value_or(from_query.value_or(milliseconds(0)));
  out.from_prefer = from_header.has_value();
  const milliseconds max_wait = max_wait_of(opts);
  out.clamped = out.requested > max_wait;
  out.wait = out.clamped ? max_wait : out.requested;
  return out;
}

std::string preference_applied(const long_poll_wait& w) {
  if (!w.from_prefer) return {};
  const auto ms = w.wait.count();
  std::string out = "wait=" + std::to_string(ms / 1000);
  if (const auto fraction = ms % 1000; fraction != 0) {
    std::string digits = std::to_string(1000 + fraction).substr(1);
    while (digits.back() == '0') digits.pop_back();
    out += "." + digits;
  }
  return out;
}

}  // namespace jobstate
