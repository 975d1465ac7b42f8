// Reading one job over HTTP the same way on every surface: the path's id,
// then the long-poll wait the request asks for (`?wait=N`, `Prefer: wait=N`,
// see <jobstate/long_poll.hpp>), served by the engine's async_wait so that a
// pending long-poll holds no thread.
#ifndef JOBSTATE_HTTP_JOB_READS_HPP
#define JOBSTATE_HTTP_JOB_READS_HPP

#include <jobstate/requests.hpp>
#include <jobstate/wait.hpp>

#include "http/responses.hpp"
#include "http/router.hpp"

#include <functional>
#include <optional>

namespace jobstate::http {

/// Turns the job into the surface's answer (status code and body).
using job_renderer = std::function<response(const job&)>;

struct job_read {
  job_ref ref;
  surface api = surface::native;
  /// What ends the wait early; by default the job becoming terminal.
  wait_condition until = wait_condition::terminal();
  job_renderer render;
  /// What `render` needs read: a shape that shows no history sets
  /// with_history = false, so a poll decodes no history event.
  read_options reading;
};

/// The job id in a path segment; a malformed one names no job (not found).
std::optional<job_id> path_job_id(std::string_view segment);

/// The answer for a job id that names nothing the caller may see.
response job_not_found(surface api, std::string_view id_text);

/// Answers with `read.render(job)` once `read.until` holds or the requested
/// wait passed, whichever is first (at once without a wait), adding
/// Retry-After for an unfinished job and Preference-Applied when the wait
/// came from `Prefer`. A wait and a Prefer that disagree → 400. On drain a
/// pending wait ends at once with the current snapshot.
void answer_job_read(server_context& ctx, const exchange_ptr& ex, const call& c,
                     job_read read);

}  // namespace jobstate::http

#endif  // JOBSTATE_HTTP_JOB_READS_HPP
