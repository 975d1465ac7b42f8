// Which API a request's path belongs to, and so the envelope of every error
// answered on it. One table of path prefixes serves the router (its routes,
// 401, 404, 405) and the transport layer (413, 431, a malformed request's
// 400, the connection limit's 503), so that every answer on a surface's
// paths uses that surface's envelope, whichever layer produces it.
#ifndef JOBSTATE_HTTP_SURFACES_HPP
#define JOBSTATE_HTTP_SURFACES_HPP

#include <string_view>

namespace jobstate::http {

/// Which API a route belongs to: each wraps its errors its own way
/// (error_response in responses.hpp).
enum class surface {
  native,    ///< {"error": {"code", "message"}}
  scale_gp,  ///< {"detail": message} (the FastAPI convention)
  jobs_api,  ///< {"data": null, "error": {"code", "message"}}
  gc_ai,     ///< {"error": {"code", "message"}}
};

/// The surface of a request target (a path, a query allowed), by its first
/// two segments, percent-decoded and with empty segments skipped as the
/// routes read them: /v1/api/... the jobs API, /api/external/... GC AI,
/// /v1/projects/... Scale GP; any other path, and a target that is not a
/// path (empty, "*", absolute form), native.
surface surface_of(std::string_view target);

}  // namespace jobstate::http

#endif  // JOBSTATE_HTTP_SURFACES_HPP
