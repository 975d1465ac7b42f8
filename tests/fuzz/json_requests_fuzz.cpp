// Fuzz target: the JSON inputs of create, complete, progress and the other
// requests (<jobstate/json_requests.hpp>, used by the C API and the Python
// binding), a job's wire form (<jobstate/json.hpp>) and timestamps. Any
// text: parsing and validation must not crash; every failure is
// invalid_argument (or too_large from the limits); what a reader accepts, the
// model's validation accepts or refuses cleanly too.
#include <jobstate/json.hpp>
#include <jobstate/json_requests.hpp>
#include <jobstate/timestamp.hpp>

#include "model/validation.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

using namespace jobstate;

[[noreturn]] void fail() { std::abort(); }

void expect_clean(const error& e) {
  if (e.code() != errc::invalid_argument && e.code() != errc::too_large) {
    fail();
  }
  if (e.message().empty()) fail();
}

template <class T>
void accepted_or_refused(const result<T>& r) {
  if (!r) expect_clean(r.error());
}

template <class T>
void then_validate(const result<T>& r, const limits& lim) {
  if (!r) return expect_clean(r.error());
  accepted_or_refused(model::validate(*r, lim));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  boost::system::error_code ec;
  boost::json::parse_options po;
  po.max_depth = 64;
  const boost::json::value v = boost::json::parse(text, ec, {}, po);
  if (ec) return 0;
  limits lim;
  lim.max_json_size = 4096;  // Small, so that limits are reached too.
  lim.max_id_size = 32;

  then_validate(create_request_from_json(v), lim);
  then_validate(progress_from_json(v), lim);
  then_validate(completion_from_json(v), lim);
  then_validate(mutation_options_from_json(v), lim);
  then_validate(rerun_options_from_json(v), lim);
  then_validate(list_query_from_json(v), lim);
  accepted_or_refused(batch_request_from_json(v, 8));
  accepted_or_refused(
      children_query_from_json(job_ref{"a", "p", job_id::generate()}, v));
  accepted_or_refused(purge_request_from_json(v));
  accepted_or_refused(wait_condition_from_json(v));
  accepted_or_refused(watch_request_from_json(v));
  accepted_or_refused(options_from_json("/nonexistent", v));
  if (v.is_object()) {
    // A request as the C API's get/start take it: a job_ref from strings.
    const auto& o = v.as_object();
    auto str = [&](const char* k) -> std::string_view {
      const auto* m = o.if_contains(k);
      return m != nullptr && m->is_string() ? std::string_view(m->as_string())
                                            : std::string_view();
    };
    auto ref = make_job_ref(str("account_id"), str("project_id"), str("id"));
    then_validate(ref, lim);
  }

  // Any text as a timestamp: what parses renders as text that parses to the
  // same time (unless an offset moved it out of the years 0000-9999, which
  // rendering clamps).
  if (auto t = parse_timestamp(text)) {
    const std::string shown = format_timestamp(*t);
    if (shown.size() != timestamp_text_size) fail();
    const bool clamped = shown.starts_with("0000") || shown.starts_with("9999");
    if (parse_timestamp(shown) != t && !clamped) fail();
  }

  // A job in its wire form: what is read renders back and reads the same.
  auto j = job_from_json(v);
  if (j) {
    const boost::json::value rendered = to_json(*j);
    auto again = job_from_json(rendered);
    if (!again) fail();
    if (boost::json::serialize(to_json(*again)) !=
        boost::json::serialize(rendered)) {
      fail();
    }
  } else {
    expect_clean(j.error());
  }
  return 0;
}
