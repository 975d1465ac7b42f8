#include "model/validation.hpp"

#include "model/batch.hpp"
#include "model/schedules.hpp"

#include <boost/json/serializer.hpp>

#include <cmath>
#include <string>

namespace jobstate::model {
namespace {

error invalid(std::string_view field, std::string_view what) {
  return error(errc::invalid_argument,
               std::string(field) + " " + std::string(what));
}

error too_large(std::string_view field, std::size_t size, std::size_t max) {
  return error(errc::too_large,
               std::string(field) + " is " + std::to_string(size) +
                   " bytes; the limit is " + std::to_string(max));
}

// Serialized size of `v`, counted without building the whole string and
// stopping once past `max`.
std::size_t json_size_up_to(const boost::json::value& v, std::size_t max) {
  boost::json::serializer sr;
  sr.reset(&v);
  char buf[4096];
  std::size_t total = 0;
  while (!sr.done() && total <= max) total += sr.read(buf, sizeof buf).size();
  return total;
}

// Whether `v` nests arrays and objects more than `levels` deep. Stops at the
// limit, so a hostile value cannot exhaust the stack here.
bool deeper_than(const boost::json::value& v, int levels) {
  if (const auto* a = v.if_array()) {
    if (levels == 0) return true;
    for (const auto& e : *a) {
      if (deeper_than(e, levels - 1)) return true;
    }
  } else if (const auto* o = v.if_object()) {
    if (levels == 0) return true;
    for (const auto& kv : *o) {
      if (deeper_than(kv.value(), levels - 1)) return true;
    }
  }
  return false;
}

bool has_control_char(std::string_view s) noexcept {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

bool is_valid_utf8(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // Truncated sequence.
    for (std::size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Reject overlong forms, surrogates and values past U+10FFFF.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
        (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

result<void> validate_options(const options& opts) {
  if (opts.path.empty())
    return invalid("options.path",
                   "is empty: name a directory for the database");
  if (opts.map_size < (std::uint64_t{1} << 20))
    return invalid("options.map_size", "must be at least 1 MiB");
  if (opts.max_map_size < opts.map_size)
    return invalid("options.max_map_size", "must be at least map_size");
  if (opts.limits.max_history < 4)
    return invalid("options.limits.max_history", "must be at least 4");
  if (opts.limits.max_page_size < 1)
    return invalid("options.limits.max_page_size", "must be at least 1");
  if (opts.limits.max_id_size < 1 || opts.limits.max_id_size > 4096)
    return invalid("options.limits.max_id_size", "must be 1 to 4096");
  if (opts.limits.max_kind_size < 1 || opts.limits.max_kind_size > 4096)
    return invalid("options.limits.max_kind_size", "must be 1 to 4096");
  if (opts.max_batch < 1)
    return invalid("options.max_batch", "must be at least 1");
  if (opts.max_readers < 1)
    return invalid("options.max_readers", "must be at least 1");
  if (opts.tombstone_retention.count() < 0)
    return invalid("options.tombstone_retention", "must not be negative");
  if (opts.default_retry) {
    return validate_retry_policy("options.default_retry", *opts.default_retry);
  }
  return {};
}

result<void> validate_id(std::string_view field, std::string_view value,
                         const limits& lim) {
  if (value.empty()) return invalid(field, "is empty; it is required");
  if (value.size() > lim.max_id_size)
    return too_large(field, value.size(), lim.max_id_size);
  if (!is_valid_utf8(value)) return invalid(field, "is not valid UTF-8");
  if (has_control_char(value))
    return invalid(field, "contains a control character");
  return {};
}

result<void> validate_scope(std::string_view account_id,
                            std::string_view project_id, const limits& lim) {
  if (auto r = validate_id("account_id", account_id, lim); !r) return r;
  return validate_id("project_id", project_id, lim);
}

result<void> validate_text(std::string_view field, std::string_view value,
                           const limits& lim) {
  if (value.size() > lim.max_text_size)
    return too_large(field, value.size(), lim.max_text_size);
  if (!is_valid_utf8(value)) return invalid(field, "is not valid UTF-8");
  return {};
}

result<void> validate_json(std::string_view field,
                           const boost::json::value& value, const limits& lim) {
  if (value.is_null() || value.is_number() || value.is_bool()) return {};
  const std::size_t size = json_size_up_to(value, lim.max_json_size);
  if (size > lim.max_json_size)
    return too_large(field, size, lim.max_json_size);
  // The decoder refuses deeper values, so they must never be stored.
  if (deeper_than(value, max_json_depth)) {
    return invalid(field, "nests deeper than " +
                              std::to_string(max_json_depth) + " levels");
  }
  return {};
}

result<void> validate(const create_request& r, const limits& lim) {
  if (auto v = validate_scope(r.account_id, r.project_id, lim); !v) return v;
  if (auto v = validate_kind("kind", r.kind, lim); !v) return v;
  if (r.source_id) {
    if (auto v = validate_id("source_id", *r.source_id, lim); !v) return v;
  }
  if (r.correlation_id) {
    if (auto v = validate_id("correlation_id", *r.correlation_id, lim); !v)
      return v;
  }
  if (r.idempotency_key) {
    if (auto v = validate_id("idempotency_key", *r.idempotency_key, lim); !v)
      return v;
  }
  if (auto v = validate_json("input", r.input, lim); !v) return v;
  if (auto v = validate_schedule(r, /*batch_parent=*/false); !v) return v;
  return validate_json("details", r.details, lim);
}

result<void> validate(const batch_request& r, const limits& lim) {
  if (auto v = validate_schedule(r.parent, /*batch_parent=*/true); !v) return v;
  if (auto v = validate(r.parent, lim); !v) return v;
  if (r.children.empty()) {
    return invalid("children", "is empty; a batch needs at least one child");
  }
  if (r.children.size() > lim.max_batch_children) {
    return error(errc::too_large, "a batch of " +
                                      std::to_string(r.children.size()) +
                                      " children; the limit is " +
                                      std::to_string(lim.max_batch_children));
  }
  for (std::size_t i = 0; i < r.children.size(); ++i) {
    const std::string at = "children[" + std::to_string(i) + "]";
    if (auto v = validate(child_request(r.parent, r.children[i]), lim); !v) {
      return error(v.code(), at + "." + v.error().detail());
    }
  }
  return {};
}

result<void> validate_kind(std::string_view field, std::string_view kind,
                           const limits& lim) {
  if (kind.empty())
    return invalid(field, "is empty; name the operation, e.g. \"parse\"");
  if (kind.size() > lim.max_kind_size)
    return too_large(field, kind.size(), lim.max_kind_size);
  if (!is_valid_utf8(kind) || has_control_char(kind))
    return invalid(field, "must be printable UTF-8");
  return {};
}

result<void> validate(const claim_request& r, const limits& lim) {
  if (auto v = validate_scope(r.account_id, r.project_id, lim); !v) return v;
  if (r.kinds.empty()) {
    return invalid("kinds", "is empty; name the kinds this worker runs");
  }
  if (r.kinds.size() > max_claim_kinds) {
    return invalid("kinds", "names " + std::to_string(r.kinds.size()) +
                                " kinds; at most " +
                                std::to_string(max_claim_kinds) +
                                " are allowed");
  }
  for (std::size_t i = 0; i < r.kinds.size(); ++i) {
    const std::string field = "kinds[" + std::to_string(i) + "]";
    if (auto v = validate_kind(field, r.kinds[i], lim); !v) return v;
  }
  if (auto v = validate_id("worker_id", r.worker_id, lim); !v) return v;
  if (r.lease_ttl < std::chrono::milliseconds(1) ||
      r.lease_ttl > max_lease_ttl) {
    return invalid(
        "lease_ttl",
        "must be 1 ms to " + std::to_string(max_lease_ttl.count()) + " ms");
  }
  if (r.wait < std::chrono::milliseconds::zero() || r.wait > max_claim_wait) {
    return invalid("wait", "must be 0 to " +
                               std::to_string(max_claim_wait.count()) + " ms");
  }
  return validate_json("details", r.details, lim);
}

result<void> validate(const job_ref& r, const limits& lim) {
  if (auto v = validate_scope(r.account_id, r.project_id, lim); !v) return v;
  if (r.id.is_nil()) return invalid("id", "is the nil UUID; no job has it");
  return {};
}

result<void> validate(const mutation_options& o, const limits& lim) {
  return validate_json("details", o.details, lim);
}

result<void> validate(const progress& p, const limits& lim) {
  if (p.percent && !(*p.percent >= 0.0 && *p.percent <= 100.0)) {
    return invalid("progress.percent", "must be between 0 and 100");
  }
  if (p.counts) {
    // Each part is counted once: total = succeeded + failed + cancelled +
    // pending (finished = total - pending). Added without overflowing.
    const auto& c = *p.counts;
    std::uint64_t parts = 0;
    for (std::uint64_t n : {c.succeeded, c.failed, c.cancelled, c.pending}) {
      if (n > c.total - parts) {
        return invalid("progress.counts",
                       "add up to more than total (" + std::to_string(c.total) +
                           "): succeeded + failed + cancelled + pending must "
                           "equal it");
      }
      parts += n;
    }
    if (parts < c.total) {
      return invalid("progress.counts",
                     "add up to " + std::to_string(parts) + ", not total (" +
                         std::to_string(c.total) +
                         "): succeeded + failed + cancelled + pending must "
                         "equal it (pending counts the parts not finished)");
    }
    if (c.running > c.pending) {
      return invalid("progress.counts.running",
                     "is more than pending, which includes it");
    }
    if (c.partially_succeeded > c.succeeded) {
      return invalid("progress.counts.partially_succeeded",
                     "is more than succeeded, which includes it");
    }
  }
  return validate_json("progress.details", p.details, lim);
}

result<void> validate(const completion& c, const limits& lim) {
  if (c.status != job_status::succeeded &&
      c.status != job_status::partially_succeeded &&
      c.status != job_status::failed) {
    return invalid("completion.status",
                   "must be succeeded, partially_succeeded or failed (use "
                   "cancel to cancel)");
  }
  if (c.status == job_status::failed && !c.error) {
    return invalid("completion.error", "is required when the job failed");
  }
  if (c.error) {
    if (c.error->code.empty())
      return invalid("completion.error.code", "is empty");
    if (auto v = validate_text("completion.error.code", c.error->code, lim); !v)
      return v;
    if (auto v =
            validate_text("completion.error.message", c.error->message, lim);
        !v)
      return v;
  }
  return validate_json("completion.result", c.result, lim);
}

result<void> validate(const rerun_options& o, const limits& lim) {
  if (o.correlation_id) {
    if (auto v = validate_id("correlation_id", *o.correlation_id, lim); !v)
      return v;
  }
  return validate_json("details", o.details, lim);
}

result<void> validate(const list_query& q, const limits& lim) {
  if (auto v = validate_scope(q.account_id, q.project_id, lim); !v) return v;
  if (q.limit < 1 || q.limit > lim.max_page_size) {
    return invalid(
        "limit", "must be between 1 and " + std::to_string(lim.max_page_size));
  }
  if (q.kind) {
    if (q.kind->empty() || q.kind->size() > lim.max_kind_size) {
      return invalid(
          "kind", "filter must be a non-empty kind within the kind size limit");
    }
  }
  return {};
}

}  // namespace jobstate::model
