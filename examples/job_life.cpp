// job_life: one job's life through the jobstate API. It creates a job, starts
// it, reports progress, completes it, reruns it and cancels the rerun,
// printing each step; then it prints the finished job as JSON.
//
// Usage: jobstate_example_job_life [DATABASE_DIR]   (default ./jobstate-data)
#include <jobstate/jobstate.hpp>
#include <jobstate/json.hpp>

#include <boost/json.hpp>

#include <iomanip>
#include <iostream>
#include <iterator>
#include <string>
#include <string_view>

namespace {

// One line per step: what happened, the job's status and revision.
void print_step(std::string_view step, const jobstate::job& job) {
  std::cout << std::left << std::setw(10) << step << " job "
            << job.id.to_string() << "  " << std::setw(10)
            << jobstate::to_string(job.status) << " revision " << job.revision
            << '\n';
}

// Prints JSON indented, two spaces a level (Boost.JSON prints it compactly).
void print_pretty(const boost::json::value& value, int indent = 0) {
  const std::string pad(indent + 2, ' ');
  if (const auto* object = value.if_object(); object && !object->empty()) {
    std::cout << "{\n";
    for (auto it = object->begin(); it != object->end(); ++it) {
      std::cout << pad << boost::json::serialize(it->key()) << ": ";
      print_pretty(it->value(), indent + 2);
      std::cout << (std::next(it) != object->end() ? ",\n" : "\n");
    }
    std::cout << std::string(indent, ' ') << '}';
  } else if (const auto* array = value.if_array(); array && !array->empty()) {
    std::cout << "[\n";
    for (auto it = array->begin(); it != array->end(); ++it) {
      std::cout << pad;
      print_pretty(*it, indent + 2);
      std::cout << (std::next(it) != array->end() ? ",\n" : "\n");
    }
    std::cout << std::string(indent, ' ') << ']';
  } else {
    std::cout << boost::json::serialize(value);
  }
}

}  // namespace

int main(int argc, char** argv) {
  jobstate::options options;
  options.path = argc > 1 ? argv[1] : "./jobstate-data";

  // Every call returns a jobstate::result; value() throws when it holds an
  // error, which keeps this walk-through short.
  try {
    auto engine = jobstate::engine::open(options).value();

    jobstate::create_request request;
    request.account_id = "acme";
    request.project_id = "invoices";
    request.kind = "parse";
    request.input = {{"file", "invoice-42.pdf"}, {"pages", 2}};
    request.source_id = "invoice-42";
    const jobstate::job job = engine->create(request).value().job;
    print_step("created", job);

    // A job is named by its tenancy (account, project) and its id.
    const jobstate::job_ref ref{job.account_id, job.project_id, job.id};
    print_step("started", engine->start(ref).value());

    jobstate::progress progress;
    progress.percent = 40;
    progress.details = {{"pages_done", 1}};
    print_step("progress", engine->report_progress(ref, progress).value());
    progress.percent = 80;
    progress.details = {{"pages_done", 2}};
    print_step("progress", engine->report_progress(ref, progress).value());

    jobstate::completion done;
    done.status = jobstate::job_status::succeeded;
    done.result = {{"total", "118.00"}, {"currency", "EUR"}};
    print_step("completed", engine->complete(ref, done).value());

    // A rerun is a new pending job with the same input. Cancel it.
    const jobstate::job rerun = engine->rerun(ref).value();
    print_step("rerun", rerun);
    const jobstate::job_ref rerun_ref{ref.account_id, ref.project_id, rerun.id};
    print_step("cancelled",
               engine->cancel(rerun_ref, "not needed after all").value());

    std::cout << "\nThe finished job:\n";
    print_pretty(jobstate::to_json(engine->get(ref).value()));
    std::cout << '\n';
  } catch (const jobstate::system_error& e) {
    std::cerr << "job_life: " << e.error().message() << '\n';
    return 1;
  }
}
