// worker_cancel: a worker that stops as soon as its job is cancelled.
//
// The worker, a coroutine on an Asio io_context, starts a job and works on it
// in steps, reporting progress after each. During every step it also waits
// for its own job to change (wait_condition::changed_after the revision it
// last wrote). A client on another thread cancels the job part way through:
// the wait completes and the worker drops the step it was in. The program
// then prints how long after the client's request the worker found out.
//
// Usage: jobstate_example_worker_cancel [DATABASE_DIR]
//        (default: a new temporary directory, removed at the end)
#include <jobstate/async.hpp>
#include <jobstate/jobstate.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <variant>

namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using steady_clock = std::chrono::steady_clock;

constexpr int steps = 20;
constexpr auto step_time = std::chrono::milliseconds(50);
// How long the client lets the job run before cancelling it.
constexpr auto cancel_after = std::chrono::milliseconds(230);

// When the client asked for the cancellation, when its cancel() returned
// (the change durable), and when the worker noticed.
std::atomic<steady_clock::time_point> cancel_requested{};
std::atomic<steady_clock::time_point> cancel_returned{};
std::atomic<steady_clock::time_point> worker_noticed{};

// Prints one whole line; the worker and the client print from two threads.
template <class... Parts>
void say(const Parts&... parts) {
  static std::mutex mutex;
  std::ostringstream line;
  (line << ... << parts) << '\n';
  std::lock_guard lock(mutex);
  std::cout << line.str() << std::flush;
}

long long micros_between(steady_clock::time_point from,
                         steady_clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::microseconds>(to - from)
      .count();
}

// Runs the job `ref` names. Returns true when it stopped because the job was
// cancelled.
//
// GCC 12 destroys temporaries with non-trivial destructors twice when they
// appear inside a co_await expression, so each operation is first made into
// a named awaitable, then awaited.
asio::awaitable<bool> run_worker(jobstate::engine& engine,
                                 jobstate::job_ref ref) {
  const auto executor = co_await asio::this_coro::executor;
  // Operations complete with a tuple (error_code, ...) instead of throwing,
  // so that the race below sees the wait's errors too.
  constexpr auto token = asio::as_tuple(asio::use_awaitable);
  const jobstate::mutation_options no_options;

  auto starting = jobstate::async_start(engine, ref, no_options, token);
  auto [start_error, started] = co_await std::move(starting);
  if (start_error) {
    say("worker: cannot start: ", start_error.message());
    co_return false;
  }
  say("worker: started job ", started.id.to_string(), " (revision ",
      started.revision, ")");
  // What "changed" is measured against: the revision this worker last wrote.
  // Its own progress reports change the job too, so it moves on with each.
  std::uint64_t revision = started.revision;

  for (int step = 1; step <= steps;) {
    // One step of work (here, a timer) against a change to the job: the
    // first to complete wins, and the other is cancelled.
    asio::steady_timer work(executor, step_time);
    const auto changed = jobstate::wait_condition::changed_after(revision);
    auto step_done = work.async_wait(token);
    auto job_changed = jobstate::async_wait(engine, ref, changed,
                                            jobstate::wait_forever, token);
    auto first_of = std::move(step_done) || std::move(job_changed);
    auto winner = co_await std::move(first_of);

    if (winner.index() == 1) {
      auto& [wait_error, answer] = std::get<1>(winner);
      if (wait_error) {
        say("worker: waiting failed: ", wait_error.message());
        co_return false;
      }
      const jobstate::job& now = answer.job;
      if (now.status == jobstate::job_status::cancelled) {
        worker_noticed.store(steady_clock::now());
        say("worker: job cancelled (\"", now.error ? now.error->message : "",
            "\") during step ", step, "; stopping");
        co_return true;
      }
      if (jobstate::is_terminal(now.status)) {
        say("worker: the job ended elsewhere, ",
            jobstate::to_string(now.status));
        co_return false;
      }
      // Changed by someone else, still running: redo the step from there.
      revision = now.revision;
      continue;
    }

    // The step is done: record it. A cancel that commits between the end of
    // the step and this report makes the report fail with
    // illegal_transition, and the job that comes with the error shows why.
    jobstate::progress p;
    p.percent = 100.0 * step / steps;
    p.details = {{"step", step}};
    auto reporting =
        jobstate::async_report_progress(engine, ref, p, no_options, token);
    auto [report_error, reported] = co_await std::move(reporting);
    if (report_error) {
      if (reported.status == jobstate::job_status::cancelled) {
        worker_noticed.store(steady_clock::now());
        say("worker: progress report refused, the job was cancelled; "
            "stopping");
        co_return true;
      }
      say("worker: cannot report progress: ", report_error.message());
      co_return false;
    }
    revision = reported.revision;
    say("worker: step ", step, "/", steps, " done, ",
        reported.progress.percent.value_or(0), "%");
    ++step;
  }

  jobstate::completion done;
  done.result = {{"steps", steps}};
  auto completing =
      jobstate::async_complete(engine, ref, done, no_options, token);
  auto [complete_error, completed] = co_await std::move(completing);
  say("worker: all steps done, the job ",
      complete_error ? complete_error.message()
                     : std::string(jobstate::to_string(completed.status)));
  co_return false;
}

// The client: waits (blocking, no Asio needed) until the worker has started
// the job, lets it run a moment, then cancels it.
void run_client(jobstate::engine& engine, const jobstate::job_ref& ref) {
  const auto running =
      jobstate::wait_condition::status_in({jobstate::job_status::running});
  auto started = engine.wait(ref, running, std::chrono::seconds(5));
  if (!started || started->timed_out) {
    say("client: the job did not start: ",
        started ? "timed out" : started.error().message());
    return;
  }
  std::this_thread::sleep_for(cancel_after);
  say("client: cancelling job ", ref.id.to_string());
  cancel_requested.store(steady_clock::now());
  auto cancelled = engine.cancel(ref, "the customer withdrew the request");
  cancel_returned.store(steady_clock::now());
  if (cancelled) {
    say("client: job cancelled at revision ", cancelled->revision);
  } else {
    say("client: cancel refused: ", cancelled.error().message());
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string temporary;  // Set when this program made the directory.
  jobstate::options options;
  if (argc > 1) {
    options.path = argv[1];
  } else {
    std::string name =
        (std::filesystem::temp_directory_path() / "jobstate-worker-XXXXXX")
            .string();
    if (::mkdtemp(name.data()) == nullptr) {
      std::cerr << "worker_cancel: cannot make a temporary directory\n";
      return 1;
    }
    options.path = temporary = name;
  }

  bool stopped_by_cancel = false;
  try {
    auto engine = jobstate::engine::open(options).value();

    jobstate::create_request request;
    request.account_id = "acme";
    request.project_id = "reports";
    request.kind = "render";
    request.input = {{"report", "quarterly"}};
    const jobstate::job job = engine->create(request).value().job;
    const jobstate::job_ref ref{job.account_id, job.project_id, job.id};

    asio::io_context io;
    std::exception_ptr failure;
    asio::co_spawn(io, run_worker(*engine, ref),
                   [&](std::exception_ptr e, bool cancelled) {
                     failure = e;
                     stopped_by_cancel = cancelled;
                   });
    std::thread client([&] { run_client(*engine, ref); });
    io.run();  // Until the worker returns.
    client.join();
    if (failure) std::rethrow_exception(failure);
    if (stopped_by_cancel) {
      // The cancel's commit, fsync included, makes most of the first number;
      // the worker hears of it as soon as it is durable.
      const auto asked = cancel_requested.load();
      say("the worker noticed the cancel ",
          micros_between(asked, worker_noticed.load()),
          " us after the client asked; the client's cancel() returned after ",
          micros_between(asked, cancel_returned.load()), " us");
    }
  } catch (const jobstate::system_error& e) {
    std::cerr << "worker_cancel: " << e.error().message() << '\n';
    stopped_by_cancel = false;
  } catch (const std::exception& e) {
    std::cerr << "worker_cancel: " << e.what() << '\n';
    stopped_by_cancel = false;
  }

  if (!temporary.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(temporary, ignored);
  }
  return stopped_by_cancel ? 0 : 1;
}
