#include "http/transport_errors.hpp"

#include "http/responses.hpp"
#include "http/surfaces.hpp"

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>

#include <string>

namespace jobstate::http {

namespace bhttp = boost::beast::http;

std::string_view failed_request_target(std::string_view parsed,
                                       std::string_view unread) {
  if (!parsed.empty()) return parsed;
  // request-line = method SP request-target SP HTTP-version CRLF, after
  // any empty lines (RFC 9112 2.2). Only a target followed by its SP is
  // whole; a cut one names nothing.
  while (unread.starts_with("\r\n")) unread.remove_prefix(2);
  const std::string_view line = unread.substr(0, unread.find("\r\n"));
  const auto method_end = line.find(' ');
  if (method_end == std::string_view::npos || method_end == 0) return {};
  const std::string_view rest = line.substr(method_end + 1);
  const auto target_end = rest.find(' ');
  if (target_end == std::string_view::npos) return {};
  return rest.substr(0, target_end);
}

std::optional<response> read_error_response(boost::system::error_code ec,
                                            std::string_view target,
                                            const server_options& opts) {
  const surface api = surface_of(target);
  if (ec == bhttp::error::body_limit) {
    return error_response(api, status::payload_too_large, "body_too_large",
                          "the request body exceeds " +
                              std::to_string(opts.body_limit) + " bytes");
  }
  if (ec == bhttp::error::header_limit) {
    return error_response(api, status::request_header_fields_too_large,
                          "headers_too_large",
                          "the request line and headers exceed " +
                              std::to_string(opts.header_limit) + " bytes");
  }
  // Beast's parse errors, but for the end of the stream between requests:
  // the peer left, nothing to answer.
  if (ec.category() ==
          bhttp::make_error_code(bhttp::error::bad_target).category() &&
      ec != bhttp::error::end_of_stream) {
    return error_response(api, status::bad_request, "bad_request",
                          "malformed HTTP request: " + ec.message());
  }
  return std::nullopt;
}

response over_connection_limit_response(std::string_view target) {
  response res = error_response(
      surface_of(target), status::service_unavailable, "too_many_connections",
      "the server is at its connection limit; retry later");
  res.set(bhttp::field::retry_after, std::to_string(retry_after_seconds));
  return res;
}

}  // namespace jobstate::http
