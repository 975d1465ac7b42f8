#include "store/keys.hpp"

#include <cstring>

namespace jobstate::store::keys {
namespace {

// A 64-bit mixing hash over 8-byte words (multiply, rotate, xor-shift, in the
// manner of xxHash's round). Not cryptographic: collisions are harmless
// because every hashed lookup is verified against the record it reaches.
constexpr std::uint64_t p1 = 0x9e3779b185ebca87ull;
constexpr std::uint64_t p2 = 0xc2b2ae3d27d4eb4full;
constexpr std::uint64_t p3 = 0x165667b19e3779f9ull;

std::uint64_t rotl(std::uint64_t x, int r) {
  return (x << r) | (x >> (64 - r));
}

std::uint64_t mix(std::uint64_t h, std::uint64_t word) {
  h ^= rotl(word * p2, 31) * p1;
  return rotl(h, 27) * p1 + p3;
}

std::uint64_t finish(std::uint64_t h) {
  h ^= h >> 33;
  h *= p2;
  h ^= h >> 29;
  h *= p3;
  h ^= h >> 32;
  return h;
}

std::uint64_t hash64(std::string_view s, std::uint64_t seed) {
  std::uint64_t h = seed + s.size() * p3;
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t w = 0;
    for (int k = 0; k < 8; ++k) {
      w |= std::uint64_t{static_cast<std::uint8_t>(s[i + k])} << (8 * k);
    }
    h = mix(h, w);
  }
  std::uint64_t tail = 0;
  for (int k = 0; i < s.size(); ++i, ++k) {
    tail |= std::uint64_t{static_cast<std::uint8_t>(s[i])} << (8 * k);
  }
  return finish(mix(h, tail));
}

void put_be64(std::string& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
}

std::uint64_t get_be64(std::string_view s, std::size_t offset) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    v = (v << 8) | static_cast<std::uint8_t>(s[offset + i]);
  }
  return v;
}

void append(std::string& out, const digest& d) {
  out.append(reinterpret_cast<const char*>(d.data()), d.size());
}

void append(std::string& out, const job_id& id) {
  out.append(reinterpret_cast<const char*>(id.bytes().data()), job_id::size);
}

}  // namespace

digest hash128(std::string_view a, std::string_view b) {
  // Length-prefix `a` so that ("ab", "c") and ("a", "bc") differ.
  std::string joined;
  joined.reserve(a.size() + b.size() + 8);
  put_be64(joined, a.size());
  joined.append(a);
  joined.append(b);
  const std::uint64_t h1 = hash64(joined, 0x6a6f627374617465ull);  // "jobstate"
  const std::uint64_t h2 = hash64(joined, h1 ^ p2);
  digest d{};
  for (int i = 0; i < 8; ++i) {
    d[i] = static_cast<std::uint8_t>(h1 >> (8 * (7 - i)));
    d[8 + i] = static_cast<std::uint8_t>(h2 >> (8 * (7 - i)));
  }
  return d;
}

digest scope(std::string_view account_id, std::string_view project_id) {
  return hash128(account_id, project_id);
}

std::string id(const job_id& i) {
  std::string k;
  append(k, i);
  return k;
}

std::string history_event(const job_id& i, std::uint32_t n) {
  std::string k;
  k.reserve(history_event_size);
  append(k, i);
  for (int shift = 24; shift >= 0; shift -= 8) {
    k.push_back(static_cast<char>((n >> shift) & 0xff));
  }
  return k;
}

std::uint32_t event_number_at(std::string_view key) {
  std::uint32_t n = 0;
  for (std::size_t i = job_id::size; i < history_event_size && i < key.size();
       ++i) {
    n = (n << 8) | static_cast<std::uint8_t>(key[i]);
  }
  return n;
}

job_id id_at(std::string_view key, std::size_t offset) {
  job_id::bytes_type b{};
  if (key.size() >= offset + job_id::size) {
    std::memcpy(b.data(), key.data() + offset, job_id::size);
  }
  return job_id(b);
}

std::string by_scope(const digest& scope, const job_id& id) {
  std::string k;
  k.reserve(32);
  append(k, scope);
  append(k, id);
  return k;
}

std::string status_prefix(const digest& scope, job_status s) {
  std::string k;
  k.reserve(33);
  append(k, scope);
  k.push_back(static_cast<char>(s));
  return k;
}

std::string by_status(const digest& scope, job_status s, const job_id& id) {
  std::string k = status_prefix(scope, s);
  append(k, id);
  return k;
}

std::string kind_prefix(const digest& scope, std::string_view kind) {
  std::string k;
  k.reserve(48);
  append(k, scope);
  append(k, hash128(kind));
  return k;
}

std::string by_kind(const digest& scope, std::string_view kind,
                    const job_id& id) {
  std::string k = kind_prefix(scope, kind);
  append(k, id);
  return k;
}

std::string by_claimable(const digest& scope, std::string_view kind,
                         timestamp eligible_at, const job_id& id) {
  std::string k = kind_prefix(scope, kind);
  k += by_time(eligible_at, id);
  return k;
}

std::string by_related(const job_id& related, const job_id& id) {
  std::string k;
  k.reserve(32);
  append(k, related);
  append(k, id);
  return k;
}

std::string parent_status_prefix(const job_id& parent, job_status s) {
  std::string k;
  k.reserve(33);
  append(k, parent);
  k.push_back(static_cast<char>(s));
  return k;
}

std::string by_parent_status(const job_id& parent, job_status s,
                             const job_id& id) {
  std::string k = parent_status_prefix(parent, s);
  append(k, id);
  return k;
}

std::string idempotency(const digest& scope, std::string_view key) {
  std::string k;
  k.reserve(32);
  append(k, scope);
  append(k, hash128(key));
  return k;
}

std::string by_time(timestamp t, const job_id& id) {
  std::string k;
  k.reserve(24);
  // Offset so that times before 1970 still sort before later ones.
  put_be64(k, static_cast<std::uint64_t>(t.time_since_epoch().count()) ^
                  (std::uint64_t{1} << 63));
  append(k, id);
  return k;
}

timestamp time_at(std::string_view key, std::size_t offset) {
  const std::uint64_t v = get_be64(key, offset) ^ (std::uint64_t{1} << 63);
  return timestamp(std::chrono::microseconds(static_cast<std::int64_t>(v)));
}

std::string sequence(std::uint64_t seq) {
  std::string k;
  k.reserve(8);
  put_be64(k, seq);
  return k;
}

std::uint64_t sequence_at(std::string_view key) { return get_be64(key, 0); }

}  // namespace jobstate::store::keys
