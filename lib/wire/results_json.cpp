// The JSON shapes of the engine's answers other than a job
// (include/jobstate/json.hpp): changes, pages, batches, purges, stats.
#include <jobstate/json.hpp>
#include <jobstate/timestamp.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value_from.hpp>

namespace jobstate {

namespace json = boost::json;

void tag_invoke(const json::value_from_tag&, json::value& v, const change& c) {
  char at[timestamp_text_size];
  format_timestamp(c.at, at);
  json::object& o = v.emplace_object();
  o.reserve(8);
  o.emplace("sequence", c.sequence);
  o.emplace("at", json::string_view(at, sizeof at));
  o.emplace("id", c.id.to_string());
  o.emplace("account_id", c.account_id);
  o.emplace("project_id", c.project_id);
  o.emplace("status", to_string(c.status));
  o.emplace("revision", c.revision);
  o.emplace("step", c.step);
}

void tag_invoke(const json::value_from_tag&, json::value& v,
                const change_batch& b) {
  json::object& o = v.emplace_object();
  o.emplace("changes", json::value_from(b.changes, o.storage()));
  o.emplace("last_sequence", b.last_sequence);
}

void tag_invoke(const json::value_from_tag&, json::value& v,
                const job_page& page) {
  json::object& o = v.emplace_object();
  o.emplace("jobs", json::value_from(page.jobs, o.storage()));
  if (page.next_cursor.empty()) {
    o.emplace("next_cursor", nullptr);
  } else {
    o.emplace("next_cursor", page.next_cursor);
  }
}

void tag_invoke(const json::value_from_tag&, json::value& v,
                const created_batch& b) {
  json::object& o = v.emplace_object();
  o.emplace("parent", json::value_from(b.parent, o.storage()));
  o.emplace("child_ids", json::value_from(b.child_ids, o.storage()));
  o.emplace("created", b.created);
}

void tag_invoke(const json::value_from_tag&, json::value& v,
                const purge_result& r) {
  json::object& o = v.emplace_object();
  o.emplace("purged", r.purged);
  o.emplace("tombstones_expired", r.tombstones_expired);
  o.emplace("more", r.more);
}

void tag_invoke(const json::value_from_tag&, json::value& v,
                const wait_result& r) {
  json::object& o = v.emplace_object();
  o.emplace("job", json::value_from(r.job, o.storage()));
  o.emplace("timed_out", r.timed_out);
  o.emplace("satisfied_revision", r.satisfied_revision);
}

void tag_invoke(const json::value_from_tag&, json::value& v,
                const heartbeat_result& r) {
  json::object& o = v.emplace_object();
  o.emplace("job", json::value_from(r.job, o.storage()));
  o.emplace("cancelled", r.cancelled);
}

void tag_invoke(const json::value_from_tag&, json::value& v,
                const engine_stats& s) {
  json::object& o = v.emplace_object();
  json::object jobs(o.storage());
  for (job_status status : all_job_statuses) {
    jobs.emplace(to_string(status),
                 s.jobs_by_status[static_cast<std::size_t>(status)]);
  }
  o.emplace("jobs_by_status", std::move(jobs));
  json::object steps(o.storage());
  for (const auto& [step, n] : s.changes_by_step) steps.emplace(step, n);
  o.emplace("changes_by_step", std::move(steps));
  o.emplace("waits_pending", s.waits_pending);
  o.emplace("claims_pending", s.claims_pending);
  o.emplace("watches_pending", s.watches_pending);
  json::object commits(o.storage());
  commits.emplace(
      "bucket_bounds_seconds",
      json::value_from(s.commits.bucket_bounds_seconds, o.storage()));
  commits.emplace("bucket_counts",
                  json::value_from(s.commits.bucket_counts, o.storage()));
  commits.emplace("sum_seconds", s.commits.sum_seconds);
  commits.emplace("count", s.commits.count);
  o.emplace("commits", std::move(commits));
}

json::value to_json(const change& c) { return json::value_from(c); }
json::value to_json(const change_batch& b) { return json::value_from(b); }
json::value to_json(const job_page& p) { return json::value_from(p); }
json::value to_json(const created_batch& b) { return json::value_from(b); }
json::value to_json(const purge_result& r) { return json::value_from(r); }
json::value to_json(const wait_result& r) { return json::value_from(r); }
json::value to_json(const engine_stats& s) { return json::value_from(s); }
json::value to_json(const heartbeat_result& r) { return json::value_from(r); }

}  // namespace jobstate
