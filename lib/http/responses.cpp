#include "http/responses.hpp"

#include <jobstate/json.hpp>

#include <boost/beast/http/field.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serializer.hpp>
#include <boost/json/value_from.hpp>

#include <string>

namespace jobstate::http {

namespace json = boost::json;
namespace bhttp = boost::beast::http;

response json_response(status code, const json::value& body) {
  response res{code, 11};
  res.set(bhttp::field::content_type, "application/json");
  // Serialized straight into the body, with room for the final newline.
  std::string& text = res.body();
  json::serializer writer;
  writer.reset(&body);
  char chunk[4096];
  while (!writer.done()) text.append(writer.read(chunk));
  text += '\n';
  return res;
}

response job_response(status code, const job& j) {
  // A job with its history is a few kilobytes of JSON: one stack buffer
  // holds it, and a larger one spills to the heap.
  unsigned char buffer[8192];
  json::monotonic_resource arena(buffer, sizeof buffer);
  return json_response(code, json::value_from(j, json::storage_ptr(&arena)));
}

namespace {

// Messages quote client text (a path, an id, a header) that may be any
// bytes, and a JSON string must be valid UTF-8: a message is printable
// ASCII, anything else shown as '?'. That also keeps control characters out
// of clients' logs.
std::string printable(std::string_view message) {
  std::string out(message);
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return out;
}

}  // namespace

response error_response(surface s, status code, std::string_view error_code,
                        std::string_view raw_message) {
  const std::string message = printable(raw_message);
  json::object err{{"code", error_code}, {"message", message}};
  switch (s) {
    case surface::scale_gp:
      return json_response(code, json::object{{"detail", message}});
    case surface::jobs_api:
      return json_response(
          code, json::object{{"data", nullptr}, {"error", std::move(err)}});
    case surface::native:
    case surface::gc_ai:
      break;
  }
  return json_response(code, json::object{{"error", std::move(err)}});
}

status status_for(std::error_code ec) {
  if (ec.category() != jobstate::category())
    return status::internal_server_error;
  switch (static_cast<errc>(ec.value())) {
    case errc::invalid_argument:
      return status::bad_request;
    case errc::not_found:
      return status::not_found;
    case errc::illegal_transition:
    case errc::conflict:
    case errc::already_exists:
    case errc::lease_lost:
      return status::conflict;
    case errc::gone:
    case errc::expired:
      return status::gone;
    case errc::too_large:
      return status::payload_too_large;
    case errc::storage_full:
      return status::insufficient_storage;
    case errc::engine_closed:
      return status::service_unavailable;
    case errc::corrupt:
    case errc::unsupported_version:
    case errc::io_error:
    case errc::already_open:
      break;
  }
  return status::internal_server_error;
}

std::string_view code_name(std::error_code ec) {
  if (ec.category() != jobstate::category()) return "internal_error";
  switch (static_cast<errc>(ec.value())) {
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::not_found:
      return "not_found";
    case errc::illegal_transition:
      return "illegal_transition";
    case errc::conflict:
      return "conflict";
    case errc::already_exists:
      return "already_exists";
    case errc::gone:
      return "gone";
    case errc::storage_full:
      return "storage_full";
    case errc::corrupt:
      return "corrupt";
    case errc::unsupported_version:
      return "unsupported_version";
    case errc::too_large:
      return "too_large";
    case errc::expired:
      return "expired";
    case errc::engine_closed:
      return "engine_closed";
    case errc::io_error:
      return "io_error";
    case errc::already_open:
      return "already_open";
    case errc::lease_lost:
      return "lease_lost";
  }
  return "internal_error";
}

response engine_error_response(surface s, const jobstate::error& e) {
  return error_response(s, status_for(e.code()), code_name(e.code()),
                        e.message());
}

void add_retry_after(response& res, job_status st) {
  if (!is_terminal(st)) {
    res.set(bhttp::field::retry_after, std::to_string(retry_after_seconds));
  }
}

}  // namespace jobstate::http
