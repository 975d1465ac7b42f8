// A connection over the connection limit: its request is read only as far
// as its target, to answer 503 in the envelope of the target's surface,
// then the connection closes. It never reaches a session.
#ifndef JOBSTATE_HTTP_REFUSAL_HPP
#define JOBSTATE_HTTP_REFUSAL_HPP

#include "http/server_options.hpp"

#include <boost/asio/ip/tcp.hpp>

namespace jobstate::http {

/// Reads the request line and headers of `socket` (at most
/// opts.header_limit bytes, within opts.refusal_timeout), answers 503
/// too_many_connections with Retry-After and Connection: close in the
/// envelope of the request's surface (native when no target arrived in
/// time), then closes. Returns at once; the work runs on `socket`'s
/// executor. `opts` must outlive that work (the server's options do).
void refuse_connection(boost::asio::ip::tcp::socket socket,
                       const server_options& opts);

}  // namespace jobstate::http

#endif  // JOBSTATE_HTTP_REFUSAL_HPP
