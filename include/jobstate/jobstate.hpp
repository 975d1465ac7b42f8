// The whole public C++ API of jobstate in one include: every header of
// include/jobstate/ but the C API (jobstate.h). Asynchronous operations
// (<jobstate/async.hpp>) bring in Boost.Asio's headers.
#ifndef JOBSTATE_JOBSTATE_HPP
#define JOBSTATE_JOBSTATE_HPP

#include <jobstate/async.hpp>
#include <jobstate/check.hpp>
#include <jobstate/engine.hpp>
#include <jobstate/error.hpp>
#include <jobstate/export.hpp>
#include <jobstate/job.hpp>
#include <jobstate/job_id.hpp>
#include <jobstate/json.hpp>
#include <jobstate/json_reader.hpp>
#include <jobstate/json_requests.hpp>
#include <jobstate/long_poll.hpp>
#include <jobstate/options.hpp>
#include <jobstate/requests.hpp>
#include <jobstate/result.hpp>
#include <jobstate/stats.hpp>
#include <jobstate/status.hpp>
#include <jobstate/timestamp.hpp>
#include <jobstate/wait.hpp>

#endif  // JOBSTATE_JOBSTATE_HPP
