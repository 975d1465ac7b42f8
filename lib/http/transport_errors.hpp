// The answers the transport layer gives by itself, before any route: a
// request that could not be read (413, 431, 400) and a connection over the
// limit (503). Each comes in the envelope of the surface its target names
// (surfaces.hpp), or the native one when no target could be read.
#ifndef JOBSTATE_HTTP_TRANSPORT_ERRORS_HPP
#define JOBSTATE_HTTP_TRANSPORT_ERRORS_HPP

#include "http/exchange.hpp"
#include "http/server_options.hpp"

#include <boost/system/error_code.hpp>

#include <optional>
#include <string_view>

namespace jobstate::http {

/// The target of a request whose reading stopped: `parsed`, the parser's,
/// when it got that far (empty otherwise), else the target of the request
/// line at the start of `unread` (the bytes the parser left in the buffer)
/// when that line holds one in full. Empty when neither: the target cannot
/// be read.
std::string_view failed_request_target(std::string_view parsed,
                                       std::string_view unread);

/// The answer to a request whose reading failed with `ec`, in the envelope
/// of `target`'s surface: 413 body_too_large, 431 headers_too_large, 400
/// bad_request for any other malformed request. nullopt when the connection
/// should close without an answer (the peer left, a timeout, a socket
/// error).
std::optional<response> read_error_response(boost::system::error_code ec,
                                            std::string_view target,
                                            const server_options& opts);

/// The answer to a connection over the limit: 503 too_many_connections with
/// Retry-After, in the envelope of `target`'s surface.
response over_connection_limit_response(std::string_view target);

}  // namespace jobstate::http

#endif  // JOBSTATE_HTTP_TRANSPORT_ERRORS_HPP
