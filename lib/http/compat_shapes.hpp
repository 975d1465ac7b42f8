// The JSON shape of a job on each compatibility surface, as its published
// document gives it (/work/shared/api-docs, docs/http-api.md). Built from the
// native shape (<jobstate/json.hpp>), so timestamps render the same way
// everywhere. Pure functions.
#ifndef JOBSTATE_HTTP_COMPAT_SHAPES_HPP
#define JOBSTATE_HTTP_COMPAT_SHAPES_HPP

#include <jobstate/job.hpp>

#include <boost/json/value.hpp>

#include <string_view>
#include <vector>

namespace jobstate::http {

/// Scale GP "Get Job". `children` are a batch's children (oldest first), for
/// progress.child_jobs; empty for a lone job.
boost::json::value scale_gp_job(const job& j, const std::vector<job>& children);

/// The generic jobs API's `data`: camelCase, statuses pending, running,
/// completed (succeeded and partially_succeeded), failed, cancelled;
/// `progress` 0 to 100, 100 only once completed; a failed or cancelled job's
/// `result` carries its `error`.
boost::json::value jobs_api_job(const job& j);
std::string_view jobs_api_status(job_status s);

/// GC AI "Get async job status": statuses pending, running, succeeded
/// (partially_succeeded too), failed, canceled.
boost::json::value gc_ai_job(const job& j);
std::string_view gc_ai_status(job_status s);

}  // namespace jobstate::http

#endif  // JOBSTATE_HTTP_COMPAT_SHAPES_HPP
