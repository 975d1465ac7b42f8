#include "http/router.hpp"

#include "http/handlers.hpp"
#include "http/responses.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

#include <array>
#include <string_view>

namespace jobstate::http {
namespace {

using boost::beast::http::verb;
namespace bhttp = boost::beast::http;

// A route's surface, for the envelope of its errors, is its path's
// (surface_of): the same for every answer on that path.
struct route {
  verb method;
  std::string_view pattern;  // "{}" matches one segment
  bool needs_key;
  handler_fn handler;
};

constexpr std::string_view native_prefix = "/v1/native";

const std::array routes = {
    route{verb::get, "/healthz", false, ops::healthz},
    route{verb::get, "/metrics", false, ops::metrics},
    route{verb::get, "/v1/projects/{}/jobs/{}", true, scale_gp::get_job},
    route{verb::get, "/v1/api/jobs/{}", true, jobs_api::get_job},
    route{verb::post, "/v1/api/jobs/{}/rerun", true, jobs_api::rerun},
    route{verb::get, "/api/external/v1/jobs/{}", true, gc_ai::get_job},
    route{verb::post, "/v1/native/projects/{}/jobs", true, native::create},
    route{verb::get, "/v1/native/projects/{}/jobs", true, native::list},
    route{verb::get, "/v1/native/projects/{}/jobs/{}", true, native::get},
    route{verb::post, "/v1/native/projects/{}/jobs/{}/start", true,
          native::start},
    route{verb::post, "/v1/native/projects/{}/jobs/{}/progress", true,
          native::progress},
    route{verb::post, "/v1/native/projects/{}/jobs/{}/complete", true,
          native::complete},
    route{verb::post, "/v1/native/projects/{}/jobs/{}/fail", true,
          native::fail},
    route{verb::post, "/v1/native/projects/{}/jobs/{}/cancel", true,
          native::cancel},
    route{verb::post, "/v1/native/projects/{}/jobs/{}/rerun", true,
          native::rerun},
    route{verb::post, "/v1/native/projects/{}/claims", true, native::claim},
    route{verb::post, "/v1/native/projects/{}/jobs/{}/heartbeat", true,
          native::heartbeat},
    route{verb::post, "/v1/native/projects/{}/batches", true,
          native::create_batch},
    route{verb::get, "/v1/native/projects/{}/batches/{}/children", true,
          native::batch_children},
    route{verb::get, "/v1/native/changes", true, native::changes},
    route{verb::get, "/v1/native/changes/stream", true, native::change_stream},
};

// The path's segments against a pattern's; fills `params` on a match.
bool matches(std::string_view pattern, const std::vector<std::string>& path,
             std::vector<std::string>& params) {
  std::vector<std::string> found;
  std::size_t i = 0;
  while (!pattern.empty()) {
    pattern.remove_prefix(1);  // the '/'
    const auto slash = pattern.find('/');
    const std::string_view segment = pattern.substr(0, slash);
    if (i >= path.size()) return false;
    if (segment == "{}") {
      found.push_back(path[i]);
    } else if (segment != path[i]) {
      return false;
    }
    ++i;
    pattern = slash == std::string_view::npos ? std::string_view{}
                                              : pattern.substr(slash);
  }
  if (i != path.size()) return false;
  params = std::move(found);
  return true;
}

}  // namespace

std::string presented_key(const request& req) {
  if (auto it = req.find("x-api-key"); it != req.end()) {
    return std::string(it->value());
  }
  if (auto it = req.find(bhttp::field::authorization); it != req.end()) {
    std::string_view value(it->value().data(), it->value().size());
    constexpr std::string_view bearer = "bearer ";
    if (value.size() > bearer.size()) {
      bool is_bearer = true;
      for (std::size_t i = 0; i < bearer.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(value[i])) != bearer[i]) {
          is_bearer = false;
          break;
        }
      }
      if (is_bearer) value.remove_prefix(bearer.size());
    }
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    return std::string(value);
  }
  return {};
}

void dispatch(server_context& ctx, const exchange_ptr& ex) {
  ctx.counters.requests.fetch_add(1, std::memory_order_relaxed);
  const request& req = ex->req();
  const std::string_view target(req.target().data(), req.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  const surface api = surface_of(target);
  auto parts = split_target(target);
  if (!parts) {
    ex->reply(error_response(api, status::bad_request, "invalid_argument",
                             parts.error().detail()));
    return;
  }
  call c;
  c.target = std::move(*parts);
  std::string allowed;
  for (const route& r : routes) {
    std::vector<std::string> params;
    if (!matches(r.pattern, c.target.segments, params)) continue;
    if (r.method != req.method()) {
      if (!allowed.empty()) allowed += ", ";
      allowed += std::string(bhttp::to_string(r.method));
      continue;
    }
    c.params = std::move(params);
    if (r.needs_key) {
      const std::string key = presented_key(req);
      auto account = key.empty() ? std::nullopt : ctx.keys.authenticate(key);
      if (!account) {
        auto res = error_response(
            api, status::unauthorized, "unauthorized",
            key.empty() ? "no API key: send it as \"Authorization: Bearer "
                          "KEY\" (or in the x-api-key header)"
                        : "the API key is not valid (unknown or revoked)");
        res.set(bhttp::field::www_authenticate, "Bearer");
        ex->reply(std::move(res));
        return;
      }
      c.account_id = std::move(*account);
    }
    r.handler(ctx, ex, c);
    return;
  }
  if (!allowed.empty()) {
    auto res = error_response(
        api, status::method_not_allowed, "method_not_allowed",
        "method " + std::string(req.method_string()) + " is not allowed on " +
            std::string(path.substr(0, 200)) + " (allowed: " + allowed + ")");
    res.set(bhttp::field::allow, allowed);
    ex->reply(std::move(res));
    return;
  }
  ex->reply(
      error_response(api, status::not_found, "no_route",
                     "no route for " + std::string(path.substr(0, 200)) +
                         (path.starts_with(native_prefix)
                              ? " (see docs/http-api.md for the native API)"
                              : "")));
}

}  // namespace jobstate::http
