// The clock the engine stamps mutations with. (Timestamps as text:
// <jobstate/timestamp.hpp>.)
#ifndef JOBSTATE_MODEL_TIME_HPP
#define JOBSTATE_MODEL_TIME_HPP

#include <jobstate/job.hpp>

namespace jobstate::model {

/// The current UTC time, truncated to microseconds.
timestamp now() noexcept;

}  // namespace jobstate::model

#endif  // JOBSTATE_MODEL_TIME_HPP
