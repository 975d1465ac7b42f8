// The native API's batches: creating a batch (a parent and its children in
// one commit) and paging through its children.
#include <jobstate/async.hpp>
#include <jobstate/json.hpp>

#include "http/handlers.hpp"
#include "http/native_common.hpp"
#include "http/request_parts.hpp"

#include <boost/beast/http/field.hpp>

namespace jobstate::http::native {

namespace json = boost::json;

namespace {

void bad_request(const exchange_ptr& ex, const jobstate::error& e) {
  ex->reply(error_response(surface::native, status::bad_request,
                           "invalid_argument", e.detail()));
}

result<batch_child> child_from(const json::value& v, std::size_t index) {
  const auto where = "children[" + std::to_string(index) + "]";
  const auto* o = v.if_object();
  if (!o) return error(errc::invalid_argument, where + " must be an object");
  if (auto ok =
          only_members(*o, {"kind", "input", "source_id", "correlation_id"});
      !ok) {
    return error(errc::invalid_argument, where + ": " + ok.error().detail());
  }
  batch_child child;
  auto kind = required_string(*o, "kind");
  if (!kind)
    return error(errc::invalid_argument, where + ": " + kind.error().detail());
  auto source = optional_string(*o, "source_id");
  if (!source)
    return error(errc::invalid_argument,
                 where + ": " + source.error().detail());
  auto correlation = optional_string(*o, "correlation_id");
  if (!correlation) {
    return error(errc::invalid_argument,
                 where + ": " + correlation.error().detail());
  }
  child.kind = std::move(*kind);
  child.source_id = std::move(*source);
  child.correlation_id = std::move(*correlation);
  child.input = optional_value(*o, "input");
  return child;
}

}  // namespace

void create_batch(server_context& ctx, const exchange_ptr& ex, call& c) {
  auto body = json_body(ex->req());
  if (!body) {
    return ex->reply(error_response(surface::native, status::bad_request,
                                    "invalid_json", body.error().detail()));
  }
  if (auto ok =
          only_members(*body, {"kind", "input", "source_id", "correlation_id",
                               "idempotency_key", "details", "children"});
      !ok) {
    return bad_request(ex, ok.error());
  }
  batch_request r;
  r.parent.account_id = c.account_id;
  r.parent.project_id = c.params[0];
  auto kind = required_string(*body, "kind");
  if (!kind) return bad_request(ex, kind.error());
  r.parent.kind = std::move(*kind);
  for (auto [name, member] :
       {std::pair{"source_id", &r.parent.source_id},
        std::pair{"correlation_id", &r.parent.correlation_id},
        std::pair{"idempotency_key", &r.parent.idempotency_key}}) {
    auto text = optional_string(*body, name);
    if (!text) return bad_request(ex, text.error());
    *member = std::move(*text);
  }
  r.parent.input = optional_value(*body, "input");
  r.parent.details = optional_value(*body, "details");
  const auto* children = body->if_contains("children");
  if (!children || !children->is_array() || children->as_array().empty()) {
    return bad_request(ex, error(errc::invalid_argument,
                                 "member \"children\" must be a non-empty "
                                 "array of {\"kind\", \"input\", "
                                 "\"source_id\", \"correlation_id\"}"));
  }
  const auto& list = children->as_array();
  r.children.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto child = child_from(list[i], i);
    if (!child) return bad_request(ex, child.error());
    r.children.push_back(std::move(*child));
  }
  async_create_batch(
      ctx.engine, std::move(r),
      boost::asio::bind_executor(
          ex->executor(), [ex](boost::system::error_code ec, created_batch b) {
            if (ec) return reply_error(ex, jobstate::error(ec));
            json::array ids;
            for (const auto& id : b.child_ids) ids.emplace_back(id.to_string());
            auto res =
                json_response(b.created ? status::created : status::ok,
                              json::object{{"job", to_json(b.parent)},
                                           {"child_ids", std::move(ids)}});
            res.set(boost::beast::http::field::location,
                    "/v1/native/projects/" + b.parent.project_id + "/jobs/" +
                        b.parent.id.to_string());
            ex->reply(std::move(res));
          }));
}

void batch_children(server_context& ctx, const exchange_ptr& ex, call& c) {
  auto ref = job_in_path(ex, c);
  if (!ref) return;
  // The batch must be visible to the caller: another tenant's batch id
  // lists nothing, it is not found.
  auto parent = ctx.engine.get(*ref);
  if (!parent) return reply_error(ex, parent.error());
  list_query q;
  q.account_id = ref->account_id;
  q.project_id = ref->project_id;
  q.parent_id = ref->id;
  if (auto ok = read_list_filters(c, q); !ok)
    return bad_request(ex, ok.error());
  auto page = ctx.engine.list(q);
  if (!page) return reply_error(ex, page.error());
  ex->reply(json_response(status::ok, page_json(*page)));
}

}  // namespace jobstate::http::native
