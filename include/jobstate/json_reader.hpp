// Reading JSON into C++ values, with errors that say where and what: the one
// reader under every JSON input of jobstate (jobs, engine requests, the HTTP
// surfaces' bodies), public so that a host reading its own request shapes
// (as jobstated's surfaces do) refuses bad input the same way.
//
// An error's detail is "<path>: <what>", e.g.
//   job.history[2].status: expected a job status (pending, ...), got "done"
//   create request.knd: unknown member (expected: account_id, ...)
// The path is built on the stack while reading descends and turned into text
// only on failure. Input may be hostile: values quoted in details are cut
// short and printable ASCII only, since details reach logs and responses.
//
// Readers keep going with default values after a failure, which keeps each
// of them free of error plumbing; the first failure is the one reported.
// The whole-document readers are in <jobstate/json.hpp> (jobs) and
// <jobstate/json_requests.hpp> (requests). A reader is not thread-safe: one
// per document.
//
// Example: a body {"name": string, "size": integer (optional)}, strictly:
//
//   jobstate::wire::reader r;
//   const jobstate::wire::path where("body");
//   jobstate::wire::object_reader o(r, body, where,
//                                   jobstate::wire::object_reader::mode::strict);
//   std::string name;
//   std::optional<std::uint64_t> size;
//   o.required("name", name);
//   o.optional("size", size);
//   o.finish();
//   if (r.failed()) return r.take_failure();  // "body.size: expected ..."
#ifndef JOBSTATE_JSON_READER_HPP
#define JOBSTATE_JSON_READER_HPP

#include <jobstate/error.hpp>
#include <jobstate/export.hpp>
#include <jobstate/job.hpp>
#include <jobstate/requests.hpp>
#include <jobstate/result.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jobstate::wire {

/// Where a value sits in a document: "job.history[2].step".
class JOBSTATE_EXPORT path {
 public:
  explicit path(std::string_view root) : name_(root) {}

  path member(std::string_view name) const { return path(this, name, 0); }
  path element(std::size_t index) const { return path(this, {}, index); }

  std::string str() const;

 private:
  path(const path* parent, std::string_view name, std::size_t index)
      : parent_(parent), name_(name), index_(index) {}

  const path* parent_ = nullptr;
  std::string_view name_;  // Empty for an array element.
  std::size_t index_ = 0;
};

/// What a value is, briefly, for "expected X, got Y".
JOBSTATE_EXPORT std::string describe(const boost::json::value& v);

/// The first failure of a read.
class JOBSTATE_EXPORT reader {
 public:
  bool failed() const noexcept { return failure_.has_value(); }
  /// The failure (invalid_argument with its detail). REQUIRES: failed().
  error take_failure() { return std::move(*failure_); }

  /// Records "<p>: <what>" unless something failed before.
  void fail(const path& p, std::string_view what);
  /// Records "<p>: expected <what>, got <describe(got)>".
  void expected(const path& p, std::string_view what,
                const boost::json::value& got);
  /// Records `e` as it is (a failure found by other code, e.g. too_large).
  void fail_with(error e);

 private:
  std::optional<error> failure_;
};

// One overload per type: each reads `v` into `out` or records a failure.
// Integers accept whole floating-point numbers up to 2^53 too (JavaScript
// writers do not tell 3 from 3.0).
JOBSTATE_EXPORT void read(reader& r, const boost::json::value& v, const path& p,
                          std::string& out);
JOBSTATE_EXPORT void read(reader& r, const boost::json::value& v, const path& p,
                          timestamp& out);
JOBSTATE_EXPORT void read(reader& r, const boost::json::value& v, const path& p,
                          job_id& out);
JOBSTATE_EXPORT void read(reader& r, const boost::json::value& v, const path& p,
                          job_status& out);
JOBSTATE_EXPORT void read(reader& r, const boost::json::value& v, const path& p,
                          bool& out);
JOBSTATE_EXPORT void read(reader& r, const boost::json::value& v, const path& p,
                          std::uint64_t& out);
JOBSTATE_EXPORT void read(reader& r, const boost::json::value& v, const path& p,
                          std::uint32_t& out);
JOBSTATE_EXPORT void read(reader& r, const boost::json::value& v, const path& p,
                          std::int64_t& out);
JOBSTATE_EXPORT void read(reader& r, const boost::json::value& v, const path& p,
                          double& out);
/// Free-form JSON: anything goes.
JOBSTATE_EXPORT void read(reader& r, const boost::json::value& v, const path& p,
                          boost::json::value& out);
// The job record's parts (lib/wire/job_json.cpp).
JOBSTATE_EXPORT void read(reader& r, const boost::json::value& v, const path& p,
                          job_error& out);
JOBSTATE_EXPORT void read(reader& r, const boost::json::value& v, const path& p,
                          progress_counts& out);
JOBSTATE_EXPORT void read(reader& r, const boost::json::value& v, const path& p,
                          progress& out);
JOBSTATE_EXPORT void read(reader& r, const boost::json::value& v, const path& p,
                          history_event& out);
JOBSTATE_EXPORT void read(reader& r, const boost::json::value& v, const path& p,
                          job& out);
/// Strict: every member optional ("max_attempts", "initial_backoff_ms",
/// "max_backoff_ms", "multiplier", "jitter", "retry_on"), none unknown.
JOBSTATE_EXPORT void read(reader& r, const boost::json::value& v, const path& p,
                          retry_policy& out);

/// null reads as nothing; anything else as a T.
template <class T>
JOBSTATE_EXPORT void read(reader& r, const boost::json::value& v, const path& p,
                          std::optional<T>& out) {
  if (v.is_null()) {
    out.reset();
  } else {
    read(r, v, p, out.emplace());
  }
}

template <class T>
JOBSTATE_EXPORT void read(reader& r, const boost::json::value& v, const path& p,
                          std::vector<T>& out) {
  const boost::json::array* a = v.if_array();
  if (!a) {
    r.expected(p, "an array", v);
    return;
  }
  out.resize(a->size());
  for (std::size_t i = 0; i < a->size() && !r.failed(); ++i) {
    read(r, (*a)[i], p.element(i), out[i]);
  }
}

/// The object `v`, or nullptr after recording "expected an object".
JOBSTATE_EXPORT const boost::json::object* as_object(
    reader& r, const boost::json::value& v, const path& p);

template <class T>
inline constexpr bool is_nullable = false;
template <class T>
inline constexpr bool is_nullable<std::optional<T>> = true;
template <>
inline constexpr bool is_nullable<boost::json::value> = true;

/// The members of one object, read by name. Two modes:
///  - lenient (the job shape): unknown members are ignored;
///  - strict (requests): finish() refuses any member nobody asked for, so a
///    typo never passes silently.
/// A member that is absent, or null where null means "not given", leaves
/// `out` as it was (the C++ default).
class JOBSTATE_EXPORT object_reader {
 public:
  enum class mode { lenient, strict };

  /// Reads object `v` at `p` (which must outlive the reader). With
  /// `null_is_empty`, null reads as {}.
  object_reader(reader& r, const boost::json::value& v, const path& p, mode m,
                bool null_is_empty = false);

  /// Whether `v` was an object (or null read as {}).
  bool ok() const noexcept { return ok_; }

  /// The member `name`, or nullptr when absent or null; remembers the name.
  const boost::json::value* find(std::string_view name);

  /// Reads member `name` into `out`. When T is optional or a JSON value,
  /// the member may be null or absent; otherwise it must be there.
  template <class T>
  void required(std::string_view name, T& out) {
    const path p = path_.member(name);
    if (const boost::json::value* v = member(name)) {
      read(r_, *v, p, out);
    } else if (ok_ && object_ && !is_nullable<T>) {
      r_.fail(p, "required member is missing");
    }
  }

  /// Reads member `name` into `out` when present and not null.
  template <class T>
  void optional(std::string_view name, T& out) {
    if (const boost::json::value* v = find(name)) {
      read(r_, *v, path_.member(name), out);
    }
  }
  template <class T>
  void optional(std::string_view name, std::optional<T>& out) {
    if (const boost::json::value* v = find(name)) {
      read(r_, *v, path_.member(name), out.emplace());
    }
  }

  /// The path of member `name`, for failures found by the caller.
  path member_path(std::string_view name) const { return path_.member(name); }
  const path& where() const noexcept { return path_; }
  reader& failures() noexcept { return r_; }

  /// In strict mode, records the first member nobody asked for.
  void finish();

 private:
  // The member, null included; remembers the name.
  const boost::json::value* member(std::string_view name);

  reader& r_;
  const path& path_;
  const boost::json::object* object_ = nullptr;
  mode mode_;
  bool ok_ = false;
  std::vector<std::string_view> asked_;
};

/// Member `name` in whole milliseconds (0 to 2^53), into `out` when
/// present and not null.
JOBSTATE_EXPORT void read_millis(object_reader& o, std::string_view name,
                                 std::optional<std::chrono::milliseconds>& out);

// --- Members that several request shapes share ---
// (lib/wire/requests_json.cpp; jobstated's native bodies use them too, taking
// the account and project from the path and the API key instead.)

/// "kind" (required), "input", "source_id", "correlation_id",
/// "idempotency_key", "details" into `out`; not the account or project.
JOBSTATE_EXPORT void read_create_members(object_reader& o, create_request& out);

/// "kinds", "worker_id" (both required), "lease_ttl_ms", "wait_ms",
/// "details", "with_history" into `out`; not the account or project.
JOBSTATE_EXPORT void read_claim_members(object_reader& o, claim_request& out);

/// {"kind" (required), "input", "source_id", "correlation_id"}, strictly.
JOBSTATE_EXPORT void read(reader& r, const boost::json::value& v, const path& p,
                          batch_child& out);

/// "children" of a batch: a non-empty array of at most `max_children`
/// children (more is too_large, found before any child is read).
JOBSTATE_EXPORT void read_children(object_reader& o, std::size_t max_children,
                                   std::vector<batch_child>& out);

/// "expected_revision", "lease_epoch" and, under `details_member`, the
/// details recorded on the history event: what every mutation accepts.
JOBSTATE_EXPORT void read_mutation_members(object_reader& o,
                                           std::string_view details_member,
                                           mutation_options& out);

/// Reads a whole document as a T; `root` names it in error details.
template <class T>
result<T> read_document(const boost::json::value& v, std::string_view root) {
  reader r;
  T out{};
  read(r, v, path(root), out);
  if (r.failed()) return r.take_failure();
  return out;
}

}  // namespace jobstate::wire

#endif  // JOBSTATE_JSON_READER_HPP
