// Reading the parts of a request: path segments, query parameters, headers
// and a JSON body, each with an error that names what is wrong. (A body's
// members are read by the wire layer's reader, <jobstate/json_reader.hpp>.)
#ifndef JOBSTATE_HTTP_REQUEST_PARTS_HPP
#define JOBSTATE_HTTP_REQUEST_PARTS_HPP

#include <jobstate/result.hpp>

#include "http/exchange.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jobstate::http {

/// The target split into decoded path segments and query parameters.
struct target_parts {
  std::vector<std::string> segments;         ///< "/a/b%20c" → {"a", "b c"}
  std::map<std::string, std::string> query;  ///< First value of each name.
};

/// Splits and percent-decodes `target`. Errors: invalid_argument (bad
/// percent escape).
result<target_parts> split_target(std::string_view target);

/// Decodes %XX escapes (and '+' as a space in a query when `query` is set).
std::optional<std::string> percent_decode(std::string_view text, bool query);

/// The value of query parameter `name`, if given.
std::optional<std::string_view> query_param(const target_parts& t,
                                            std::string_view name);

/// A query parameter that must be an unsigned integer, if given.
/// Errors: invalid_argument naming the parameter.
result<std::optional<std::uint64_t>> query_uint(const target_parts& t,
                                                std::string_view name);

/// Every value of header `name`, in order.
std::vector<std::string_view> header_values(const request& req,
                                            std::string_view name);

/// The body as a JSON object; an empty body is an empty object.
/// Errors: invalid_argument ("body is not valid JSON: ..." or "body must be
/// a JSON object").
result<boost::json::object> json_body(const request& req);

}  // namespace jobstate::http

#endif  // JOBSTATE_HTTP_REQUEST_PARTS_HPP
