#include "store/codec.hpp"

#include "model/validation.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include <bit>
#include <cstring>
#include <limits>

namespace jobstate::store {
namespace {

// The first byte of each value says what it is and in which format version,
// so that a reader never mistakes one kind of value for another.
constexpr std::uint8_t job_format_v1 = 0x11;  // Schema 1: history inside.
constexpr std::uint8_t job_format_v2 = 0x12;  // Schema 2: history apart.
constexpr std::uint8_t event_format_v1 = 0x41;
// Schema 3: an event written under a lease also holds the lease's epoch
// (an event under none keeps the older format, byte for byte).
constexpr std::uint8_t event_format_epoch = 0x42;
constexpr std::uint8_t tombstone_format_v1 = 0x21;
constexpr std::uint8_t change_format_v1 = 0x31;
using model::max_json_depth;

enum json_tag : std::uint8_t {
  json_null = 0,
  json_false = 1,
  json_true = 2,
  json_int64 = 3,
  json_uint64 = 4,
  json_double = 5,
  json_string = 6,
  json_array = 7,
  json_object = 8,
};

class writer {
 public:
  explicit writer(std::uint8_t format) {
    out_.reserve(256);
    out_.push_back(static_cast<char>(format));
  }
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void i64(std::int64_t v) {  // zigzag, so small negatives stay short
    varint((static_cast<std::uint64_t>(v) << 1) ^
           static_cast<std::uint64_t>(v >> 63));
  }
  void f64(double v) {
    const auto bits = std::bit_cast<std::uint64_t>(v);
    for (int i = 0; i < 8; ++i) u8(static_cast<std::uint8_t>(bits >> (8 * i)));
  }
  void str(std::string_view s) {
    varint(s.size());
    out_.append(s);
  }
  void id(const job_id& i) {
    out_.append(reinterpret_cast<const char*>(i.bytes().data()), job_id::size);
  }
  void time(timestamp t) { i64(t.time_since_epoch().count()); }
  // JSON in a binary form: a tag byte, then the payload. Binary, not text,
  // so that doubles come back bit for bit (Boost 1.81's text parser may be
  // one ulp off) and decoding needs no parsing.
  void json(const boost::json::value& v) {
    switch (v.kind()) {
      case boost::json::kind::null:
        u8(json_null);
        break;
      case boost::json::kind::bool_:
        u8(v.get_bool() ? json_true : json_false);
        break;
      case boost::json::kind::int64:
        u8(json_int64);
        i64(v.get_int64());
        break;
      case boost::json::kind::uint64:
        u8(json_uint64);
        varint(v.get_uint64());
        break;
      case boost::json::kind::double_:
        u8(json_double);
        f64(v.get_double());
        break;
      case boost::json::kind::string:
        u8(json_string);
        str(v.get_string());
        break;
      case boost::json::kind::array:
        u8(json_array);
        varint(v.get_array().size());
        for (const auto& e : v.get_array()) json(e);
        break;
      case boost::json::kind::object:
        u8(json_object);
        varint(v.get_object().size());
        for (const auto& kv : v.get_object()) {
          str(kv.key());
          json(kv.value());
        }
        break;
    }
  }
  std::string finish() && {
    const std::uint32_t crc = crc32c(out_);
    for (int i = 0; i < 4; ++i) u8(static_cast<std::uint8_t>(crc >> (8 * i)));
    return std::move(out_);
  }

 private:
  std::string out_;
};

// Reads what `writer` wrote. Every read checks bounds; the first failure
// sticks, so decoders read all fields and check `ok()` once at the end.
class reader {
 public:
  explicit reader(std::string_view bytes) : in_(bytes) {}

  // Checks the format byte and the trailing checksum.
  bool open(std::uint8_t format) {
    if (in_.size() < 5 || static_cast<std::uint8_t>(in_[0]) != format) {
      return fail();
    }
    return open_checked();
  }
  /// Opens bytes of either format; `found` says which.
  bool open_either(std::uint8_t a, std::uint8_t b, std::uint8_t& found) {
    if (in_.size() < 5) return fail();
    found = static_cast<std::uint8_t>(in_[0]);
    if (found != a && found != b) return fail();
    return open_checked();
  }

 private:
  bool open_checked() {
    std::uint32_t stored = 0;
    for (int i = 0; i < 4; ++i) {
      stored |=
          std::uint32_t{static_cast<std::uint8_t>(in_[in_.size() - 4 + i])}
          << (8 * i);
    }
    if (crc32c(in_.substr(0, in_.size() - 4)) != stored) return fail();
    in_ = in_.substr(1, in_.size() - 5);
    return true;
  }

 public:
  std::uint8_t u8() {
    if (in_.empty()) return fail(), 0;
    const auto v = static_cast<std::uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return v;
  }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const std::uint8_t b = u8();
      v |= std::uint64_t{b & 0x7fu} << shift;
      if ((b & 0x80) == 0) return v;
    }
    return fail(), 0;
  }
  std::int64_t i64() {
    const std::uint64_t z = varint();
    return static_cast<std::int64_t>((z >> 1) ^ (~(z & 1) + 1));
  }
  double f64() {
    std::uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits |= std::uint64_t{u8()} << (8 * i);
    return std::bit_cast<double>(bits);
  }
  std::string_view view() {
    const std::uint64_t n = varint();
    if (n > in_.size()) return fail(), std::string_view{};
    // Never a null pointer, even for an empty view of exhausted input:
    // Boost.JSON copies keys and strings with memcpy, for which a null
    // source is undefined even at length 0 (found by fuzzing).
    if (n == 0) return std::string_view("", 0);
    const std::string_view s = in_.substr(0, n);
    in_.remove_prefix(n);
    return s;
  }
  std::string str() { return std::string(view()); }
  job_id id() {
    if (in_.size() < job_id::size) return fail(), job_id{};
    job_id::bytes_type b;
    std::memcpy(b.data(), in_.data(), job_id::size);
    in_.remove_prefix(job_id::size);
    return job_id(b);
  }
  timestamp time() { return timestamp(std::chrono::microseconds(i64())); }
  job_status status() {
    const std::uint8_t s = u8();
    if (s > static_cast<std::uint8_t>(job_status::cancelled)) fail();
    return static_cast<job_status>(s);
  }
  boost::json::value json(int depth = 0) {
    switch (u8()) {
      case json_null:
        return nullptr;
      case json_false:
        return false;
      case json_true:
        return true;
      case json_int64:
        return i64();
      case json_uint64:
        return varint();
      case json_double:
        return f64();
      case json_string:
        return boost::json::string(view());
      case json_array: {
        const std::uint64_t n = count(depth);
        boost::json::array a;
        a.reserve(n);
        for (std::uint64_t i = 0; i < n && good(); ++i) {
          a.push_back(json(depth + 1));
        }
        return a;
      }
      case json_object: {
        const std::uint64_t n = count(depth);
        boost::json::object o;
        o.reserve(n);
        for (std::uint64_t i = 0; i < n && good(); ++i) {
          const std::string_view key = view();
          if (!good()) break;
          o.insert_or_assign(key, json(depth + 1));
        }
        return o;
      }
      default:
        fail();
        return nullptr;
    }
  }

  /// No read has failed so far.
  bool good() const noexcept { return ok_; }
  /// Marks the value damaged: a field read well holds what it cannot.
  void reject() { fail(); }
  /// Every read succeeded and every byte was consumed.
  bool ok() const noexcept { return ok_ && in_.empty(); }

 private:
  // The element count of a container: each element takes at least one byte,
  // and nesting is bounded, so damaged bytes cannot make us reserve or
  // recurse without end.
  std::uint64_t count(int depth) {
    const std::uint64_t n = varint();
    if (depth >= max_json_depth || n > in_.size()) return fail(), 0;
    return n;
  }

 public:
 private:
  bool fail() {
    ok_ = false;
    in_ = {};
    return false;
  }
  std::string_view in_;
  bool ok_ = true;
};

error corrupt(std::string_view what) {
  return error(errc::corrupt, std::string(what) +
                                  " failed to decode (bad checksum or layout)");
}

enum job_flags : std::uint8_t {
  has_started = 1 << 0,
  has_completed = 1 << 1,
  has_source = 1 << 2,
  has_correlation = 1 << 3,
  has_idempotency = 1 << 4,
  has_original = 1 << 5,
  has_parent = 1 << 6,
  has_error = 1 << 7,
};
enum progress_flags : std::uint8_t { has_percent = 1, has_counts = 2 };
enum more_flags : std::uint8_t {
  is_batch_flag = 1,
  has_lease = 2,
  has_schedule = 4,  // Schema 4: run_after, run_timeout, pending_ttl.
  has_retry = 8,     // Schema 4: the retry policy.
};
enum schedule_flags : std::uint8_t {
  has_run_after = 1,
  has_run_timeout = 2,
  has_pending_ttl = 4,
};

std::uint64_t millis(std::chrono::milliseconds d) {
  return static_cast<std::uint64_t>(d.count());
}
std::chrono::milliseconds millis_from(std::uint64_t v) {
  return std::chrono::milliseconds(
      static_cast<std::chrono::milliseconds::rep>(v));
}

// A duration as stored, refused past `max` (damage: a write never stores
// one, and a larger one could overflow the times computed from it).
std::chrono::milliseconds millis_at_most(reader& r,
                                         std::chrono::milliseconds max) {
  const std::uint64_t v = r.varint();
  if (v > static_cast<std::uint64_t>(max.count())) {
    r.reject();
    return std::chrono::milliseconds(0);
  }
  return millis_from(v);
}

// The fields of a job record before its history, in both formats.
void write_fields(writer& w, const job& j) {
  w.id(j.id);
  w.str(j.account_id);
  w.str(j.project_id);
  w.str(j.kind);
  w.u8(static_cast<std::uint8_t>(j.status));
  w.varint(j.revision);
  w.varint(j.attempt);
  w.time(j.created_at);
  std::uint8_t flags = 0;
  if (j.started_at) flags |= has_started;
  if (j.completed_at) flags |= has_completed;
  if (j.source_id) flags |= has_source;
  if (j.correlation_id) flags |= has_correlation;
  if (j.idempotency_key) flags |= has_idempotency;
  if (j.original_job_id) flags |= has_original;
  if (j.parent_id) flags |= has_parent;
  if (j.error) flags |= has_error;
  w.u8(flags);
  if (j.started_at) w.time(*j.started_at);
  if (j.completed_at) w.time(*j.completed_at);
  if (j.source_id) w.str(*j.source_id);
  if (j.correlation_id) w.str(*j.correlation_id);
  if (j.idempotency_key) w.str(*j.idempotency_key);
  if (j.original_job_id) w.id(*j.original_job_id);
  if (j.parent_id) w.id(*j.parent_id);
  if (j.error) {
    w.str(j.error->code);
    w.str(j.error->message);
  }
  const bool scheduled = j.run_after || j.run_timeout || j.pending_ttl;
  w.u8(static_cast<std::uint8_t>(
      (j.is_batch ? is_batch_flag : 0) | (j.lease ? has_lease : 0) |
      (scheduled ? has_schedule : 0) | (j.retry ? has_retry : 0)));
  if (j.lease) {
    w.str(j.lease->worker_id);
    w.varint(j.lease->epoch);
    w.time(j.lease->expires_at);
    w.varint(millis(j.lease->ttl));
  }
  if (scheduled) {
    w.u8(static_cast<std::uint8_t>((j.run_after ? has_run_after : 0) |
                                   (j.run_timeout ? has_run_timeout : 0) |
                                   (j.pending_ttl ? has_pending_ttl : 0)));
    if (j.run_after) w.time(*j.run_after);
    if (j.run_timeout) w.varint(millis(*j.run_timeout));
    if (j.pending_ttl) w.varint(millis(*j.pending_ttl));
  }
  if (j.retry) {
    const retry_policy& p = *j.retry;
    w.varint(p.max_attempts);
    w.varint(millis(p.initial_backoff));
    w.varint(millis(p.max_backoff));
    w.f64(p.multiplier);
    w.f64(p.jitter);
    w.varint(p.retry_on.size());
    for (const std::string& code : p.retry_on) w.str(code);
  }
  w.json(j.input);
  w.json(j.result);
  const auto& p = j.progress;
  w.u8(static_cast<std::uint8_t>((p.percent ? has_percent : 0) |
                                 (p.counts ? has_counts : 0)));
  if (p.percent) w.f64(*p.percent);
  if (p.counts) {
    w.varint(p.counts->total);
    w.varint(p.counts->succeeded);
    w.varint(p.counts->failed);
    w.varint(p.counts->cancelled);
    w.varint(p.counts->pending);
    w.varint(p.counts->running);
    w.varint(p.counts->partially_succeeded);
  }
  w.json(p.details);
}

job read_fields(reader& r) {
  job j;
  j.id = r.id();
  j.account_id = r.str();
  j.project_id = r.str();
  j.kind = r.str();
  j.status = r.status();
  j.revision = r.varint();
  j.attempt = static_cast<std::uint32_t>(r.varint());
  j.created_at = r.time();
  const std::uint8_t flags = r.u8();
  if (flags & has_started) j.started_at = r.time();
  if (flags & has_completed) j.completed_at = r.time();
  if (flags & has_source) j.source_id = r.str();
  if (flags & has_correlation) j.correlation_id = r.str();
  if (flags & has_idempotency) j.idempotency_key = r.str();
  if (flags & has_original) j.original_job_id = r.id();
  if (flags & has_parent) j.parent_id = r.id();
  if (flags & has_error) {
    job_error e;
    e.code = r.str();
    e.message = r.str();
    j.error = std::move(e);
  }
  const std::uint8_t more = r.u8();
  if (more & ~(is_batch_flag | has_lease | has_schedule | has_retry)) {
    r.reject();  // A flag no schema defines.
  }
  j.is_batch = (more & is_batch_flag) != 0;
  if (more & has_lease) {
    lease l;
    l.worker_id = r.str();
    l.epoch = r.varint();
    l.expires_at = r.time();
    l.ttl = millis_at_most(r, max_lease_ttl);
    j.lease = std::move(l);
  }
  if (more & has_schedule) {
    const std::uint8_t s = r.u8();
    if (s & has_run_after) j.run_after = r.time();
    if (s & has_run_timeout) j.run_timeout = millis_at_most(r, max_time_limit);
    if (s & has_pending_ttl) j.pending_ttl = millis_at_most(r, max_time_limit);
  }
  if (more & has_retry) {
    retry_policy p;
    const std::uint64_t attempts = r.varint();
    if (attempts < 1 || attempts > max_retry_attempts) r.reject();
    p.max_attempts = static_cast<std::uint32_t>(attempts);
    p.initial_backoff = millis_at_most(r, max_retry_backoff);
    p.max_backoff = millis_at_most(r, max_retry_backoff);
    p.multiplier = r.f64();
    p.jitter = r.f64();
    if (!(p.multiplier >= 1.0 && p.multiplier <= 100.0) ||
        !(p.jitter >= 0.0 && p.jitter <= 1.0)) {
      r.reject();
    }
    const std::uint64_t codes = r.varint();
    // Stops at the first bad byte: a damaged count cannot loop for long.
    for (std::uint64_t i = 0; i < codes && r.good(); ++i) {
      p.retry_on.push_back(r.str());
    }
    j.retry = std::move(p);
  }
  j.input = r.json();
  j.result = r.json();
  const std::uint8_t pflags = r.u8();
  if (pflags & has_percent) j.progress.percent = r.f64();
  if (pflags & has_counts) {
    progress_counts c;
    c.total = r.varint();
    c.succeeded = r.varint();
    c.failed = r.varint();
    c.cancelled = r.varint();
    c.pending = r.varint();
    c.running = r.varint();
    c.partially_succeeded = r.varint();
    j.progress.counts = c;
  }
  j.progress.details = r.json();
  return j;
}

void write_event(writer& w, const history_event& e) {
  w.str(e.step);
  w.time(e.at);
  w.i64(e.duration_ms);
  w.u8(static_cast<std::uint8_t>(e.status));
  w.json(e.details);
}

void read_event(reader& r, history_event& e) {
  e.step = r.str();
  e.at = r.time();
  e.duration_ms = r.i64();
  e.status = r.status();
  e.details = r.json();
}

}  // namespace

std::string encode_record(const job& j, std::uint32_t history_length) {
  writer w(job_format_v2);
  write_fields(w, j);
  w.varint(history_length);
  return std::move(w).finish();
}

result<stored_record> decode_record(std::string_view bytes) {
  reader r(bytes);
  if (!r.open(job_format_v2)) return corrupt("job record");
  stored_record out{read_fields(r), 0};
  const std::uint64_t events = r.varint();
  if (!r.ok() || events == 0 ||
      events > std::numeric_limits<std::uint32_t>::max()) {
    return corrupt("job record " + out.value.id.to_string());
  }
  out.history_length = static_cast<std::uint32_t>(events);
  return out;
}

std::string encode(const history_event& e) {
  writer w(e.epoch != 0 ? event_format_epoch : event_format_v1);
  write_event(w, e);
  if (e.epoch != 0) w.varint(e.epoch);
  return std::move(w).finish();
}

result<void> decode_event(std::string_view bytes, history_event& out) {
  reader r(bytes);
  std::uint8_t format = 0;
  if (!r.open_either(event_format_v1, event_format_epoch, format)) {
    return corrupt("history event");
  }
  read_event(r, out);
  out.epoch = format == event_format_epoch ? r.varint() : 0;
  if (!r.ok() || (format == event_format_epoch && out.epoch == 0)) {
    return corrupt("history event");
  }
  return {};
}

result<history_event> decode_event(std::string_view bytes) {
  history_event e;
  if (auto r = decode_event(bytes, e); !r) return r.error();
  return e;
}

std::string encode_v1(const job& j) {
  writer w(job_format_v1);
  write_fields(w, j);
  w.varint(j.history.size());
  for (const history_event& e : j.history) write_event(w, e);
  return std::move(w).finish();
}

result<job> decode_job_v1(std::string_view bytes) {
  reader r(bytes);
  if (!r.open(job_format_v1)) return corrupt("job record");
  job j = read_fields(r);
  const std::uint64_t events = r.varint();
  // Each event takes at least 5 bytes: never reserve more than could exist.
  if (events > bytes.size() / 5) return corrupt("job record");
  j.history.reserve(events);
  for (std::uint64_t i = 0; i < events && r.good(); ++i) {
    read_event(r, j.history.emplace_back());
  }
  if (!r.ok()) return corrupt("job record " + j.id.to_string());
  return j;
}

std::string encode(const tombstone& t) {
  writer w(tombstone_format_v1);
  w.id(t.id);
  w.str(t.account_id);
  w.str(t.project_id);
  w.u8(static_cast<std::uint8_t>(t.status));
  w.varint(t.revision);
  w.u8(t.idempotency_key ? 1 : 0);
  if (t.idempotency_key) w.str(*t.idempotency_key);
  w.time(t.purged_at);
  return std::move(w).finish();
}

result<tombstone> decode_tombstone(std::string_view bytes) {
  reader r(bytes);
  if (!r.open(tombstone_format_v1)) return corrupt("tombstone");
  tombstone t;
  t.id = r.id();
  t.account_id = r.str();
  t.project_id = r.str();
  t.status = r.status();
  t.revision = r.varint();
  if (r.u8() != 0) t.idempotency_key = r.str();
  t.purged_at = r.time();
  if (!r.ok()) return corrupt("tombstone");
  return t;
}

std::string encode(const change_record& c) {
  writer w(change_format_v1);
  w.varint(c.sequence);
  w.time(c.at);
  w.id(c.id);
  w.str(c.account_id);
  w.str(c.project_id);
  w.u8(static_cast<std::uint8_t>(c.status));
  w.varint(c.revision);
  w.str(c.step);
  return std::move(w).finish();
}

result<change_record> decode_change(std::string_view bytes) {
  reader r(bytes);
  if (!r.open(change_format_v1)) return corrupt("change record");
  change_record c;
  c.sequence = r.varint();
  c.at = r.time();
  c.id = r.id();
  c.account_id = r.str();
  c.project_id = r.str();
  c.status = r.status();
  c.revision = r.varint();
  c.step = r.str();
  if (!r.ok()) return corrupt("change record");
  return c;
}

}  // namespace jobstate::store
