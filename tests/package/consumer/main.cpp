// Opens an engine in a new temporary directory, creates a job and reads it
// back. Exits 0 when all of that works.
#include <jobstate/jobstate.hpp>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

namespace {

int fail(const char* what, const jobstate::error& e) {
  std::cerr << "consumer: " << what << ": " << e.message() << '\n';
  return 1;
}

int create_and_get(const std::string& dir) {
  jobstate::options options;
  options.path = dir;
  auto engine = jobstate::engine::open(options);
  if (!engine) return fail("open", engine.error());

  jobstate::create_request request;
  request.account_id = "account";
  request.project_id = "project";
  request.kind = "consume";
  auto created = (*engine)->create(request);
  if (!created) return fail("create", created.error());

  const jobstate::job& job = created->job;
  auto got = (*engine)->get({job.account_id, job.project_id, job.id});
  if (!got) return fail("get", got.error());
  if (got->id != job.id || got->status != jobstate::job_status::pending) {
    std::cerr << "consumer: get returned another job\n";
    return 1;
  }
  std::cout << "consumer: created and read back job " << got->id.to_string()
            << '\n';
  return 0;
}

}  // namespace

int main() {
  std::string dir =
      (std::filesystem::temp_directory_path() / "jobstate-consumer-XXXXXX")
          .string();
  if (::mkdtemp(dir.data()) == nullptr) {
    std::cerr << "consumer: cannot make a temporary directory\n";
    return 1;
  }
  const int status = create_and_get(dir);
  std::filesystem::remove_all(dir);
  return status;
}
