// The asynchronous mutations of <jobstate/async.hpp> (async_create ...
// async_rerun) as Asio operations: each with every kind of completion token
// (callback, use_future, use_awaitable, deferred), their typed errors, the
// handler's associated allocator, and the engine's destruction with
// mutations in flight (those queued are committed; new ones get
// engine_closed).
#include <jobstate/async.hpp>
#include <jobstate/jobstate.hpp>

#include "support/jobs.hpp"
#include "support/test_engine.hpp"
#include "support/waits.hpp"

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <exception>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace jobstate {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using boost::system::error_code;

using test::carries;
using test::completion_for;
using test::create_in_status;
using test::create_job;
using test::hang_guard;
using test::io_runner;
using test::make_request;
using test::ref_of;
using test::test_engine;

// What an operation completed with. With use_future and use_awaitable an
// error arrives as an exception, without the value: `has_value` is false.
template <class R>
struct answer {
  error_code ec;
  R value{};
  bool has_value = true;
};

template <class T>
T get_within(std::future<T>& f) {
  if (f.wait_for(hang_guard) != std::future_status::ready) {
    throw std::runtime_error("the operation never completed");
  }
  return f.get();
}

enum class token_kind { callback, use_future, use_awaitable, deferred };

std::string token_name(const testing::TestParamInfo<token_kind>& info) {
  switch (info.param) {
    case token_kind::callback:
      return "Callback";
    case token_kind::use_future:
      return "UseFuture";
    case token_kind::use_awaitable:
      return "UseAwaitable";
    case token_kind::deferred:
      return "Deferred";
  }
  return "Unknown";
}

class AsyncMutations : public testing::TestWithParam<token_kind> {
 protected:
  // Runs `initiate(token)` with the token kind under test and returns what
  // the operation completed with.
  template <class R, class Initiate>
  answer<R> run(Initiate initiate) {
    switch (GetParam()) {
      case token_kind::callback:
        return with_callback<R>(initiate);
      case token_kind::use_future: {
        std::future<R> f = initiate(asio::use_future);
        try {
          return answer<R>{{}, get_within(f)};
        } catch (const boost::system::system_error& e) {
          // The exception is shared with the promise, which the engine's
          // thread may release after the handler ran. Kept until the
          // engine's threads are joined, so that it is freed here: freed
          // there, ThreadSanitizer could not order the free after this
          // read (libstdc++'s exception reference count is not
          // instrumented).
          exceptions_.push_back(std::current_exception());
          return answer<R>{e.code(), R{}, false};
        }
      }
      case token_kind::use_awaitable: {
        auto f = asio::co_spawn(
            runner_.io,
            [initiate]() -> asio::awaitable<answer<R>> {
              try {
                R v = co_await initiate(asio::use_awaitable);
                co_return answer<R>{{}, std::move(v)};
              } catch (const boost::system::system_error& e) {
                co_return answer<R>{e.code(), R{}, false};
              }
            },
            asio::use_future);
        return get_within(f);
      }
      case token_kind::deferred: {
        // Nothing starts until the deferred operation is invoked.
        auto op = initiate(asio::deferred);
        return with_callback<R>(
            [&op](auto handler) { std::move(op)(std::move(handler)); });
      }
    }
    throw std::logic_error("unknown token kind");
  }

  template <class R, class Initiate>
  static answer<R> with_callback(Initiate initiate) {
    auto done = std::make_shared<std::promise<answer<R>>>();
    auto f = done->get_future();
    initiate([done](error_code ec, R v) {
      done->set_value(answer<R>{ec, std::move(v)});
    });
    return get_within(f);
  }

  std::vector<std::exception_ptr> exceptions_;  // Outlives the engine.
  io_runner runner_;  // Runs the coroutines; declared before the engine.
  test_engine eng_;
};

INSTANTIATE_TEST_SUITE_P(Tokens, AsyncMutations,
                         testing::Values(token_kind::callback,
                                         token_kind::use_future,
                                         token_kind::use_awaitable,
                                         token_kind::deferred),
                         token_name);

// ----------------------------------------------------------- successes

TEST_P(AsyncMutations, CreateCommitsAPendingJob) {
  engine& e = *eng_;
  auto a = run<created_job>([&](auto token) {
    return async_create(e, make_request("parse"), std::move(token));
  });
  ASSERT_FALSE(a.ec) << a.ec.message();
  EXPECT_TRUE(a.value.created);
  EXPECT_EQ(a.value.job.status, job_status::pending);
  auto stored = e.get(ref_of(a.value.job));
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->revision, a.value.job.revision);
}

TEST_P(AsyncMutations, CreateWithAUsedKeyReturnsTheFirstJob) {
  engine& e = *eng_;
  auto request = make_request();
  request.idempotency_key = "once";
  const job first = create_job(e, request);
  auto a = run<created_job>(
      [&](auto token) { return async_create(e, request, std::move(token)); });
  ASSERT_FALSE(a.ec) << a.ec.message();
  EXPECT_FALSE(a.value.created);
  EXPECT_EQ(a.value.job.id, first.id);
}

TEST_P(AsyncMutations, CreateBatchCommitsParentAndChildren) {
  engine& e = *eng_;
  batch_request b;
  b.parent = make_request("batch");
  for (int i = 0; i < 3; ++i) b.children.push_back({"parse", {}, {}, {}});
  auto a = run<created_batch>(
      [&](auto token) { return async_create_batch(e, b, std::move(token)); });
  ASSERT_FALSE(a.ec) << a.ec.message();
  EXPECT_TRUE(a.value.parent.is_batch);
  ASSERT_EQ(a.value.child_ids.size(), 3U);
  job_ref child = ref_of(a.value.parent);
  child.id = a.value.child_ids[1];
  EXPECT_TRUE(e.get(child));
}

TEST_P(AsyncMutations, StartRunsAPendingJob) {
  engine& e = *eng_;
  const job j = create_job(e);
  auto a = run<job>([&](auto token) {
    return async_start(e, ref_of(j), {}, std::move(token));
  });
  ASSERT_FALSE(a.ec) << a.ec.message();
  EXPECT_EQ(a.value.status, job_status::running);
  EXPECT_EQ(a.value.revision, j.revision + 1);
}

TEST_P(AsyncMutations, ReportProgressRecordsIt) {
  engine& e = *eng_;
  const job j = create_in_status(e, job_status::running);
  progress p;
  p.percent = 40;
  auto a = run<job>([&](auto token) {
    return async_report_progress(e, ref_of(j), p, {}, std::move(token));
  });
  ASSERT_FALSE(a.ec) << a.ec.message();
  ASSERT_TRUE(a.value.progress.percent);
  EXPECT_EQ(*a.value.progress.percent, 40.0);
}

TEST_P(AsyncMutations, CompleteEndsARunningJob) {
  engine& e = *eng_;
  const job j = create_in_status(e, job_status::running);
  auto a = run<job>([&](auto token) {
    return async_complete(e, ref_of(j), completion_for(job_status::succeeded),
                          {}, std::move(token));
  });
  ASSERT_FALSE(a.ec) << a.ec.message();
  EXPECT_EQ(a.value.status, job_status::succeeded);
}

TEST_P(AsyncMutations, CancelEndsAPendingJob) {
  engine& e = *eng_;
  const job j = create_job(e);
  auto a = run<job>([&](auto token) {
    return async_cancel(e, ref_of(j), "not needed", {}, std::move(token));
  });
  ASSERT_FALSE(a.ec) << a.ec.message();
  EXPECT_EQ(a.value.status, job_status::cancelled);
}

TEST_P(AsyncMutations, RerunMakesANewAttempt) {
  engine& e = *eng_;
  const job j = create_in_status(e, job_status::failed);
  auto a = run<job>([&](auto token) {
    return async_rerun(e, ref_of(j), {}, std::move(token));
  });
  ASSERT_FALSE(a.ec) << a.ec.message();
  EXPECT_NE(a.value.id, j.id);
  ASSERT_TRUE(a.value.original_job_id);
  EXPECT_EQ(*a.value.original_job_id, j.id);
  EXPECT_EQ(a.value.attempt, 2U);
  EXPECT_EQ(a.value.status, job_status::pending);
}

// --------------------------------------------------------------- errors

TEST_P(AsyncMutations, CreateWithoutKindIsInvalidArgument) {
  engine& e = *eng_;
  auto a = run<created_job>([&](auto token) {
    return async_create(e, make_request(""), std::move(token));
  });
  EXPECT_TRUE(carries(a.ec, errc::invalid_argument)) << a.ec.message();
}

TEST_P(AsyncMutations, CreateWithAnOversizedKindIsTooLarge) {
  engine& e = *eng_;
  const std::size_t max = e.options().limits.max_kind_size;
  auto a = run<created_job>([&](auto token) {
    return async_create(e, make_request(std::string(max + 1, 'k')),
                        std::move(token));
  });
  EXPECT_TRUE(carries(a.ec, errc::too_large)) << a.ec.message();
}

TEST_P(AsyncMutations, CreateReusingAKeyForOtherWorkIsAlreadyExists) {
  engine& e = *eng_;
  auto request = make_request("parse");
  request.idempotency_key = "once";
  create_job(e, request);
  request.kind = "render";
  auto a = run<created_job>(
      [&](auto token) { return async_create(e, request, std::move(token)); });
  EXPECT_TRUE(carries(a.ec, errc::already_exists)) << a.ec.message();
}

TEST_P(AsyncMutations, CreateBatchWithoutChildrenIsInvalidArgument) {
  engine& e = *eng_;
  batch_request b;
  b.parent = make_request("batch");
  auto a = run<created_batch>(
      [&](auto token) { return async_create_batch(e, b, std::move(token)); });
  EXPECT_TRUE(carries(a.ec, errc::invalid_argument)) << a.ec.message();
}

TEST_P(AsyncMutations, StartOfAnUnknownJobIsNotFound) {
  engine& e = *eng_;
  job_ref ref{std::string(test::account), std::string(test::project),
              job_id::generate()};
  auto a = run<job>(
      [&](auto token) { return async_start(e, ref, {}, std::move(token)); });
  EXPECT_TRUE(carries(a.ec, errc::not_found)) << a.ec.message();
}

TEST_P(AsyncMutations, StartOfARunningJobIsIllegalAndShowsTheJob) {
  engine& e = *eng_;
  const job j = create_in_status(e, job_status::running);
  auto a = run<job>([&](auto token) {
    return async_start(e, ref_of(j), {}, std::move(token));
  });
  EXPECT_TRUE(carries(a.ec, errc::illegal_transition)) << a.ec.message();
  // The job as it now is travels with the error (where the token keeps it).
  if (a.has_value) {
    EXPECT_EQ(a.value.id, j.id);
    EXPECT_EQ(a.value.status, job_status::running);
  }
}

TEST_P(AsyncMutations, ALostRaceShowsTheJobAsTheMutationWouldHaveAnswered) {
  engine& e = *eng_;
  const job j = create_in_status(e, job_status::succeeded);
  mutation_options lean;
  lean.with_history = false;
  auto without = run<job>([&](auto token) {
    return async_cancel(e, ref_of(j), "late", lean, std::move(token));
  });
  EXPECT_TRUE(carries(without.ec, errc::illegal_transition))
      << without.ec.message();
  auto whole = run<job>([&](auto token) {
    return async_cancel(e, ref_of(j), "late", {}, std::move(token));
  });
  EXPECT_TRUE(carries(whole.ec, errc::illegal_transition))
      << whole.ec.message();
  if (without.has_value) {
    EXPECT_EQ(without.value.status, job_status::succeeded);
    EXPECT_TRUE(without.value.history.empty());
  }
  if (whole.has_value) {
    EXPECT_EQ(whole.value.history.size(), 3u);
  }
}

TEST_P(AsyncMutations, StartAtAStaleRevisionIsConflict) {
  engine& e = *eng_;
  const job j = create_job(e);
  mutation_options stale;
  stale.expected_revision = j.revision + 5;
  auto a = run<job>([&](auto token) {
    return async_start(e, ref_of(j), stale, std::move(token));
  });
  EXPECT_TRUE(carries(a.ec, errc::conflict)) << a.ec.message();
  if (a.has_value) {
    EXPECT_EQ(a.value.revision, j.revision);
  }
}

TEST_P(AsyncMutations, ProgressOutOfRangeIsInvalidArgument) {
  engine& e = *eng_;
  const job j = create_in_status(e, job_status::running);
  progress p;
  p.percent = 150;
  auto a = run<job>([&](auto token) {
    return async_report_progress(e, ref_of(j), p, {}, std::move(token));
  });
  EXPECT_TRUE(carries(a.ec, errc::invalid_argument)) << a.ec.message();
}

TEST_P(AsyncMutations, ProgressOfAPendingJobIsIllegal) {
  engine& e = *eng_;
  const job j = create_job(e);
  progress p;
  p.percent = 10;
  auto a = run<job>([&](auto token) {
    return async_report_progress(e, ref_of(j), p, {}, std::move(token));
  });
  EXPECT_TRUE(carries(a.ec, errc::illegal_transition)) << a.ec.message();
}

TEST_P(AsyncMutations, CompleteOfAPendingJobIsIllegal) {
  engine& e = *eng_;
  const job j = create_job(e);
  auto a = run<job>([&](auto token) {
    return async_complete(e, ref_of(j), completion_for(job_status::succeeded),
                          {}, std::move(token));
  });
  EXPECT_TRUE(carries(a.ec, errc::illegal_transition)) << a.ec.message();
  if (a.has_value) {
    EXPECT_EQ(a.value.status, job_status::pending);
  }
}

TEST_P(AsyncMutations, CancelOfAFinishedJobIsIllegal) {
  engine& e = *eng_;
  const job j = create_in_status(e, job_status::succeeded);
  auto a = run<job>([&](auto token) {
    return async_cancel(e, ref_of(j), "too late", {}, std::move(token));
  });
  EXPECT_TRUE(carries(a.ec, errc::illegal_transition)) << a.ec.message();
  if (a.has_value) {
    EXPECT_EQ(a.value.status, job_status::succeeded);
  }
}

TEST_P(AsyncMutations, RerunOfARunningJobIsIllegal) {
  engine& e = *eng_;
  const job j = create_in_status(e, job_status::running);
  auto a = run<job>([&](auto token) {
    return async_rerun(e, ref_of(j), {}, std::move(token));
  });
  EXPECT_TRUE(carries(a.ec, errc::illegal_transition)) << a.ec.message();
}

TEST_P(AsyncMutations, MalformedRefIsInvalidArgument) {
  engine& e = *eng_;
  const job j = create_job(e);
  job_ref ref = ref_of(j);
  ref.account_id.clear();
  auto a = run<job>([&](auto token) {
    return async_cancel(e, ref, "", {}, std::move(token));
  });
  EXPECT_TRUE(carries(a.ec, errc::invalid_argument)) << a.ec.message();
}

// ------------------------------------------------- deferred operations

TEST(AsyncMutationsDeferred, NothingStartsUntilInvoked) {
  test_engine eng;
  auto before = eng->last_sequence();
  ASSERT_TRUE(before);
  auto op = async_create(*eng, make_request(), asio::deferred);
  EXPECT_EQ(*eng->last_sequence(), *before);
  std::promise<error_code> done;
  std::move(op)([&](error_code ec, created_job) { done.set_value(ec); });
  auto f = done.get_future();
  ASSERT_EQ(f.wait_for(hang_guard), std::future_status::ready);
  EXPECT_FALSE(f.get());
  EXPECT_GT(*eng->last_sequence(), *before);
}

// ------------------------------------------------ associated allocator

// Counts what it allocates, to show the handler's allocator is used.
template <class T>
struct counting_allocator {
  using value_type = T;
  std::atomic<int>* count;
  explicit counting_allocator(std::atomic<int>* c) noexcept : count(c) {}
  template <class U>
  counting_allocator(const counting_allocator<U>& o) noexcept
      : count(o.count) {}
  T* allocate(std::size_t n) {
    ++*count;
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, std::size_t n) { std::allocator<T>().deallocate(p, n); }
  template <class U>
  friend bool operator==(const counting_allocator& a,
                         const counting_allocator<U>& b) noexcept {
    return a.count == b.count;
  }
  template <class U>
  friend bool operator!=(const counting_allocator& a,
                         const counting_allocator<U>& b) noexcept {
    return a.count != b.count;
  }
};

// The handler's associated allocator stays visible to Asio: it allocates
// the type-erased handler, and the engine hands it on with the delivery
// (Asio 1.81's polymorphic executors then queue the delivery with their own
// recycling allocator, which this cannot observe).
TEST(AsyncMutationsAllocator, HandlersAllocatorIsUsed) {
  test_engine eng;
  std::atomic<int> allocations{0};
  std::promise<error_code> done;
  async_start(
      *eng, ref_of(create_job(*eng)), {},
      asio::bind_allocator(counting_allocator<void>(&allocations),
                           [&](error_code ec, job) { done.set_value(ec); }));
  auto f = done.get_future();
  ASSERT_EQ(f.wait_for(hang_guard), std::future_status::ready);
  EXPECT_FALSE(f.get());
  EXPECT_GE(allocations.load(), 1);
}

// ------------------------------------------------------- destruction

TEST(AsyncMutationsDestruction, QueuedMutationsAreCommitted) {
  io_runner host;
  test_engine eng;
  constexpr int n = 200;
  std::vector<std::future<created_job>> futures;
  std::atomic<int> callbacks_ok{0};
  for (int i = 0; i < n; ++i) {
    futures.push_back(
        async_create(*eng, make_request("queued"), asio::use_future));
    async_create(*eng, make_request("queued-bound"),
                 asio::bind_executor(host.io, [&](error_code ec, created_job) {
                   if (!ec) ++callbacks_ok;
                 }));
  }
  eng.close();  // At once, with the mutations in flight.

  std::vector<job_id> ids;
  for (auto& f : futures) {
    ASSERT_EQ(f.wait_for(hang_guard), std::future_status::ready);
    ids.push_back(f.get().job.id);  // Throws (fails) on an error.
  }
  EXPECT_TRUE(test::eventually([&] { return callbacks_ok.load() == n; }));
  eng.reopen();
  for (const job_id& id : ids) {
    EXPECT_TRUE(
        eng->get({std::string(test::account), std::string(test::project), id}));
  }
}

TEST(AsyncMutationsDestruction, MutationsStartedDuringDestructionAreRefused) {
  io_runner host;
  test_engine eng;
  const job j = create_job(*eng);
  // The engine aborts pending waits after it has closed its commit queue:
  // this wait's abort says the destruction has got that far.
  std::atomic<bool> queue_closed{false};
  async_wait(*eng, ref_of(j), wait_condition::terminal(), test::long_timeout,
             asio::bind_executor(host.io, [&](error_code ec, wait_result) {
               EXPECT_EQ(ec, asio::error::operation_aborted);
               queue_closed = true;
             }));
  std::atomic<bool> first_ok{false};
  std::promise<error_code> refused;
  engine* raw = &*eng;
  async_create(*eng, make_request("first"), [&](error_code ec, created_job) {
    first_ok = !ec;
    // Runs on the engine's handler thread, which the destructor drains.
    if (!test::eventually([&] { return queue_closed.load(); })) {
      refused.set_value(error_code());
      return;
    }
    async_create(*raw, make_request("too late"),
                 [&](error_code ec2, created_job) { refused.set_value(ec2); });
  });
  auto f = refused.get_future();
  eng.close();
  // The engine's own handler thread ran everything before the destructor
  // returned.
  ASSERT_EQ(f.wait_for(0s), std::future_status::ready);
  EXPECT_TRUE(first_ok.load());
  EXPECT_TRUE(carries(f.get(), errc::engine_closed));
}

}  // namespace
}  // namespace jobstate
