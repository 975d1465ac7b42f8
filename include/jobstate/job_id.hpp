// job_id: a time-ordered UUID (version 7, RFC 9562).
#ifndef JOBSTATE_JOB_ID_HPP
#define JOBSTATE_JOB_ID_HPP

#include <jobstate/export.hpp>

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace jobstate {

/// A job's identity. Ids made by `generate()` sort in creation order (their
/// first 48 bits are the Unix time in milliseconds, then a counter), so the
/// byte order of ids is the order in which this process created them.
/// A value type; thread-safe like an int.
class JOBSTATE_EXPORT job_id {
 public:
  static constexpr std::size_t size = 16;
  using bytes_type = std::array<std::uint8_t, size>;

  /// The nil id (all zero bits); never names a job.
  constexpr job_id() noexcept = default;
  constexpr explicit job_id(const bytes_type& bytes) noexcept
      : bytes_(bytes) {}

  /// A new UUIDv7, strictly greater than every id generated before it in
  /// this process. Thread-safe.
  static job_id generate();

  /// Parses the canonical form, 8-4-4-4-12 hexadecimal digits, either case.
  /// Returns nothing for any other text.
  static std::optional<job_id> parse(std::string_view text) noexcept;

  /// The canonical lower-case form, e.g. "01932c07-8a1b-7c3d-9e4f-0123456789ab".
  std::string to_string() const;

  /// Milliseconds since the Unix epoch encoded in a v7 id.
  std::int64_t unix_millis() const noexcept;

  const bytes_type& bytes() const noexcept { return bytes_; }
  bool is_nil() const noexcept { return *this == job_id{}; }

  friend constexpr auto operator<=>(const job_id&, const job_id&) = default;

 private:
  bytes_type bytes_{};
};

}  // namespace jobstate

template <>
struct std::hash<jobstate::job_id> {
  std::size_t operator()(const jobstate::job_id& id) const noexcept {
    // The last 8 bytes are random in a v7 id: a good hash as they are.
    std::size_t h = 0;
    for (std::size_t i = 8; i < 16; ++i) h = (h << 8) | id.bytes()[i];
    return h;
  }
};

#endif  // JOBSTATE_JOB_ID_HPP
