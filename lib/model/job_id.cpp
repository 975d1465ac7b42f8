// UUIDv7 generation (monotonic within the process) and text form.
#include <jobstate/job_id.hpp>

#include "support/mutex.hpp"

#include <chrono>
#include <random>

namespace jobstate {
namespace {

// The 74 bits after the timestamp (rand_a: 12, rand_b: 62) are random for the
// first id of a millisecond and incremented for the next ones, so that ids
// made within one millisecond still sort in creation order (RFC 9562 §6.2,
// method 2). The top bit of rand_a starts clear to leave room to count.
class v7_generator {
 public:
  job_id next() {
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    support::mutex_lock lock(mutex_);
    if (now_ms > last_ms_) {
      last_ms_ = now_ms;
      rand_a_ = static_cast<std::uint16_t>(random_() & 0x7ff);
      rand_b_ = random_() & rand_b_mask;
    } else if (++rand_b_ > rand_b_mask) {
      // Same millisecond (or the clock stepped back): count on.
      rand_b_ = 0;
      if (++rand_a_ > 0xfff) {
        rand_a_ = 0;
        ++last_ms_;  // 2^74 ids in one millisecond: borrow the next one.
      }
    }
    return encode();
  }

 private:
  static constexpr std::uint64_t rand_b_mask = (std::uint64_t{1} << 62) - 1;

  job_id encode() const JOBSTATE_REQUIRES(mutex_) {
    job_id::bytes_type b{};
    const auto ms = static_cast<std::uint64_t>(last_ms_);
    for (int i = 0; i < 6; ++i) {
      b[i] = static_cast<std::uint8_t>(ms >> (8 * (5 - i)));
    }
    b[6] = static_cast<std::uint8_t>(0x70 | (rand_a_ >> 8));
    b[7] = static_cast<std::uint8_t>(rand_a_);
    b[8] = static_cast<std::uint8_t>(0x80 | (rand_b_ >> 56));
    for (int i = 9; i < 16; ++i) {
      b[i] = static_cast<std::uint8_t>(rand_b_ >> (8 * (15 - i)));
    }
    return job_id(b);
  }

  support::mutex mutex_;
  std::mt19937_64 random_ JOBSTATE_GUARDED_BY(mutex_){std::random_device{}()};
  std::int64_t last_ms_ JOBSTATE_GUARDED_BY(mutex_) = 0;
  std::uint16_t rand_a_ JOBSTATE_GUARDED_BY(mutex_) = 0;
  std::uint64_t rand_b_ JOBSTATE_GUARDED_BY(mutex_) = 0;
};

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_dash_position(std::size_t i) noexcept {
  return i == 8 || i == 13 || i == 18 || i == 23;
}

}  // namespace

job_id job_id::generate() {
  static v7_generator generator;
  return generator.next();
}

std::optional<job_id> job_id::parse(std::string_view text) noexcept {
  if (text.size() != 36) return std::nullopt;
  bytes_type b{};
  std::size_t out = 0;
  for (std::size_t i = 0; i < text.size();) {
    if (is_dash_position(i)) {
      if (text[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    const int hi = hex_value(text[i]);
    const int lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    b[out++] = static_cast<std::uint8_t>((hi << 4) | lo);
    i += 2;
  }
  return job_id(b);
}

std::string job_id::to_string() const {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (std::size_t i = 0; i < size; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(digits[bytes_[i] >> 4]);
    s.push_back(digits[bytes_[i] & 0xf]);
  }
  return s;
}

std::int64_t job_id::unix_millis() const noexcept {
  std::uint64_t ms = 0;
  for (int i = 0; i < 6; ++i) ms = (ms << 8) | bytes_[i];
  return static_cast<std::int64_t>(ms);
}

}  // namespace jobstate
