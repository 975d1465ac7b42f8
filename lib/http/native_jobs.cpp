// The native API's jobs: create, list, get (long-poll), the worker
// operations (start, progress, complete, fail), cancel and rerun.
#include <jobstate/async.hpp>
#include <jobstate/json.hpp>

#include "http/handlers.hpp"
#include "http/job_reads.hpp"
#include "http/native_common.hpp"
#include "http/request_parts.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/json/value_to.hpp>

namespace jobstate::http::native {

namespace json = boost::json;

namespace {

// The body as an object with only `allowed` members, or nothing after
// answering 400.
std::optional<json::object> body_with(
    const exchange_ptr& ex, std::initializer_list<std::string_view> allowed) {
  auto body = json_body(ex->req());
  if (!body) {
    ex->reply(error_response(surface::native, status::bad_request,
                             "invalid_json", body.error().detail()));
    return std::nullopt;
  }
  if (auto ok = only_members(*body, allowed); !ok) {
    ex->reply(error_response(surface::native, status::bad_request,
                             "invalid_argument", ok.error().detail()));
    return std::nullopt;
  }
  return std::move(*body);
}

void bad_request(const exchange_ptr& ex, const jobstate::error& e) {
  ex->reply(error_response(surface::native, status::bad_request,
                           "invalid_argument", e.detail()));
}

// expected_revision and details, members every mutation accepts.
std::optional<mutation_options> mutation_opts(const exchange_ptr& ex,
                                              const json::object& body,
                                              std::string_view details_member) {
  auto rev = optional_uint(body, "expected_revision");
  if (!rev) {
    bad_request(ex, rev.error());
    return std::nullopt;
  }
  mutation_options o;
  o.expected_revision = *rev;
  o.details = optional_value(body, details_member);
  return o;
}

// {"code": string, "message": string}, either optional.
result<std::optional<job_error>> error_member(const json::object& body) {
  auto it = body.find("error");
  if (it == body.end() || it->value().is_null()) {
    return std::optional<job_error>{};
  }
  const auto* o = it->value().if_object();
  if (!o) {
    return error(errc::invalid_argument,
                 "member \"error\" must be an object {\"code\": string, "
                 "\"message\": string}");
  }
  auto code = optional_string(*o, "code");
  if (!code) return code.error();
  auto message = optional_string(*o, "message");
  if (!message) return message.error();
  return std::optional<job_error>(
      job_error{code->value_or(""), message->value_or("")});
}

}  // namespace

void create(server_context& ctx, const exchange_ptr& ex, call& c) {
  auto body = body_with(ex, {"kind", "input", "source_id", "correlation_id",
                             "idempotency_key", "details"});
  if (!body) return;
  create_request r;
  r.account_id = c.account_id;
  r.project_id = c.params[0];
  auto kind = required_string(*body, "kind");
  auto source = optional_string(*body, "source_id");
  auto correlation = optional_string(*body, "correlation_id");
  auto key = optional_string(*body, "idempotency_key");
  for (const auto* e :
       {&kind.error(), &source.error(), &correlation.error(), &key.error()}) {
    if (*e) return bad_request(ex, *e);
  }
  r.kind = std::move(*kind);
  r.source_id = std::move(*source);
  r.correlation_id = std::move(*correlation);
  r.idempotency_key = std::move(*key);
  if (auto header = ex->req().find("idempotency-key");
      header != ex->req().end()) {
    const std::string from_header(header->value());
    if (r.idempotency_key && *r.idempotency_key != from_header) {
      return bad_request(
          ex, error(errc::invalid_argument,
                    "the Idempotency-Key header and the body's "
                    "idempotency_key differ: send one, or the same in both"));
    }
    r.idempotency_key = from_header;
  }
  r.input = optional_value(*body, "input");
  r.details = optional_value(*body, "details");
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
    return bad_request(ex, ok.error());
  for (auto [name, member] :
       {std::pair{"parent_id", &q.parent_id},
        std::pair{"original_job_id", &q.original_job_id}}) {
    if (auto text = query_param(c.target, name)) {
      auto id = job_id::parse(*text);
      if (!id) {
        return bad_request(ex, error(errc::invalid_argument,
                                     std::string("query parameter \"") + name +
                                         "\" must be a job id (UUID)"));
      }
      *member = *id;
    }
  }
  auto page = ctx.engine.list(q);
  if (!page) return reply_error(ex, page.error());
  ex->reply(json_response(status::ok, page_json(*page)));
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
  if (!after) return bad_request(ex, after.error());
  if (*after) read.until = wait_condition::changed_after(**after);
  read.render = [](const job& j) { return job_response(status::ok, j); };
  answer_job_read(ctx, ex, c, std::move(read));
}

void start(server_context& ctx, const exchange_ptr& ex, call& c) {
  auto ref = job_in_path(ex, c);
  if (!ref) return;
  auto body = body_with(ex, {"expected_revision", "details"});
  if (!body) return;
  auto opts = mutation_opts(ex, *body, "details");
  if (!opts) return;
  async_start(ctx.engine, std::move(*ref), std::move(*opts),
              mutation_answer(ex, "start"));
}

void progress(server_context& ctx, const exchange_ptr& ex, call& c) {
  auto ref = job_in_path(ex, c);
  if (!ref) return;
  auto body = body_with(ex, {"percent", "counts", "details",
                             "expected_revision", "event_details"});
  if (!body) return;
  auto opts = mutation_opts(ex, *body, "event_details");
  if (!opts) return;
  jobstate::progress p;
  auto percent = optional_number(*body, "percent");
  if (!percent) return bad_request(ex, percent.error());
  p.percent = *percent;
  if (auto it = body->find("counts");
      it != body->end() && !it->value().is_null()) {
    auto counts = json::try_value_to<progress_counts>(it->value());
    if (!counts) {
      return bad_request(
          ex, error(errc::invalid_argument,
                    "member \"counts\" must be {\"total\", \"succeeded\", "
                    "\"failed\", \"cancelled\", \"pending\"} of integers"));
    }
    p.counts = *counts;
  }
  p.details = optional_value(*body, "details");
  async_report_progress(ctx.engine, std::move(*ref), std::move(p),
                        std::move(*opts),
                        mutation_answer(ex, "report progress of"));
}

void complete(server_context& ctx, const exchange_ptr& ex, call& c) {
  auto ref = job_in_path(ex, c);
  if (!ref) return;
  auto body = body_with(
      ex, {"status", "result", "error", "expected_revision", "details"});
  if (!body) return;
  auto opts = mutation_opts(ex, *body, "details");
  if (!opts) return;
  completion done;
  auto st = optional_string(*body, "status");
  if (!st) return bad_request(ex, st.error());
  if (*st) {
    auto parsed = parse_job_status(**st);
    if (!parsed || (*parsed != job_status::succeeded &&
                    *parsed != job_status::partially_succeeded &&
                    *parsed != job_status::failed)) {
      return bad_request(ex, error(errc::invalid_argument,
                                   "member \"status\" must be succeeded, "
                                   "partially_succeeded or failed"));
    }
    done.status = *parsed;
  }
  auto err = error_member(*body);
  if (!err) return bad_request(ex, err.error());
  done.error = std::move(*err);
  if (done.status == job_status::failed && !done.error) {
    return bad_request(ex, error(errc::invalid_argument,
                                 "a failed job needs member \"error\" "
                                 "{\"code\", \"message\"}"));
  }
  done.result = optional_value(*body, "result");
  async_complete(ctx.engine, std::move(*ref), std::move(done), std::move(*opts),
                 mutation_answer(ex, "complete"));
}

void fail(server_context& ctx, const exchange_ptr& ex, call& c) {
  auto ref = job_in_path(ex, c);
  if (!ref) return;
  auto body =
      body_with(ex, {"error", "result", "expected_revision", "details"});
  if (!body) return;
  auto opts = mutation_opts(ex, *body, "details");
  if (!opts) return;
  auto err = error_member(*body);
  if (!err) return bad_request(ex, err.error());
  if (!*err) {
    return bad_request(ex, error(errc::invalid_argument,
                                 "member \"error\" {\"code\", \"message\"} is "
                                 "required"));
  }
  completion done;
  done.status = job_status::failed;
  done.error = std::move(*err);
  done.result = optional_value(*body, "result");
  async_complete(ctx.engine, std::move(*ref), std::move(done), std::move(*opts),
                 mutation_answer(ex, "fail"));
}

void cancel(server_context& ctx, const exchange_ptr& ex, call& c) {
  auto ref = job_in_path(ex, c);
  if (!ref) return;
  auto body = body_with(ex, {"reason", "expected_revision", "details"});
  if (!body) return;
  auto opts = mutation_opts(ex, *body, "details");
  if (!opts) return;
  auto reason = optional_string(*body, "reason");
  if (!reason) return bad_request(ex, reason.error());
  async_cancel(ctx.engine, std::move(*ref), reason->value_or(""),
               std::move(*opts), mutation_answer(ex, "cancel"));
}

void rerun(server_context& ctx, const exchange_ptr& ex, call& c) {
  auto ref = job_in_path(ex, c);
  if (!ref) return;
  auto body = body_with(ex, {"correlation_id", "details"});
  if (!body) return;
  rerun_options o;
  auto correlation = optional_string(*body, "correlation_id");
  if (!correlation) return bad_request(ex, correlation.error());
  o.correlation_id = std::move(*correlation);
  o.details = optional_value(*body, "details");
  async_rerun(ctx.engine, std::move(*ref), std::move(o),
              mutation_answer(ex, "rerun", status::created));
}

}  // namespace jobstate::http::native
