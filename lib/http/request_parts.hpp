// Reading the parts of a request: path segments, query parameters, headers
// and a JSON body, each with an error that names what is wrong.
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

/// Typed members of a JSON body. Absent or null → nullopt; a value of the
/// wrong type → invalid_argument naming the member and the expected type.
result<std::optional<std::string>> optional_string(const boost::json::object& o,
                                                   std::string_view name);
result<std::string> required_string(const boost::json::object& o,
                                    std::string_view name);
result<std::optional<std::uint64_t>> optional_uint(const boost::json::object& o,
                                                   std::string_view name);
result<std::optional<double>> optional_number(const boost::json::object& o,
                                              std::string_view name);
/// Any JSON value; null when absent.
boost::json::value optional_value(const boost::json::object& o,
                                  std::string_view name);
/// Errors when `o` has a member not in `allowed` (a typo must not pass
/// silently).
result<void> only_members(const boost::json::object& o,
                          std::initializer_list<std::string_view> allowed);

}  // namespace jobstate::http

#endif  // JOBSTATE_HTTP_REQUEST_PARTS_HPP
