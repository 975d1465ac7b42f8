// Routes for operators: /healthz and /metrics (Prometheus text format).
#include "http/handlers.hpp"
#include "http/responses.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/json/object.hpp>

#include <cstdio>
#include <string>

namespace jobstate::http {

namespace {

void line(std::string& out, std::string_view name, std::string_view labels,
          double value) {
  char number[64];
  std::snprintf(number, sizeof number, "%.17g", value);
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  out += number;
  out += '\n';
}

void header(std::string& out, std::string_view name, std::string_view type,
            std::string_view help) {
  out += "# HELP " + std::string(name) + " " + std::string(help) + "\n";
  out += "# TYPE " + std::string(name) + " " + std::string(type) + "\n";
}

}  // namespace

void ops::healthz(server_context& ctx, const exchange_ptr& ex, call&) {
  // Healthy when the database answers a read.
  auto last = ctx.engine.last_sequence();
  if (!last) {
    ex->reply(error_response(surface::native, status::service_unavailable,
                             "unhealthy", last.error().message()));
    return;
  }
  ex->reply(json_response(
      status::ok,
      boost::json::object{{"status", "ok"}, {"last_sequence", *last}}));
}

void ops::metrics(server_context& ctx, const exchange_ptr& ex, call&) {
  auto stats = ctx.engine.stats();
  if (!stats) {
    ex->reply(engine_error_response(surface::native, stats.error()));
    return;
  }
  std::string out;
  header(out, "jobstate_jobs", "gauge", "Jobs stored, by status.");
  for (job_status s : all_job_statuses) {
    line(out, "jobstate_jobs", "status=\"" + std::string(to_string(s)) + "\"",
         static_cast<double>(stats->jobs_by_status[static_cast<int>(s)]));
  }
  header(out, "jobstate_transitions_total", "counter",
         "Changes committed since the server started, by history step.");
  for (const auto& [step, n] : stats->changes_by_step) {
    line(out, "jobstate_transitions_total", "step=\"" + step + "\"",
         static_cast<double>(n));
  }
  header(out, "jobstate_waiters_pending", "gauge",
         "Engine waits (long-polls) pending.");
  line(out, "jobstate_waiters_pending", "",
       static_cast<double>(stats->waits_pending));
  header(out, "jobstate_claims_pending", "gauge",
         "Worker claims (long-polls for work) pending.");
  line(out, "jobstate_claims_pending", "",
       static_cast<double>(stats->claims_pending));
  header(
      out, "jobstate_watches_pending", "gauge",
      "Engine change-feed watches (feed long-polls, event streams) pending.");
  line(out, "jobstate_watches_pending", "",
       static_cast<double>(stats->watches_pending));
  header(out, "jobstate_commit_latency_seconds", "histogram",
         "Time to commit one group of mutations, fsync included.");
  std::uint64_t cumulative = 0;
  const auto& lat = stats->commits;
  for (std::size_t i = 0; i < lat.bucket_bounds_seconds.size(); ++i) {
    cumulative += lat.bucket_counts[i];
    char le[32];
    std::snprintf(le, sizeof le, "%g", lat.bucket_bounds_seconds[i]);
    line(out, "jobstate_commit_latency_seconds_bucket",
         "le=\"" + std::string(le) + "\"", static_cast<double>(cumulative));
  }
  line(out, "jobstate_commit_latency_seconds_bucket", "le=\"+Inf\"",
       static_cast<double>(lat.count));
  line(out, "jobstate_commit_latency_seconds_sum", "", lat.sum_seconds);
  line(out, "jobstate_commit_latency_seconds_count", "",
       static_cast<double>(lat.count));
  const auto& c = ctx.counters;
  const auto gauge = [&](std::string_view name, std::string_view help,
                         const std::atomic<std::uint64_t>& v,
                         std::string_view type = "gauge") {
    header(out, name, type, help);
    line(out, name, "", static_cast<double>(v.load(std::memory_order_relaxed)));
  };
  gauge("jobstated_connections_open", "HTTP connections open.",
        c.connections_open);
  gauge("jobstated_connections_accepted_total", "HTTP connections accepted.",
        c.connections_accepted, "counter");
  gauge("jobstated_connections_refused_total",
        "Connections refused at the connection limit.", c.connections_refused,
        "counter");
  gauge("jobstated_requests_total", "HTTP requests received.", c.requests,
        "counter");
  gauge("jobstated_long_polls_pending",
        "HTTP long-polls (job waits and feed waits) pending.",
        c.long_polls_pending);
  gauge("jobstated_event_streams_open", "Server-Sent Events streams open.",
        c.sse_streams_open);
  response res{status::ok, 11};
  res.set(boost::beast::http::field::content_type,
          "text/plain; version=0.0.4; charset=utf-8");
  res.body() = std::move(out);
  ex->reply(std::move(res));
}

}  // namespace jobstate::http
