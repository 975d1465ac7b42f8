// The three published job APIs: Scale GP "Get Job", the generic jobs API
// (get and rerun), GC AI "Get async job status". Shapes: compat_shapes.cpp.
#include <jobstate/async.hpp>

#include "http/compat_shapes.hpp"
#include "http/handlers.hpp"
#include "http/job_reads.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/json/object.hpp>

namespace jobstate::http {

namespace json = boost::json;

namespace {

// A batch's first children (a page, 1,000 by default), oldest first, for
// child_jobs.
std::vector<job> children_of(server_context& ctx, const job& parent) {
  if (!parent.is_batch) return {};
  list_query q;
  q.account_id = parent.account_id;
  q.project_id = parent.project_id;
  q.parent_id = parent.id;
  q.limit = ctx.engine.options().limits.max_page_size;
  q.order = list_order::oldest_first;
  auto page = ctx.engine.list(q);
  if (!page) return {};
  return std::move(page->jobs);
}

}  // namespace

void scale_gp::get_job(server_context& ctx, const exchange_ptr& ex, call& c) {
  // x-selected-account-id must name the key's account: another account's
  // job is not found, exactly as if it did not exist.
  auto selected = ex->req().find("x-selected-account-id");
  if (selected == ex->req().end()) {
    ex->reply(error_response(surface::scale_gp, status::bad_request,
                             "missing_header",
                             "the x-selected-account-id header is required"));
    return;
  }
  auto id = path_job_id(c.params[1]);
  if (!id || selected->value() != c.account_id) {
    ex->reply(job_not_found(surface::scale_gp, c.params[1]));
    return;
  }
  job_read read;
  read.ref = {c.account_id, c.params[0], *id};
  read.api = surface::scale_gp;
  read.render = [&ctx](const job& j) {
    return json_response(status::ok, scale_gp_job(j, children_of(ctx, j)));
  };
  answer_job_read(ctx, ex, c, std::move(read));
}

void jobs_api::get_job(server_context& ctx, const exchange_ptr& ex, call& c) {
  auto id = path_job_id(c.params[0]);
  if (!id) {
    ex->reply(job_not_found(surface::jobs_api, c.params[0]));
    return;
  }
  job_read read;
  read.ref = {c.account_id, ctx.opts.default_project, *id};
  read.api = surface::jobs_api;
  read.reading.with_history = false;  // Its shape shows no history.
  read.render = [](const job& j) {
    return json_response(status::ok, json::object{{"data", jobs_api_job(j)},
                                                  {"error", nullptr}});
  };
  answer_job_read(ctx, ex, c, std::move(read));
}

void jobs_api::rerun(server_context& ctx, const exchange_ptr& ex, call& c) {
  auto id = path_job_id(c.params[0]);
  if (!id) {
    ex->reply(job_not_found(surface::jobs_api, c.params[0]));
    return;
  }
  job_ref ref{c.account_id, ctx.opts.default_project, *id};
  async_rerun(
      ctx.engine, ref, rerun_options{},
      boost::asio::bind_executor(
          ex->executor(),
          [ex, id_text = c.params[0]](boost::system::error_code ec, job j) {
            if (!ec) {
              ex->reply(json_response(
                  status::created,
                  json::object{{"data", jobs_api_job(j)}, {"error", nullptr}}));
              return;
            }
            const std::error_code code(ec);
            if (code == errc::not_found) {
              ex->reply(job_not_found(surface::jobs_api, id_text));
            } else if (code == errc::illegal_transition) {
              ex->reply(error_response(
                  surface::jobs_api, status::conflict, "job_not_finished",
                  "job " + id_text + " is " +
                      std::string(jobs_api_status(j.status)) +
                      ": only a completed, failed or cancelled job can be "
                      "rerun"));
            } else {
              ex->reply(engine_error_response(surface::jobs_api,
                                              jobstate::error(code)));
            }
          }));
}

void gc_ai::get_job(server_context& ctx, const exchange_ptr& ex, call& c) {
  auto id = path_job_id(c.params[0]);
  if (!id) {
    ex->reply(job_not_found(surface::gc_ai, c.params[0]));
    return;
  }
  job_read read;
  read.ref = {c.account_id, ctx.opts.default_project, *id};
  read.api = surface::gc_ai;
  read.reading.with_history = false;  // Its shape shows no history.
  // 200 once terminal; 202 Accepted while the job is still under way (the
  // request was fine, the answer is not ready).
  read.render = [](const job& j) {
    return json_response(is_terminal(j.status) ? status::ok : status::accepted,
                         gc_ai_job(j));
  };
  answer_job_read(ctx, ex, c, std::move(read));
}

}  // namespace jobstate::http
