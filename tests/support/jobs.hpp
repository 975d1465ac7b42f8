// Helpers shared by the engine tests: request builders, drivers that bring a
// job to a given status, paging, and assertions on results.
#ifndef JOBSTATE_TESTS_SUPPORT_JOBS_HPP
#define JOBSTATE_TESTS_SUPPORT_JOBS_HPP

#include <jobstate/jobstate.hpp>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

// Readable GoogleTest output for our types (found by argument-dependent
// lookup).
namespace jobstate {
void PrintTo(job_status status, std::ostream* os);
void PrintTo(errc code, std::ostream* os);
void PrintTo(const job_id& id, std::ostream* os);
void PrintTo(const job& j, std::ostream* os);
}  // namespace jobstate

namespace jobstate::test {

/// The tenancy most tests use.
inline constexpr std::string_view account = "acme";
inline constexpr std::string_view project = "alpha";

/// A valid create request in account/project.
create_request make_request(std::string kind = "parse",
                            boost::json::value input = boost::json::object{
                                {"document", "report.pdf"}});

/// The reference naming `j` in its own tenancy.
job_ref ref_of(const job& j);

/// A query for the jobs of account/project.
list_query make_query(std::size_t limit = 50);

/// Creates a job or throws.
job create_job(engine& e, const create_request& request = make_request());

/// Creates a job and drives it to `status` (pending, running, any terminal
/// one; cancelled is reached from pending). Throws on any error.
job create_in_status(engine& e, job_status status,
                     const create_request& request = make_request());

/// The completion that takes a running job to `status` (a terminal status
/// other than cancelled): with a result, and with an error when failed.
completion completion_for(job_status status);

/// Every page of `query` (whose cursor is the start), concatenated. Throws
/// on error, or when the cursor does not advance.
std::vector<job> list_all(const engine& e, list_query query);

/// The ids of `jobs`, in order.
std::vector<job_id> ids_of(const std::vector<job>& jobs);

/// The option's name as the C API and the bindings spell it ("full",
/// "no_meta_sync", "no_sync").
std::string name_of(durability d);
/// Names the instances of a test parametrized by durability.
std::string durability_name(const testing::TestParamInfo<durability>& info);

/// A string of `size` bytes.
std::string text_of_size(std::size_t size, char fill = 'x');

/// A JSON string value whose serialized form has exactly `size` bytes
/// (the quotes included). REQUIRES: size >= 2.
boost::json::value json_of_serialized_size(std::size_t size);

/// Passes when `r` holds an error with code `expected`.
template <class T>
::testing::AssertionResult failed_with(const result<T>& r, errc expected) {
  if (r.has_value()) {
    return ::testing::AssertionFailure() << "succeeded; expected error "
                                         << make_error_code(expected).message();
  }
  if (r.code() == make_error_code(expected)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "failed with \"" << r.error().message() << "\" (" << r.code()
         << "); expected " << make_error_code(expected) << " ("
         << make_error_code(expected).message() << ")";
}

/// Passes when `r` holds a value.
template <class T>
::testing::AssertionResult ok(const result<T>& r) {
  if (r.has_value()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "failed with \"" << r.error().message() << "\" (" << r.code()
         << ")";
}

/// Passes when get(ref_of(before)) returns a job equal to `before`.
::testing::AssertionResult unchanged(const engine& e, const job& before);

}  // namespace jobstate::test

#endif  // JOBSTATE_TESTS_SUPPORT_JOBS_HPP
