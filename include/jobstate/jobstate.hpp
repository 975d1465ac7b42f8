// The whole public C++ API of jobstate in one include.
#ifndef JOBSTATE_JOBSTATE_HPP
#define JOBSTATE_JOBSTATE_HPP

#include <jobstate/check.hpp>
#include <jobstate/engine.hpp>
#include <jobstate/error.hpp>
#include <jobstate/job.hpp>
#include <jobstate/job_id.hpp>
#include <jobstate/options.hpp>
#include <jobstate/requests.hpp>
#include <jobstate/result.hpp>
#include <jobstate/stats.hpp>
#include <jobstate/status.hpp>

#endif  // JOBSTATE_JOBSTATE_HPP
