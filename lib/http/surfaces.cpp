#include "http/surfaces.hpp"

#include "http/request_parts.hpp"

#include <array>
#include <string>

namespace jobstate::http {
namespace {

struct prefix {
  std::string_view first;   // the path's first segment
  std::string_view second;  // and its second
  surface api;
};

constexpr std::array prefixes = {
    prefix{"v1", "api", surface::jobs_api},
    prefix{"api", "external", surface::gc_ai},
    prefix{"v1", "projects", surface::scale_gp},
};

}  // namespace

surface surface_of(std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  if (!path.starts_with('/')) return surface::native;
  std::array<std::string, 2> segments;
  std::size_t found = 0;
  while (found < segments.size() && !path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const auto slash = path.find('/');
    const std::string_view raw = path.substr(0, slash);
    // A malformed escape is left as it is: it matches no prefix.
    segments[found++] = percent_decode(raw, false).value_or(std::string(raw));
    path = slash == std::string_view::npos ? std::string_view{}
                                           : path.substr(slash);
  }
  if (found < segments.size()) return surface::native;
  for (const prefix& p : prefixes) {
    if (segments[0] == p.first && segments[1] == p.second) return p.api;
  }
  return surface::native;
}

}  // namespace jobstate::http
