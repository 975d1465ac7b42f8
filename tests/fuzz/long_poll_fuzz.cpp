// Fuzz target: the `wait` query parameter and `Prefer` headers
// (<jobstate/long_poll.hpp>). Input: the first byte's low bit says whether a
// `wait` parameter is present; the rest is split at '\n' into the parameter
// (when present) and any number of Prefer header values. Must not crash;
// fails only with invalid_argument; an answer keeps its invariants.
#include <jobstate/long_poll.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <vector>

namespace {

[[noreturn]] void fail() { std::abort(); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size == 0) return 0;
  const bool has_param = (data[0] & 1) != 0;
  const long max_seconds = data[0] >> 1;  // 0..127, the server's max_wait.
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<std::string_view> parts;
  for (;;) {
    const auto nl = rest.find('\n');
    parts.push_back(rest.substr(0, nl));
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  std::optional<std::string_view> param;
  std::size_t first_header = 0;
  if (has_param) {
    param = parts[0];
    first_header = 1;
  }
  const std::vector<std::string_view> headers(parts.begin() + first_header,
                                              parts.end());
  jobstate::long_poll_options opts;
  opts.max_wait = std::chrono::seconds(max_seconds);
  auto r = jobstate::parse_long_poll(param, headers, opts);
  if (!r) {
    if (r.code() != jobstate::errc::invalid_argument) fail();
    return 0;
  }
  const auto max = std::chrono::milliseconds(opts.max_wait);
  if (r->wait.count() < 0 || r->requested.count() < 0) fail();
  if (r->wait > max || r->wait > r->requested) fail();
  if (r->clamped != (r->wait < r->requested)) fail();
  const std::string applied = jobstate::preference_applied(*r);
  if (applied.empty() == r->from_prefer) fail();
  if (r->from_prefer) {
    // What the server answers is itself a valid preference for the wait
    // it applied.
    const std::string_view h[] = {applied};
    auto back = jobstate::parse_long_poll(std::nullopt, h, opts);
    if (!back || back->wait != r->wait) fail();
  }
  return 0;
}
