// Fuzz target: decoding values read from disk (lib/store/codec). Whatever
// the bytes, decoding must not crash and either fails with `corrupt` or
// yields a value that encodes and decodes back to the same bytes.
#include "store/codec.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

using namespace jobstate;

[[noreturn]] void fail() { std::abort(); }

// The encoder of each decoded kind.
std::string encode_any(const store::stored_record& r) {
  return store::encode_record(r.value, r.history_length);
}
std::string encode_any(const job& j) { return store::encode_v1(j); }
template <class T>
std::string encode_any(const T& value) {
  return store::encode(value);
}

// Decoding what the encoder made of a decoded value is exact:
// encode(decode(x)) is a fixed point.
template <class Decode>
void round_trip(std::string_view bytes, Decode decode) {
  auto first = decode(bytes);
  if (!first) {
    if (first.code() != errc::corrupt) fail();
    return;
  }
  const std::string again = encode_any(*first);
  auto second = decode(again);
  if (!second) fail();
  if (encode_any(*second) != again) fail();
}

void decode_all(std::string_view bytes) {
  round_trip(bytes, [](std::string_view b) { return store::decode_record(b); });
  round_trip(bytes, [](std::string_view b) { return store::decode_event(b); });
  round_trip(bytes, [](std::string_view b) { return store::decode_job_v1(b); });
  round_trip(bytes,
             [](std::string_view b) { return store::decode_tombstone(b); });
  round_trip(bytes, [](std::string_view b) { return store::decode_change(b); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // As found: almost always a checksum mismatch.
  decode_all(bytes);
  // With the last 4 bytes replaced by the right CRC-32C, so that the
  // layout behind the checksum is explored too (a damaged record whose CRC
  // happens to match, or a bug in the writer).
  if (size >= 4) {
    std::string fixed(bytes.substr(0, size - 4));
    const std::uint32_t crc = store::crc32c(fixed);
    for (int i = 0; i < 4; ++i) {
      fixed.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
    }
    decode_all(fixed);
  }
  return 0;
}
