// Waiting: how soon a waiter hears of a commit, what a pending waiter
// costs, and what a commit pays for notifications when nobody waits.
//
//  - wait/latency/waiters:W/load:L/xproc:X/inline:I/blocking:B —
//    commit-to-handler latency. A measuring thread runs lifecycles (default
//    durability); before each of a job's start, progress and complete it
//    registers async_wait(changed_after(revision)) with a callback, bound to
//    an io_context run by a thread of its own, that stamps steady_clock::now().
//    The mutation goes through the engine's commit queue exactly as
//    engine::start & co. do, except that its completion reads the commit stamp:
//    the time its commit became durable (commit_queue::last_durable, taken
//    before waiters are notified). p50_us/p99_us: handler stamp minus commit
//    stamp. W - 1 further waiters stay pending on other jobs that never change
//    (W = 1, or JOBSTATE_BENCH_WAITERS, 1000 by default, scripts/bench uses
//    10000). With L = 1 the engine also carries the lifecycle load: 64
//    lifecycles in flight through the asynchronous API from another thread.
//    caller_p50_us/caller_p99_us: handler stamp minus the time the blocking
//    call returned in the measuring thread (the approximation available without
//    the commit stamp; can be negative). X = 1: default options; X = 0:
//    cross_process_notifications off, to show what the cross-process doorbell
//    does to the latency (with it on, the engine's io thread, woken by inotify,
//    races the committer to complete the waiter). I = 1: the callback is not
//    bound to an executor, so it runs on the engine's executor
//    (engine::get_executor(), the engine's own handler thread); before that
//    executor existed, the engine ran such a callback inline on the thread that
//    delivered it. Pending waiters' callbacks always go to the io_context.
//    B = 1: the measuring thread makes the public blocking calls
//    (engine::start & co.) instead, which commit on its own thread (no
//    commit is ever under way without load, so only with L = 0): the
//    commit stamp is last_durable read after the call returned, exact here
//    since only its own writes commit. Shows the blocking caller handing
//    the waiter over itself rather than through the notifier thread.
//  - wait/post_baseline/load:L — the floor under that latency: a handler
//    posted from one thread to an io_context run by another (the last step
//    of the engine's delivery), with and without the same load.
//  - wait/condvar_baseline/load:L — the floor under that: a bare
//    std::condition_variable hand-off to a thread asleep on it.
//  - wait/memory: heap (mallinfo2) and resident memory added by
//    JOBSTATE_BENCH_PENDING_WAITERS (default 10000, scripts/bench 100000)
//    pending waits on as many jobs, per waiter.
//  - wait/commit_cost/<durability>: one producer's lifecycles on three
//    engines in turn, nobody waiting on any: A with default options
//    (cross_process_notifications on: each commit writes the commit-signal
//    file and the engine's io thread reads the latest sequence on the inotify
//    event), B with cross_process_notifications off (no notification work at
//    all: the only remaining step is one atomic load that sees no waiter),
//    C as B plus one waiter pending on an unrelated job (every commit looks
//    up the committed ids in the waiter registry). Counters: median time per
//    write of each (from per-lifecycle times), process CPU per write of each
//    (all threads, charged per block of lifecycles), and A's and C's
//    overhead over B in percent.
#include <jobstate/async.hpp>

#include "bench_support.hpp"
#include "engine/commit_queue.hpp"
#include "engine/engine_impl.hpp"
#include "engine/mutations.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

namespace jobstate::bench {
namespace {

namespace asio = boost::asio;

// An io_context with a thread of its own running it until destroyed.
class io_thread {
 public:
  io_thread() : work_(io_.get_executor()), thread_([this] { io_.run(); }) {}
  ~io_thread() {
    work_.reset();
    thread_.join();
  }
  io_thread(const io_thread&) = delete;
  io_thread& operator=(const io_thread&) = delete;
  asio::io_context& io() { return io_; }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

// engine::start & co. as the engine runs them (validate, queue, block until
// durable), reading into `committed` when the write's commit became durable.
job mutate_stamped(engine& e, engine_detail::job_mutation m,
                   clock::time_point& committed) {
  auto& impl = engine_access::of(e);
  if (auto v = engine_detail::validate(m, impl.opts_.limits); !v) {
    fail("validate", v.error());
  }
  std::promise<result<job>> done;
  auto answer = done.get_future();
  auto refused = impl.queue_->submit(engine_detail::make_write<job>(
      [m = std::move(m), &impl](store::write_txn& w, timestamp now) {
        return engine_detail::apply(w, m, now, impl.opts_.limits);
      },
      [&committed, &impl, done = std::move(done)](result<job> r) mutable {
        committed = impl.queue_->last_durable();
        done.set_value(std::move(r));
      }));
  if (refused) fail("the engine refused a write");
  auto r = answer.get();
  if (!r) fail("mutation", r.error());
  return std::move(*r);
}

// The same mutation through the public blocking call, which commits on the
// calling thread when no commit is under way (always, without load).
job mutate_blocking(engine& e, const engine_detail::job_mutation& m) {
  result<job> r = error(errc::invalid_argument, "not a lifecycle step");
  if (const auto* s = std::get_if<engine_detail::start_op>(&m)) {
    r = e.start(s->ref, s->opts);
  } else if (const auto* p = std::get_if<engine_detail::progress_op>(&m)) {
    r = e.report_progress(p->ref, p->p, p->opts);
  } else if (const auto* c = std::get_if<engine_detail::complete_op>(&m)) {
    r = e.complete(c->ref, c->c, c->opts);
  }
  if (!r) fail("mutation", r.error());
  return std::move(*r);
}

// Background lifecycle load: 64 in flight from a thread of its own.
class lifecycle_load {
 public:
  explicit lifecycle_load(engine& e)
      : pipeline_(e, io_, 64), thread_([this] { run(); }) {}
  ~lifecycle_load() {
    stop_.store(true);
    thread_.join();
  }
  lifecycle_load(const lifecycle_load&) = delete;
  lifecycle_load& operator=(const lifecycle_load&) = delete;
  std::uint64_t completed() const { return completed_.load(); }

 private:
  void run() {
    auto work = asio::make_work_guard(io_);
    pipeline_.start();
    while (!stop_.load()) {
      io_.run_one();
      completed_.store(pipeline_.completed());
    }
    pipeline_.stop();
    while (pipeline_.active() > 0) io_.run_one();
    // The engine releases the work it tracked on io_ just after queueing a
    // handler: run until it has, or io_ could die under it.
    work.reset();
    io_.run();
  }
  asio::io_context io_;
  lifecycle_pipeline pipeline_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> completed_{0};
  std::thread thread_;
};

// A handler's stamp, handed from the handler thread to the measuring one.
struct stamp {
  std::atomic<bool> fired{false};
  clock::time_point at;
};

void bm_wait_latency(benchmark::State& state) {
  const auto waiters = static_cast<std::uint64_t>(state.range(0));
  const bool loaded = state.range(1) != 0;
  const bool cross_process = state.range(2) != 0;
  const bool run_inline = state.range(3) != 0;
  const bool blocking = state.range(4) != 0;
  // Declared first: pending waiters' handlers use it until `handlers` stops.
  std::atomic<std::uint64_t> unexpected{0};
  scratch_dir dir("wait-latency");
  auto opts = engine_options(dir.path(), durability::full);
  opts.cross_process_notifications = cross_process;
  auto eng = open_engine(opts);
  io_thread handlers;

  // The waiters that stay pending, on jobs that never change.
  if (waiters > 1) {
    for (const job_id& id : load_jobs(*eng, waiters - 1, 0)) {
      async_wait(
          *eng, ref_to(id), wait_condition::changed_after(1), wait_forever,
          asio::bind_executor(
              handlers.io(),
              [&unexpected](boost::system::error_code ec, const wait_result&) {
                if (ec != asio::error::operation_aborted) ++unexpected;
              }));
    }
  }
  std::unique_ptr<lifecycle_load> load;
  if (loaded) load = std::make_unique<lifecycle_load>(*eng);

  std::vector<std::uint32_t> latencies;
  std::vector<std::int64_t> caller;
  std::uint64_t n = 0;
  for (auto _ : state) {
    auto created = eng->create(make_create(n));
    if (!created) fail("create", created.error());
    const job_ref ref = ref_to(created->job.id);
    std::uint64_t revision = created->job.revision;
    for (int step = 0; step < 3; ++step) {
      auto s = std::make_shared<stamp>();
      auto on_change = [s](boost::system::error_code ec, const wait_result& r) {
        s->at = clock::now();
        if (ec || r.timed_out) fail("async_wait: " + ec.message());
        s->fired.store(true);
        s->fired.notify_one();
      };
      const auto condition = wait_condition::changed_after(revision);
      if (run_inline) {
        // No associated executor: it runs on the engine's executor.
        async_wait(*eng, ref, condition, wait_forever, std::move(on_change));
      } else {
        async_wait(*eng, ref, condition, wait_forever,
                   asio::bind_executor(handlers.io(), std::move(on_change)));
      }
      engine_detail::job_mutation m;
      if (step == 0) {
        m = engine_detail::start_op{ref, make_start_options()};
      } else if (step == 1) {
        m = engine_detail::progress_op{ref, make_progress(), {}};
      } else {
        mutation_options done;
        done.details = finish_details();
        m = engine_detail::complete_op{ref, make_completion(n), done};
      }
      clock::time_point committed;
      if (blocking) {
        revision = mutate_blocking(*eng, m).revision;
        committed = engine_access::of(*eng).queue_->last_durable();
      } else {
        revision = mutate_stamped(*eng, std::move(m), committed).revision;
      }
      const auto returned = clock::now();
      s->fired.wait(false);
      latencies.push_back(static_cast<std::uint32_t>(
          std::max<std::int64_t>(0, nanos(committed, s->at))));
      caller.push_back(nanos(returned, s->at));
    }
    ++n;
  }
  const std::uint64_t load_jobs_done = load ? load->completed() : 0;
  load.reset();
  if (unexpected.load() != 0) fail("a pending waiter completed");

  state.counters["waiters"] = static_cast<double>(waiters);
  state.counters["cross_process"] = cross_process ? 1 : 0;
  state.counters["inline_handler"] = run_inline ? 1 : 0;
  state.counters["blocking_caller"] = blocking ? 1 : 0;
  state.counters["load_in_flight"] = loaded ? 64 : 0;
  state.counters["samples"] = static_cast<double>(latencies.size());
  state.counters["load_jobs_per_s"] = benchmark::Counter(
      static_cast<double>(load_jobs_done), benchmark::Counter::kIsRate);
  set_latency_counters(state, latencies);
  state.counters["caller_p50_us"] = quantile(caller, 0.50) / 1e3;
  state.counters["caller_p99_us"] = quantile(caller, 0.99) / 1e3;
  // Pending waiters complete with operation_aborted as the engine closes.
  eng.reset();
}

// The floor under commit-to-handler latency: a handler posted from one
// thread to an io_context another thread runs (what the engine's delivery
// ends with), with and without the lifecycle load on an engine in the same
// process. One post every 500 us, so that the handler thread is asleep when
// it comes, as it is between commits.
// The lifecycle load beside a baseline, when asked for: 64 lifecycles in
// flight on an engine of its own in this process; stopped, then closed, on
// destruction (members go in reverse order).
class optional_load {
 public:
  explicit optional_load(bool loaded) : dir_("wait-baseline") {
    if (!loaded) return;
    eng_ = open_engine(engine_options(dir_.path(), durability::full));
    load_ = std::make_unique<lifecycle_load>(*eng_);
  }

 private:
  scratch_dir dir_;
  std::unique_ptr<engine> eng_;
  std::unique_ptr<lifecycle_load> load_;
};

// The counters every baseline reports.
void set_baseline_counters(benchmark::State& state, bool loaded,
                           std::vector<std::uint32_t>& latencies) {
  state.counters["load_in_flight"] = loaded ? 64 : 0;
  state.counters["samples"] = static_cast<double>(latencies.size());
  set_latency_counters(state, latencies);
}

void bm_post_baseline(benchmark::State& state) {
  const bool loaded = state.range(0) != 0;
  optional_load load(loaded);
  io_thread handlers;
  std::vector<std::uint32_t> latencies;
  for (auto _ : state) {
    auto s = std::make_shared<stamp>();
    const auto posted = clock::now();
    asio::post(handlers.io(), [s] {
      s->at = clock::now();
      s->fired.store(true);
      s->fired.notify_one();
    });
    s->fired.wait(false);
    latencies.push_back(static_cast<std::uint32_t>(nanos(posted, s->at)));
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  set_baseline_counters(state, loaded, latencies);
}

// The floor under the post: one thread asleep on a condition variable,
// woken by another, as the bare hand-off any delivery to another thread
// pays. Same load and pacing as bm_post_baseline.
void bm_condvar_baseline(benchmark::State& state) {
  const bool loaded = state.range(0) != 0;
  optional_load load(loaded);
  std::mutex mutex;
  std::condition_variable wake;
  std::uint64_t rung = 0;  // Guarded by mutex.
  bool stop = false;       // Guarded by mutex.
  std::atomic<std::uint64_t> answered{0};
  std::atomic<clock::rep> woke_at{0};
  std::thread sleeper([&] {
    std::uint64_t seen = 0;
    std::unique_lock lock(mutex);
    while (true) {
      wake.wait(lock, [&] { return stop || rung != seen; });
      if (stop) return;
      woke_at.store(clock::now().time_since_epoch().count());
      seen = rung;
      answered.store(seen);
      answered.notify_one();
    }
  });
  std::vector<std::uint32_t> latencies;
  std::uint64_t n = 0;
  for (auto _ : state) {
    const auto rang = clock::now();
    {
      std::lock_guard lock(mutex);
      rung = ++n;
    }
    wake.notify_one();
    for (auto a = answered.load(); a != n; a = answered.load()) {
      answered.wait(a);
    }
    const clock::time_point woke{clock::duration(woke_at.load())};
    latencies.push_back(static_cast<std::uint32_t>(nanos(rang, woke)));
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  {
    std::lock_guard lock(mutex);
    stop = true;
  }
  wake.notify_one();
  sleeper.join();
  set_baseline_counters(state, loaded, latencies);
}

void bm_wait_memory(benchmark::State& state) {
  const std::uint64_t count = env_size("JOBSTATE_BENCH_PENDING_WAITERS", 10000);
  scratch_dir dir("wait-memory");
  auto eng = open_engine(engine_options(dir.path(), durability::no_sync));
  const std::vector<job_id> ids = load_jobs(*eng, count, 0);
  asio::io_context io;  // never run: the handlers only wait
  std::vector<job_ref> refs;
  refs.reserve(ids.size());
  for (const job_id& id : ids) refs.push_back(ref_to(id));

  double heap_per_waiter = 0;
  double rss_per_waiter = 0;
  double registration_ns = 0;
  for (auto _ : state) {
    const std::uint64_t heap_before = heap_in_use();
    const std::uint64_t rss_before = resident_bytes();
    const auto t0 = clock::now();
    for (const job_ref& ref : refs) {
      async_wait(*eng, ref, wait_condition::changed_after(1), wait_forever,
                 asio::bind_executor(
                     io, [](boost::system::error_code, const wait_result&) {}));
    }
    registration_ns = static_cast<double>(nanos(t0, clock::now())) /
                      static_cast<double>(count);
    heap_per_waiter = (static_cast<double>(heap_in_use()) -
                       static_cast<double>(heap_before)) /
                      static_cast<double>(count);
    rss_per_waiter = (static_cast<double>(resident_bytes()) -
                      static_cast<double>(rss_before)) /
                     static_cast<double>(count);
  }
  state.counters["pending_waiters"] = static_cast<double>(count);
  state.counters["heap_bytes_per_waiter"] = heap_per_waiter;
  state.counters["rss_bytes_per_waiter"] = rss_per_waiter;
  state.counters["register_us"] = registration_ns / 1e3;
  // Closing completes the waits: their handlers are queued on `io` and
  // destroyed with it, unrun.
  eng.reset();
}

// Three engines, one producer, nobody waiting (C: one unrelated waiter).
void bm_commit_cost(benchmark::State& state, durability d) {
  struct engine_case {
    scratch_dir dir;
    std::unique_ptr<engine> eng;
    std::vector<std::uint32_t> lifecycle_ns;
    std::int64_t cpu_ns = 0;
  };
  auto make = [d](const char* name, bool cross_process) {
    engine_case v{scratch_dir(name), nullptr, {}, 0};
    auto o = engine_options(v.dir.path(), d);
    o.cross_process_notifications = cross_process;
    v.eng = open_engine(o);
    v.lifecycle_ns.reserve(1 << 16);
    return v;
  };
  engine_case all[3] = {make("cost-a", true), make("cost-b", false),
                        make("cost-c", false)};
  asio::io_context io;  // never run: C's waiter never completes
  {
    auto unrelated = all[2].eng->create(make_create(0));
    if (!unrelated) fail("create", unrelated.error());
    async_wait(*all[2].eng, ref_to(unrelated->job.id),
               wait_condition::changed_after(1), wait_forever,
               asio::bind_executor(
                   io, [](boost::system::error_code, const wait_result&) {}));
  }
  // Lifecycles per engine per iteration: blocks of 16 when a write costs
  // tens of microseconds, single lifecycles when each write waits for fsync.
  const std::size_t block = d == durability::full ? 1 : 16;
  std::uint64_t n = 0;
  for (auto _ : state) {
    // Rotate the order so that none always runs first. Each engine runs a
    // block of lifecycles: process CPU time is charged per block, so work an
    // engine finishes asynchronously (its io thread) spills into another's
    // block only at block boundaries.
    for (std::size_t k = 0; k < 3; ++k) {
      engine_case& v = all[(n + k) % 3];
      const auto cpu0 = process_cpu_nanos();
      for (std::size_t i = 0; i < block; ++i) {
        const auto t0 = clock::now();
        run_lifecycle(*v.eng, n * block + i, nullptr);
        v.lifecycle_ns.push_back(
            static_cast<std::uint32_t>(nanos(t0, clock::now())));
      }
      v.cpu_ns += process_cpu_nanos() - cpu0;
    }
    ++n;
  }
  const char* names[3] = {"a_", "b_", "c_"};
  double median_us[3];
  double cpu_us[3];
  for (int i = 0; i < 3; ++i) {
    auto& v = all[i];
    const double writes = 4.0 * static_cast<double>(v.lifecycle_ns.size());
    median_us[i] = quantile(v.lifecycle_ns, 0.5) / 4 / 1e3;
    cpu_us[i] = static_cast<double>(v.cpu_ns) / writes / 1e3;
    state.counters[std::string(names[i]) + "us_per_write"] = median_us[i];
    state.counters[std::string(names[i]) + "cpu_us_per_write"] = cpu_us[i];
  }
  state.counters["a_overhead_pct"] = (median_us[0] / median_us[1] - 1) * 100;
  state.counters["a_cpu_overhead_pct"] = (cpu_us[0] / cpu_us[1] - 1) * 100;
  state.counters["c_overhead_pct"] = (median_us[2] / median_us[1] - 1) * 100;
  state.counters["c_cpu_overhead_pct"] = (cpu_us[2] / cpu_us[1] - 1) * 100;
  for (auto& v : all) v.eng.reset();
}

}  // namespace
}  // namespace jobstate::bench

int main(int argc, char** argv) {
  using namespace jobstate::bench;
  const auto many =
      static_cast<std::int64_t>(env_size("JOBSTATE_BENCH_WAITERS", 1000));
  benchmark::RegisterBenchmark("wait/latency", bm_wait_latency)
      ->ArgNames({"waiters", "load", "xproc", "inline", "blocking"})
      ->Args({1, 0, 1, 0, 0})
      ->Args({many, 0, 1, 0, 0})
      ->Args({1, 1, 1, 0, 0})
      ->Args({many, 1, 1, 0, 0})
      ->Args({1, 0, 0, 0, 0})
      ->Args({1, 1, 0, 0, 0})
      ->Args({1, 0, 1, 1, 0})
      ->Args({1, 1, 1, 1, 0})
      ->Args({many, 1, 1, 1, 0})
      ->Args({1, 0, 1, 0, 1})
      ->Args({1, 0, 0, 0, 1})
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  struct baseline {
    const char* name;
    void (*run)(benchmark::State&);
  };
  for (const baseline& b :
       {baseline{"wait/post_baseline", bm_post_baseline},
        baseline{"wait/condvar_baseline", bm_condvar_baseline}}) {
    benchmark::RegisterBenchmark(b.name, b.run)
        ->ArgName("load")
        ->Arg(0)
        ->Arg(1)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::RegisterBenchmark("wait/memory", bm_wait_memory)->Iterations(1);
  benchmark::RegisterBenchmark("wait/commit_cost/no_sync",
                               [](benchmark::State& s) {
                                 bm_commit_cost(s,
                                                jobstate::durability::no_sync);
                               })
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("wait/commit_cost/full",
                               [](benchmark::State& s) {
                                 bm_commit_cost(s, jobstate::durability::full);
                               })
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  return run_benchmarks(argc, argv);
}
