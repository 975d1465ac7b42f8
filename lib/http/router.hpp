// The route table: which handler answers which method and path, after
// authentication. Unknown paths get 404 and known paths with another method
// 405 (with Allow), each as a JSON error in the envelope of the surface the
// path belongs to.
#ifndef JOBSTATE_HTTP_ROUTER_HPP
#define JOBSTATE_HTTP_ROUTER_HPP

#include "http/exchange.hpp"
#include "http/request_parts.hpp"
#include "http/server_context.hpp"

#include <string>
#include <vector>

namespace jobstate::http {

/// What a handler learns of its request beyond the exchange.
struct call {
  std::string account_id;           ///< The key's account (empty: no auth).
  target_parts target;              ///< Decoded path and query.
  std::vector<std::string> params;  ///< The path's {} segments, in order.
};

using handler_fn = void (*)(server_context&, const exchange_ptr&, call&);

/// Answers the request of `ex`. Call on the exchange's strand.
void dispatch(server_context& ctx, const exchange_ptr& ex);

/// The API key a request presents: `x-api-key`, else `Authorization` with
/// or without the "Bearer " scheme. Empty when none.
std::string presented_key(const request& req);

}  // namespace jobstate::http

#endif  // JOBSTATE_HTTP_ROUTER_HPP
