#include "http/request_parts.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <charconv>

namespace jobstate::http {

namespace json = boost::json;

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string quoted(std::string_view name) {
  return "\"" + std::string(name) + "\"";
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text, bool query) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && query) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

result<target_parts> split_target(std::string_view target) {
  target_parts parts;
  const auto qmark = target.find('?');
  std::string_view path = target.substr(0, qmark);
  std::string_view query = qmark == std::string_view::npos
                               ? std::string_view{}
                               : target.substr(qmark + 1);
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const auto slash = path.find('/');
    auto decoded = percent_decode(path.substr(0, slash), false);
    if (!decoded) {
      return error(errc::invalid_argument,
                   "the path has a malformed percent escape");
    }
    parts.segments.push_back(std::move(*decoded));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash);
  }
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    auto name = percent_decode(pair.substr(0, eq), true);
    auto value = percent_decode(
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1),
        true);
    if (!name || !value) {
      return error(errc::invalid_argument,
                   "the query string has a malformed percent escape");
    }
    if (!name->empty())
      parts.query.emplace(std::move(*name), std::move(*value));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return parts;
}

std::optional<std::string_view> query_param(const target_parts& t,
                                            std::string_view name) {
  auto it = t.query.find(std::string(name));
  if (it == t.query.end()) return std::nullopt;
  return std::string_view(it->second);
}

result<std::optional<std::uint64_t>> query_uint(const target_parts& t,
                                                std::string_view name) {
  auto text = query_param(t, name);
  if (!text) return std::optional<std::uint64_t>{};
  std::uint64_t value = 0;
  auto [end, ec] =
      std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc{} || end != text->data() + text->size() ||
      text->empty()) {
    return error(errc::invalid_argument,
                 "query parameter " + quoted(name) +
                     " must be a non-negative integer, got \"" +
                     std::string(text->substr(0, 64)) + "\"");
  }
  return std::optional<std::uint64_t>(value);
}

std::vector<std::string_view> header_values(const request& req,
                                            std::string_view name) {
  std::vector<std::string_view> values;
  auto range = req.equal_range(name);
  for (auto it = range.first; it != range.second; ++it) {
    values.emplace_back(it->value().data(), it->value().size());
  }
  return values;
}

result<json::object> json_body(const request& req) {
  if (std::all_of(req.body().begin(), req.body().end(), [](char c) {
        return c == ' ' || c == '\n' || c == '\r' || c == '\t';
      })) {
    return json::object{};
  }
  boost::system::error_code ec;
  json::value v = json::parse(req.body(), ec);
  if (ec) {
    return error(errc::invalid_argument,
                 "body is not valid JSON: " + ec.message());
  }
  if (!v.is_object()) {
    return error(errc::invalid_argument, "body must be a JSON object");
  }
  return std::move(v.as_object());
}

}  // namespace jobstate::http
