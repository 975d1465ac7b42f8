// The C API (include/jobstate/jobstate.h) over the C++ engine.
//
// Every entry point runs its body through `guarded`, which resets the
// calling thread's error, turns a jobstate::error into its status code and
// message, and catches every exception (nothing may unwind into C).
#include <jobstate/async.hpp>
#include <jobstate/engine.hpp>
#include <jobstate/jobstate.h>
#include <jobstate/json.hpp>
#include <jobstate/json_requests.hpp>

#include "capi/async_op.hpp"
#include "engine/inline_executor.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace json = boost::json;
using jobstate::errc;
using jobstate::error;
using jobstate::result;

struct jobstate_engine {
  std::shared_ptr<jobstate::capi::engine_guard> guard;
};

struct jobstate_wait;

namespace jobstate::capi {
namespace {

static_assert(JOBSTATE_INVALID_ARGUMENT ==
              static_cast<int>(errc::invalid_argument));
static_assert(JOBSTATE_NOT_FOUND == static_cast<int>(errc::not_found));
static_assert(JOBSTATE_ILLEGAL_TRANSITION ==
              static_cast<int>(errc::illegal_transition));
static_assert(JOBSTATE_CONFLICT == static_cast<int>(errc::conflict));
static_assert(JOBSTATE_ALREADY_EXISTS ==
              static_cast<int>(errc::already_exists));
static_assert(JOBSTATE_GONE == static_cast<int>(errc::gone));
static_assert(JOBSTATE_STORAGE_FULL == static_cast<int>(errc::storage_full));
static_assert(JOBSTATE_CORRUPT == static_cast<int>(errc::corrupt));
static_assert(JOBSTATE_UNSUPPORTED_VERSION ==
              static_cast<int>(errc::unsupported_version));
static_assert(JOBSTATE_TOO_LARGE == static_cast<int>(errc::too_large));
static_assert(JOBSTATE_LEASE_LOST == static_cast<int>(errc::lease_lost));
static_assert(JOBSTATE_EXPIRED == static_cast<int>(errc::expired));
static_assert(JOBSTATE_ENGINE_CLOSED == static_cast<int>(errc::engine_closed));
static_assert(JOBSTATE_IO_ERROR == static_cast<int>(errc::io_error));
static_assert(JOBSTATE_ALREADY_OPEN == static_cast<int>(errc::already_open));

// ------------------------------------------------------ per-thread state

struct last_error {
  std::string message;
  std::optional<job_status> status;
  std::uint64_t revision = 0;
};

last_error& thread_error() {
  thread_local last_error e;
  return e;
}

void clear_error() noexcept {
  last_error& e = thread_error();
  e.message.clear();
  e.status.reset();
}

// Records `e` as the thread's last error; returns its status code.
int record(const error& e) noexcept {
  int code = JOBSTATE_IO_ERROR;
  if (e.code().category() == jobstate::category()) code = e.code().value();
  last_error& t = thread_error();
  try {
    t.message = e.message();
  } catch (...) {
    t.message.clear();
  }
  t.status = e.current_status();
  t.revision = e.current_revision().value_or(0);
  return code;
}

int record(int code, const char* message) noexcept {
  last_error& t = thread_error();
  t.status.reset();
  try {
    t.message = message;
  } catch (...) {
    t.message.clear();
  }
  return code;
}

// Runs `body` (returning result<void>) as one C call.
template <class Body>
int guarded(Body&& body) noexcept {
  clear_error();
  try {
    result<void> r = std::forward<Body>(body)();
    return r ? JOBSTATE_OK : record(r.error());
  } catch (const jobstate::system_error& e) {
    return record(e.error());
  } catch (const std::bad_alloc&) {
    return record(JOBSTATE_IO_ERROR, "io_error: out of memory");
  } catch (const std::exception& e) {
    return record(
        JOBSTATE_IO_ERROR,
        (std::string("io_error: unexpected failure: ") + e.what()).c_str());
  } catch (...) {
    return record(JOBSTATE_IO_ERROR, "io_error: unexpected failure");
  }
}

error invalid(std::string text) {
  return error(errc::invalid_argument, std::move(text));
}

// True on the thread that runs `eng`'s callbacks (its executor: the C API
// never supplies one, so it is the engine's own io_context).
bool on_callback_thread(engine& eng) {
  auto ex = eng.get_executor();
  const auto* io = ex.target<boost::asio::io_context::executor_type>();
  return io != nullptr && io->running_in_this_thread();
}

result<json::value> parse_json(const char* text, const char* what,
                               bool optional) {
  if (!text) {
    if (optional) return json::value();
    return invalid(std::string(what) + " is NULL");
  }
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) {
    return invalid(std::string(what) + " is not valid JSON: " + ec.message());
  }
  return v;
}

// Parses `text` as JSON (see parse_json) and reads it with `reader`, one of
// the *_from_json functions of <jobstate/json_requests.hpp>.
template <class Reader>
auto read_json(const char* text, const char* what, bool optional,
               Reader&& reader)
    -> std::invoke_result_t<Reader, const json::value&> {
  auto v = parse_json(text, what, optional);
  if (!v) return v.error();
  return std::forward<Reader>(reader)(*v);
}

result<mutation_options> read_mutation_options(const char* options_json) {
  return read_json(options_json, "options_json", true,
                   mutation_options_from_json);
}

// A malloc'd copy of `text`, for the caller to jobstate_free.
char* give(std::string_view text) {
  char* p = static_cast<char*>(std::malloc(text.size() + 1));
  if (!p) throw std::bad_alloc();
  std::memcpy(p, text.data(), text.size());
  p[text.size()] = '\0';
  return p;
}

void give_json(char** out, const json::value& v) {
  if (out) *out = give(json::serialize(v));
}

void reset_out(char** out) {
  if (out) *out = nullptr;
}

result<engine_guard*> guard_of(jobstate_engine* e) {
  if (!e || !e->guard) return invalid("engine is NULL");
  return e->guard.get();
}

result<job_ref> ref_of(const char* account_id, const char* project_id,
                       const char* id) {
  if (!account_id || !project_id || !id) {
    return invalid("account_id, project_id and job_id must not be NULL");
  }
  return make_job_ref(account_id, project_id, id);
}

// The common shape of start, progress, complete, cancel and rerun: parse,
// call the engine, hand out the job.
template <class Call>
int mutate(jobstate_engine* e, const char* account_id, const char* project_id,
           const char* id, char** job_json, Call&& call) {
  reset_out(job_json);
  return guarded([&]() -> result<void> {
    auto g = guard_of(e);
    if (!g) return g.error();
    auto ref = ref_of(account_id, project_id, id);
    if (!ref) return ref.error();
    result<job> j =
        (*g)->call([&](engine& eng) -> result<job> { return call(eng, *ref); });
    if (!j) return j.error();
    give_json(job_json, jobstate::to_json(*j));
    return {};
  });
}

// Runs an asynchronous operation as a blocking call: initiated inside the
// guard (`initiate(engine, handler)`), awaited outside it, so that closing
// the engine answers it (engine_closed) instead of waiting for it. Answered
// inline (the handler only fulfils a promise): the calling thread may be the
// one that runs the engine's callbacks, which a blocking call from a
// callback would otherwise wait for. `what` names it ("wait").
template <class T, class Initiate>
result<T> call_to_completion(engine_guard& guard, const char* what,
                             Initiate&& initiate) {
  auto done = std::make_shared<std::promise<result<T>>>();
  auto f = done->get_future();
  auto started = guard.call([&](jobstate::engine& eng) -> result<void> {
    initiate(eng,
             boost::asio::bind_executor(
                 jobstate::engine_detail::inline_executor(),
                 [done, what](boost::system::error_code ec, T value) {
                   if (!ec) {
                     done->set_value(std::move(value));
                   } else if (ec == boost::asio::error::operation_aborted) {
                     done->set_value(error(
                         errc::engine_closed,
                         std::string("the engine closed during the ") + what));
                   } else {
                     done->set_value(error(std::error_code(ec)));
                   }
                 }));
    return {};
  });
  if (!started) return started.error();
  return f.get();
}

int status_of(const boost::system::error_code& ec) {
  const std::error_code std_ec(ec);
  if (std_ec.category() == jobstate::category()) return std_ec.value();
  return JOBSTATE_IO_ERROR;
}

// ------------------------------------------------------------ async waits

class c_wait final : public async_op<wait_result> {
 public:
  c_wait(std::shared_ptr<engine_guard> guard, jobstate_wait_callback callback,
         void* user_data)
      : async_op(std::move(guard)),
        callback_(callback),
        user_data_(user_data) {}

 private:
  void on_complete(boost::system::error_code ec,
                   wait_result r) noexcept override {
    // The callback sees its own status through jobstate_errmsg & co.; the
    // thread's error state is restored after it, untouched by the calls the
    // callback made.
    last_error saved;
    std::swap(saved, thread_error());
    int status = JOBSTATE_OK;
    std::string text;
    try {
      if (!ec) {
        text = json::serialize(jobstate::to_json(r.job));
      } else if (ec == boost::asio::error::operation_aborted) {
        status =
            cancel_requested() ? JOBSTATE_CANCELLED : JOBSTATE_ENGINE_CLOSED;
        record(status,
               status == JOBSTATE_CANCELLED
                   ? "cancelled: the wait was cancelled"
                   : "engine_closed: the engine closed during the wait");
      } else {
        status = status_of(ec);
        record(status, ec.message().c_str());
      }
    } catch (...) {
      status = record(JOBSTATE_IO_ERROR, "io_error: out of memory");
    }
    callback_(user_data_, status,
              status == JOBSTATE_OK ? text.c_str() : nullptr,
              status == JOBSTATE_OK && r.timed_out ? 1 : 0);
    std::swap(saved, thread_error());
  }

  jobstate_wait_callback callback_;
  void* user_data_;
};

}  // namespace
}  // namespace jobstate::capi

struct jobstate_wait {
  std::shared_ptr<jobstate::capi::c_wait> op;
};

using namespace jobstate::capi;
// The wire layer's readers and renderers (<jobstate/json_requests.hpp>,
// <jobstate/json.hpp>) read every request and write every answer.
using jobstate::batch_request_from_json;
using jobstate::children_query_from_json;
using jobstate::claim_request_from_json;
using jobstate::completion_from_json;
using jobstate::create_request_from_json;
using jobstate::list_children;
using jobstate::list_query_from_json;
using jobstate::make_job_ref;
using jobstate::mutation_options_from_json;
using jobstate::options_from_json;
using jobstate::progress_from_json;
using jobstate::purge_request_from_json;
using jobstate::rerun_options_from_json;
using jobstate::timeout_from_ms;
using jobstate::to_json;
using jobstate::wait_condition_from_json;
using jobstate::watch_request_from_json;

// ------------------------------------------------------------------ errors

const char* jobstate_strerror(int code) {
  switch (code) {
    case JOBSTATE_OK:
      return "ok: success";
    case JOBSTATE_INVALID_ARGUMENT:
      return "invalid_argument: bad input; nothing was written";
    case JOBSTATE_NOT_FOUND:
      return "not_found: no such job in this account and project";
    case JOBSTATE_ILLEGAL_TRANSITION:
      return "illegal_transition: the job's status does not allow this change";
    case JOBSTATE_CONFLICT:
      return "conflict: the job's revision is not the expected one";
    case JOBSTATE_ALREADY_EXISTS:
      return "already_exists: the idempotency key was used for a different "
             "request";
    case JOBSTATE_GONE:
      return "gone: the job was purged";
    case JOBSTATE_STORAGE_FULL:
      return "storage_full: the database reached its size limit";
    case JOBSTATE_CORRUPT:
      return "corrupt: stored data failed its integrity checks";
    case JOBSTATE_UNSUPPORTED_VERSION:
      return "unsupported_version: the database was written by another schema "
             "version";
    case JOBSTATE_TOO_LARGE:
      return "too_large: a value exceeds a documented limit";
    case JOBSTATE_EXPIRED:
      return "expired: the change feed no longer holds that sequence";
    case JOBSTATE_ENGINE_CLOSED:
      return "engine_closed: the engine is closing or closed";
    case JOBSTATE_IO_ERROR:
      return "io_error: the storage layer failed";
    case JOBSTATE_ALREADY_OPEN:
      return "already_open: the database is already open in this process";
    case JOBSTATE_LEASE_LOST:
      return "lease_lost: this worker no longer holds the job's lease";
    case JOBSTATE_CANCELLED:
      return "cancelled: the wait was cancelled";
    default:
      return "unknown jobstate status code";
  }
}

const char* jobstate_error_message(void) {
  return thread_error().message.c_str();
}

int jobstate_error_job_state(const char** status, uint64_t* revision) {
  const auto& e = thread_error();
  if (!e.status) return JOBSTATE_NOT_FOUND;
  if (status) *status = jobstate::to_string(*e.status).data();
  if (revision) *revision = e.revision;
  return JOBSTATE_OK;
}

void jobstate_free(void* buffer) { std::free(buffer); }

// ------------------------------------------------------------------ engine

int jobstate_engine_open(const char* path, const char* options_json,
                         jobstate_engine** out) {
  if (out) *out = nullptr;
  return guarded([&]() -> result<void> {
    if (!path || !out) return invalid("path and engine must not be NULL");
    auto opts = read_json(
        options_json, "options_json", true,
        [&](const json::value& v) { return options_from_json(path, v); });
    if (!opts) return opts.error();
    auto e = jobstate::engine::open(*opts);
    if (!e) return e.error();
    auto handle = std::make_unique<jobstate_engine>();
    handle->guard = std::make_shared<engine_guard>(std::move(*e));
    *out = handle.release();
    return {};
  });
}

int jobstate_engine_close(jobstate_engine* e) {
  return guarded([&]() -> result<void> {
    if (!e) return {};
    // Closing joins the thread that runs the engine's callbacks: from one
    // of them, it would wait for itself. Other blocking calls are fine there.
    bool from_callback = false;
    if (e->guard) {
      e->guard->try_call([&](jobstate::engine& eng) {
        from_callback = on_callback_thread(eng);
      });
    }
    if (from_callback) {
      return invalid(
          "jobstate_engine_close called from one of the engine's own "
          "callbacks, where it would wait for itself");
    }
    std::unique_ptr<jobstate_engine> handle(e);
    handle->guard->close();
    return {};
  });
}

int jobstate_engine_purge(jobstate_engine* e, const char* request_json,
                          char** result_json) {
  reset_out(result_json);
  return guarded([&]() -> result<void> {
    auto g = guard_of(e);
    if (!g) return g.error();
    auto request =
        read_json(request_json, "request_json", true, purge_request_from_json);
    if (!request) return request.error();
    auto r =
        (*g)->call([&](jobstate::engine& eng) { return eng.purge(*request); });
    if (!r) return r.error();
    give_json(result_json, to_json(*r));
    return {};
  });
}

int jobstate_engine_expire_leases(jobstate_engine* e, uint64_t* expired) {
  if (expired) *expired = 0;
  return guarded([&]() -> result<void> {
    auto g = guard_of(e);
    if (!g) return g.error();
    auto r =
        (*g)->call([](jobstate::engine& eng) { return eng.expire_leases(); });
    if (!r) return r.error();
    if (expired) *expired = *r;
    return {};
  });
}

int jobstate_job_claim(jobstate_engine* e, const char* request_json,
                       char** job_json, int* claimed) {
  reset_out(job_json);
  if (claimed) *claimed = 0;
  return guarded([&]() -> result<void> {
    auto g = guard_of(e);
    if (!g) return g.error();
    if (!job_json) {
      return invalid(
          "job_json must not be NULL: the claimed job's id and lease epoch "
          "are needed to finish it");
    }
    auto request =
        read_json(request_json, "request_json", false, claim_request_from_json);
    if (!request) return request.error();
    auto r = call_to_completion<std::optional<jobstate::job>>(
        **g, "claim", [&](jobstate::engine& eng, auto handler) {
          jobstate::async_claim(eng, std::move(*request), std::move(handler));
        });
    if (!r) return r.error();
    if (*r) {
      give_json(job_json, jobstate::to_json(**r));
      if (claimed) *claimed = 1;
    }
    return {};
  });
}

int jobstate_job_heartbeat(jobstate_engine* e, const char* account_id,
                           const char* project_id, const char* job_id,
                           const char* progress_json, const char* options_json,
                           char** job_json, int* cancelled) {
  if (cancelled) *cancelled = 0;
  return mutate(e, account_id, project_id, job_id, job_json,
                [&](jobstate::engine& eng,
                    const jobstate::job_ref& ref) -> result<jobstate::job> {
                  std::optional<jobstate::progress> p;
                  if (progress_json) {
                    auto read = read_json(progress_json, "progress_json", false,
                                          progress_from_json);
                    if (!read) return read.error();
                    p = std::move(*read);
                  }
                  auto opts = read_mutation_options(options_json);
                  if (!opts) return opts.error();
                  auto beat = eng.heartbeat(ref, *opts, p);
                  if (!beat) return beat.error();
                  if (cancelled) *cancelled = beat->cancelled ? 1 : 0;
                  return std::move(beat->job);
                });
}

int jobstate_engine_changes(jobstate_engine* e, uint64_t after, size_t limit,
                            char** batch_json) {
  reset_out(batch_json);
  return guarded([&]() -> result<void> {
    auto g = guard_of(e);
    if (!g) return g.error();
    if (!batch_json) return invalid("batch_json must not be NULL");
    auto r = (*g)->call(
        [&](jobstate::engine& eng) { return eng.changes(after, limit); });
    if (!r) return r.error();
    give_json(batch_json, to_json(*r));
    return {};
  });
}

int jobstate_engine_last_sequence(jobstate_engine* e, uint64_t* sequence) {
  return guarded([&]() -> result<void> {
    auto g = guard_of(e);
    if (!g) return g.error();
    if (!sequence) return invalid("sequence must not be NULL");
    auto r =
        (*g)->call([&](jobstate::engine& eng) { return eng.last_sequence(); });
    if (!r) return r.error();
    *sequence = *r;
    return {};
  });
}

// -------------------------------------------------------------------- jobs

int jobstate_job_create(jobstate_engine* e, const char* request_json,
                        char** job_json, int* created) {
  reset_out(job_json);
  return guarded([&]() -> result<void> {
    auto g = guard_of(e);
    if (!g) return g.error();
    auto request = read_json(request_json, "request_json", false,
                             create_request_from_json);
    if (!request) return request.error();
    auto r =
        (*g)->call([&](jobstate::engine& eng) { return eng.create(*request); });
    if (!r) return r.error();
    give_json(job_json, jobstate::to_json(r->job));
    if (created) *created = r->created ? 1 : 0;
    return {};
  });
}

int jobstate_job_create_batch(jobstate_engine* e, const char* request_json,
                              char** batch_json, int* created) {
  reset_out(batch_json);
  return guarded([&]() -> result<void> {
    auto g = guard_of(e);
    if (!g) return g.error();
    auto r = (*g)->call(
        [&](jobstate::engine& eng) -> result<jobstate::created_batch> {
          auto request = read_json(
              request_json, "request_json", false, [&](const json::value& v) {
                return batch_request_from_json(
                    v, eng.options().limits.max_batch_children);
              });
          if (!request) return request.error();
          return eng.create_batch(*request);
        });
    if (!r) return r.error();
    give_json(batch_json, to_json(*r));
    if (created) *created = r->created ? 1 : 0;
    return {};
  });
}

int jobstate_job_get(jobstate_engine* e, const char* account_id,
                     const char* project_id, const char* job_id,
                     char** job_json) {
  reset_out(job_json);
  return guarded([&]() -> result<void> {
    auto g = guard_of(e);
    if (!g) return g.error();
    if (!job_json) return invalid("job_json must not be NULL");
    auto ref = ref_of(account_id, project_id, job_id);
    if (!ref) return ref.error();
    auto j = (*g)->call([&](jobstate::engine& eng) { return eng.get(*ref); });
    if (!j) return j.error();
    give_json(job_json, jobstate::to_json(*j));
    return {};
  });
}

int jobstate_job_start(jobstate_engine* e, const char* account_id,
                       const char* project_id, const char* job_id,
                       const char* options_json, char** job_json) {
  return mutate(e, account_id, project_id, job_id, job_json,
                [&](jobstate::engine& eng,
                    const jobstate::job_ref& ref) -> result<jobstate::job> {
                  auto opts = read_mutation_options(options_json);
                  if (!opts) return opts.error();
                  return eng.start(ref, *opts);
                });
}

int jobstate_job_progress(jobstate_engine* e, const char* account_id,
                          const char* project_id, const char* job_id,
                          const char* progress_json, const char* options_json,
                          char** job_json) {
  return mutate(e, account_id, project_id, job_id, job_json,
                [&](jobstate::engine& eng,
                    const jobstate::job_ref& ref) -> result<jobstate::job> {
                  auto p = read_json(progress_json, "progress_json", false,
                                     progress_from_json);
                  if (!p) return p.error();
                  auto opts = read_mutation_options(options_json);
                  if (!opts) return opts.error();
                  return eng.report_progress(ref, *p, *opts);
                });
}

int jobstate_job_complete(jobstate_engine* e, const char* account_id,
                          const char* project_id, const char* job_id,
                          const char* completion_json, const char* options_json,
                          char** job_json) {
  return mutate(e, account_id, project_id, job_id, job_json,
                [&](jobstate::engine& eng,
                    const jobstate::job_ref& ref) -> result<jobstate::job> {
                  auto c = read_json(completion_json, "completion_json", false,
                                     completion_from_json);
                  if (!c) return c.error();
                  auto opts = read_mutation_options(options_json);
                  if (!opts) return opts.error();
                  return eng.complete(ref, *c, *opts);
                });
}

int jobstate_job_cancel(jobstate_engine* e, const char* account_id,
                        const char* project_id, const char* job_id,
                        const char* reason, const char* options_json,
                        char** job_json) {
  return mutate(e, account_id, project_id, job_id, job_json,
                [&](jobstate::engine& eng,
                    const jobstate::job_ref& ref) -> result<jobstate::job> {
                  auto opts = read_mutation_options(options_json);
                  if (!opts) return opts.error();
                  return eng.cancel(ref, reason ? reason : "", *opts);
                });
}

int jobstate_job_rerun(jobstate_engine* e, const char* account_id,
                       const char* project_id, const char* job_id,
                       const char* options_json, char** job_json) {
  return mutate(e, account_id, project_id, job_id, job_json,
                [&](jobstate::engine& eng,
                    const jobstate::job_ref& ref) -> result<jobstate::job> {
                  auto opts = read_json(options_json, "options_json", true,
                                        rerun_options_from_json);
                  if (!opts) return opts.error();
                  return eng.rerun(ref, *opts);
                });
}

int jobstate_job_list(jobstate_engine* e, const char* query_json,
                      char** page_json) {
  reset_out(page_json);
  return guarded([&]() -> result<void> {
    auto g = guard_of(e);
    if (!g) return g.error();
    if (!page_json) return invalid("page_json must not be NULL");
    auto q = read_json(query_json, "query_json", false, list_query_from_json);
    if (!q) return q.error();
    auto page = (*g)->call([&](jobstate::engine& eng) { return eng.list(*q); });
    if (!page) return page.error();
    give_json(page_json, to_json(*page));
    return {};
  });
}

int jobstate_job_list_children(jobstate_engine* e, const char* account_id,
                               const char* project_id, const char* parent_id,
                               const char* query_json, char** page_json) {
  reset_out(page_json);
  return guarded([&]() -> result<void> {
    auto g = guard_of(e);
    if (!g) return g.error();
    if (!page_json) return invalid("page_json must not be NULL");
    auto ref = ref_of(account_id, project_id, parent_id);
    if (!ref) return ref.error();
    auto q =
        read_json(query_json, "query_json", true, [&](const json::value& v) {
          return children_query_from_json(*ref, v);
        });
    if (!q) return q.error();
    auto page = (*g)->call(
        [&](jobstate::engine& eng) { return list_children(eng, *ref, *q); });
    if (!page) return page.error();
    give_json(page_json, to_json(*page));
    return {};
  });
}

// ------------------------------------------------------------------- waits

int jobstate_job_wait(jobstate_engine* e, const char* account_id,
                      const char* project_id, const char* job_id,
                      const char* condition_json, int64_t timeout_ms,
                      char** job_json, int* timed_out) {
  reset_out(job_json);
  return guarded([&]() -> result<void> {
    auto g = guard_of(e);
    if (!g) return g.error();
    auto ref = ref_of(account_id, project_id, job_id);
    if (!ref) return ref.error();
    auto condition = read_json(condition_json, "condition_json", true,
                               wait_condition_from_json);
    if (!condition) return condition.error();
    auto r = call_to_completion<jobstate::wait_result>(
        **g, "wait", [&](jobstate::engine& eng, auto handler) {
          jobstate::async_wait(eng, *ref, *condition,
                               timeout_from_ms(timeout_ms), std::move(handler));
        });
    if (!r) return r.error();
    give_json(job_json, jobstate::to_json(r->job));
    if (timed_out) *timed_out = r->timed_out ? 1 : 0;
    return {};
  });
}

int jobstate_wait_create(jobstate_engine* e, const char* account_id,
                         const char* project_id, const char* job_id,
                         const char* condition_json, int64_t timeout_ms,
                         jobstate_wait_callback callback, void* user_data,
                         jobstate_wait** wait) {
  if (wait) *wait = nullptr;
  return guarded([&]() -> result<void> {
    auto g = guard_of(e);
    if (!g) return g.error();
    if (!callback) return invalid("callback must not be NULL");
    auto ref = ref_of(account_id, project_id, job_id);
    if (!ref) return ref.error();
    auto condition = read_json(condition_json, "condition_json", true,
                               wait_condition_from_json);
    if (!condition) return condition.error();

    auto op = std::make_shared<c_wait>(e->guard, callback, user_data);
    std::unique_ptr<jobstate_wait> handle;
    if (wait) handle = std::make_unique<jobstate_wait>(jobstate_wait{op});
    auto started = (*g)->call([&](jobstate::engine& eng) -> result<void> {
      auto lock = op->lock();
      jobstate::async_wait(eng, *ref, *condition, timeout_from_ms(timeout_ms),
                           op->handler(eng.get_executor()));
      return {};
    });
    if (!started) return started.error();
    if (wait) *wait = handle.release();
    return {};
  });
}

int jobstate_wait_cancel(jobstate_wait* wait) {
  return guarded([&]() -> result<void> {
    if (!wait) return invalid("wait is NULL");
    wait->op->cancel();
    return {};
  });
}

void jobstate_wait_destroy(jobstate_wait* wait) { delete wait; }
