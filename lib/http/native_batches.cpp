// The native API's batches: creating a batch (a parent and its children in
// one commit) and paging through its children.
#include <jobstate/async.hpp>
#include <jobstate/json.hpp>
#include <jobstate/json_reader.hpp>

#include "http/handlers.hpp"
#include "http/native_common.hpp"
#include "http/request_parts.hpp"

#include <boost/beast/http/field.hpp>

namespace jobstate::http::native {

namespace json = boost::json;

void create_batch(server_context& ctx, const exchange_ptr& ex, call& c) {
  batch_request r;
  r.parent.account_id = c.account_id;
  r.parent.project_id = c.params[0];
  if (!read_body(ex, [&](wire::object_reader& o) {
        wire::read_create_members(o, r.parent);
        wire::read_children(o, ctx.engine.options().limits.max_batch_children,
                            r.children);
      })) {
    return;
  }
  if (auto v = ctx.engine.check(r); !v) return reply_error(ex, v.error());
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
    return reply_bad_request(ex, ok.error());
  auto page = ctx.engine.list(q);
  if (!page) return reply_error(ex, page.error());
  ex->reply(json_response(status::ok, to_json(*page)));
}

}  // namespace jobstate::http::native
