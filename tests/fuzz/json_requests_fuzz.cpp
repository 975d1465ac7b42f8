// Fuzz target: the JSON inputs of create, complete, progress and the other
// requests (lib/capi/json_requests, used by the C API and the Python
// binding) and a job's wire form (lib/wire, <jobstate/json.hpp>). Any text:
// parsing and validation must not crash; every failure is invalid_argument
// (or too_large from the limits); what a reader accepts, the model's
// validation accepts or refuses cleanly too.
#include <jobstate/json.hpp>

#include "capi/json_requests.hpp"
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

  then_validate(capi::create_request_from_json(v), lim);
  then_validate(capi::progress_from_json(v), lim);
  then_validate(capi::completion_from_json(v), lim);
  then_validate(capi::mutation_options_from_json(v), lim);
  then_validate(capi::rerun_options_from_json(v), lim);
  then_validate(capi::list_query_from_json(v), lim);
  accepted_or_refused(capi::purge_request_from_json(v));
  accepted_or_refused(capi::wait_condition_from_json(v));
  accepted_or_refused(capi::watch_request_from_json(v));
  accepted_or_refused(capi::options_from_json("/nonexistent", v));
  if (v.is_object()) {
    // A request as the C API's get/start take it: a job_ref from strings.
    const auto& o = v.as_object();
    auto str = [&](const char* k) -> std::string_view {
      const auto* m = o.if_contains(k);
      return m != nullptr && m->is_string() ? std::string_view(m->as_string())
                                            : std::string_view();
    };
    auto ref =
        capi::make_job_ref(str("account_id"), str("project_id"), str("id"));
    then_validate(ref, lim);
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
