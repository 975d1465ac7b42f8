// The native API's jobs: create, list, get (long-poll), the worker
// operations (start, progress, complete, fail), cancel and rerun.
#include <jobstate/async.hpp>
#include <jobstate/json.hpp>
#include <jobstate/json_reader.hpp>

#include "http/handlers.hpp"
#include "http/job_reads.hpp"
#include "http/native_common.hpp"
#include "http/request_parts.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/json/value_to.hpp>

namespace jobstate::http::native {

namespace json = boost::json;

namespace {

// The "status" of a completion: one of the three a worker may report.
void read_outcome(wire::object_reader& o, job_status& out) {
  o.optional("status", out);
  if (out != job_status::succeeded && out != job_status::partially_succeeded &&
      out != job_status::failed) {
    o.failures().fail(o.member_path("status"),
                      "expected succeeded, partially_succeeded or failed");
  }
}

}  // namespace

void create(server_context& ctx, const exchange_ptr& ex, call& c) {
  create_request r;
  r.account_id = c.account_id;
  r.project_id = c.params[0];
  if (!read_body(ex, [&](wire::object_reader& o) {
        wire::read_create_members(o, r);
      })) {
    return;
  }
  if (auto header = ex->req().find("idempotency-key");
      header != ex->req().end()) {
    const std::string from_header(header->value());
    if (r.idempotency_key && *r.idempotency_key != from_header) {
      return reply_bad_request(
          ex, error(errc::invalid_argument,
                    "the Idempotency-Key header and the body's "
                    "idempotency_key differ: send one, or the same in both"));
    }
    r.idempotency_key = from_header;
  }
  // Checked here, where the reason is still known (an asynchronous answer
  // carries the code alone).
  if (auto v = ctx.engine.check(r); !v) return reply_error(ex, v.error());
  async_create(
      ctx.engine, std::move(r),
      boost::asio::bind_executor(
          ex->executor(), [ex](boost::system::error_code ec, created_job cj) {
            if (ec) return reply_error(ex, jobstate::error(ec));
            // 201 for a new job, 200 when the idempotency key matched one.
            auto res =
                job_response(cj.created ? status::created : status::ok, cj.job);
            res.set(boost::beast::http::field::location,
                    "/v1/native/projects/" + cj.job.project_id + "/jobs/" +
                        cj.job.id.to_string());
            add_retry_after(res, cj.job.status);
            ex->reply(std::move(res));
          }));
}

void list(server_context& ctx, const exchange_ptr& ex, call& c) {
  list_query q;
  q.account_id = c.account_id;
  q.project_id = c.params[0];
  if (auto ok = read_list_filters(c, q); !ok)
    return reply_bad_request(ex, ok.error());
  for (auto [name, member] :
       {std::pair{"parent_id", &q.parent_id},
        std::pair{"original_job_id", &q.original_job_id}}) {
    if (auto text = query_param(c.target, name)) {
      auto id = job_id::parse(*text);
      if (!id) {
        return reply_bad_request(
            ex, error(errc::invalid_argument,
                      std::string("query parameter \"") + name +
                          "\" must be a job id (UUID)"));
      }
      *member = *id;
    }
  }
  auto page = ctx.engine.list(q);
  if (!page) return reply_error(ex, page.error());
  ex->reply(json_response(status::ok, to_json(*page)));
}

void get(server_context& ctx, const exchange_ptr& ex, call& c) {
  auto ref = job_in_path(ex, c);
  if (!ref) return;
  job_read read;
  read.ref = std::move(*ref);
  read.api = surface::native;
  // after_revision=N: wait for any change past revision N (a worker learns
  // of a cancel this way); without it, wait for the job to finish.
  auto after = query_uint(c.target, "after_revision");
  if (!after) return reply_bad_request(ex, after.error());
  if (*after) read.until = wait_condition::changed_after(**after);
  read.render = [](const job& j) { return job_response(status::ok, j); };
  answer_job_read(ctx, ex, c, std::move(read));
}

void start(server_context& ctx, const exchange_ptr& ex, call& c) {
  auto ref = job_in_path(ex, c);
  if (!ref) return;
  mutation_options opts;
  if (!read_body(ex, [&](wire::object_reader& o) {
        wire::read_mutation_members(o, "details", opts);
      })) {
    return;
  }
  async_start(ctx.engine, std::move(*ref), std::move(opts),
              mutation_answer(ex, "start"));
}

void progress(server_context& ctx, const exchange_ptr& ex, call& c) {
  auto ref = job_in_path(ex, c);
  if (!ref) return;
  jobstate::progress p;
  mutation_options opts;
  if (!read_body(ex, [&](wire::object_reader& o) {
        o.optional("percent", p.percent);
        o.optional("counts", p.counts);
        o.optional("details", p.details);
        wire::read_mutation_members(o, "event_details", opts);
      })) {
    return;
  }
  if (auto v = ctx.engine.check(p); !v) return reply_error(ex, v.error());
  async_report_progress(ctx.engine, std::move(*ref), std::move(p),
                        std::move(opts),
                        mutation_answer(ex, "report progress of"));
}

void complete(server_context& ctx, const exchange_ptr& ex, call& c) {
  auto ref = job_in_path(ex, c);
  if (!ref) return;
  completion done;
  mutation_options opts;
  if (!read_body(ex, [&](wire::object_reader& o) {
        read_outcome(o, done.status);
        o.optional("error", done.error);
        o.optional("result", done.result);
        wire::read_mutation_members(o, "details", opts);
        if (done.status == job_status::failed && !done.error &&
            !o.failures().failed()) {
          o.failures().fail(o.member_path("error"),
                            "required when status is failed: {\"code\", "
                            "\"message\"}");
        }
      })) {
    return;
  }
  async_complete(ctx.engine, std::move(*ref), std::move(done), std::move(opts),
                 mutation_answer(ex, "complete"));
}

void fail(server_context& ctx, const exchange_ptr& ex, call& c) {
  auto ref = job_in_path(ex, c);
  if (!ref) return;
  completion done;
  done.status = job_status::failed;
  mutation_options opts;
  if (!read_body(ex, [&](wire::object_reader& o) {
        std::optional<job_error> err;
        o.required("error", err);
        if (!err && !o.failures().failed()) {
          o.failures().fail(o.member_path("error"),
                            "required: {\"code\", \"message\"}");
        }
        done.error = std::move(err);
        o.optional("result", done.result);
        wire::read_mutation_members(o, "details", opts);
      })) {
    return;
  }
  async_complete(ctx.engine, std::move(*ref), std::move(done), std::move(opts),
                 mutation_answer(ex, "fail"));
}

void cancel(server_context& ctx, const exchange_ptr& ex, call& c) {
  auto ref = job_in_path(ex, c);
  if (!ref) return;
  std::string reason;
  mutation_options opts;
  if (!read_body(ex, [&](wire::object_reader& o) {
        o.optional("reason", reason);
        wire::read_mutation_members(o, "details", opts);
      })) {
    return;
  }
  async_cancel(ctx.engine, std::move(*ref), std::move(reason), std::move(opts),
               mutation_answer(ex, "cancel"));
}

void rerun(server_context& ctx, const exchange_ptr& ex, call& c) {
  auto ref = job_in_path(ex, c);
  if (!ref) return;
  rerun_options o;
  if (!read_body(ex, [&](wire::object_reader& body) {
        body.optional("correlation_id", o.correlation_id);
        body.optional("details", o.details);
      })) {
    return;
  }
  async_rerun(ctx.engine, std::move(*ref), std::move(o),
              mutation_answer(ex, "rerun", status::created));
}

}  // namespace jobstate::http::native
