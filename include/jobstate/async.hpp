// Asynchronous operations on Boost.Asio: mutations, waits and the change
// feed.
//
// Each function follows Asio's conventions:
//  - any completion token: a callback, asio::use_future, asio::use_awaitable,
//    asio::deferred, ...;
//  - the handler is never invoked from within the initiating function, even
//    when the answer is known at once;
//  - it completes on the handler's associated executor, whose work is
//    tracked while the operation is pending (io_context::run() does not
//    return early); a handler with no associated executor of its own (a
//    plain callback, use_future) completes on the engine's executor
//    (engine::get_executor(): options::executor, or a thread of the
//    engine's own). No handler ever runs on the thread that commits or on
//    the one that runs timeouts: a handler may block, even call the
//    engine's blocking members, without delaying any commit or timeout;
//    it delays only the handlers queued behind it on its executor;
//  - the handler's associated allocator allocates the delivery, and its
//    associated cancellation slot is cleared just before it runs;
//  - per-operation cancellation through the token's cancellation slot
//    (terminal, partial and total cancellation are all supported: cancelling
//    has no side effect) completes waits and watches with
//    asio::error::operation_aborted (mutations are not cancellable);
//  - destroying the engine: mutations already initiated are committed, and
//    complete with their results; those initiated during the destruction
//    (from a handler) complete with engine_closed; pending waits and
//    watches complete with operation_aborted. Handlers on the engine's own
//    thread have all run when the destructor returns; handlers on other
//    executors (a bound one, or options::executor) run when those
//    executors run them.
// Error codes are jobstate::errc values carried in a boost::system::error_code
// (compare with `std::error_code(ec) == jobstate::errc::not_found`).
#ifndef JOBSTATE_ASYNC_HPP
#define JOBSTATE_ASYNC_HPP

#include <jobstate/engine.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <string>
#include <utility>

namespace jobstate {

/// Completion signature of async_create.
using create_signature = void(boost::system::error_code, created_job);
/// Completion signature of async_create_batch.
using create_batch_signature = void(boost::system::error_code, created_batch);
/// Completion signature of async_start, async_report_progress,
/// async_complete, async_cancel and async_rerun.
using mutation_signature = void(boost::system::error_code, job);
/// Completion signature of async_claim: the claimed job, or none.
using claim_signature = void(boost::system::error_code, std::optional<job>);
/// Completion signature of async_heartbeat.
using heartbeat_signature = void(boost::system::error_code, heartbeat_result);
/// Completion signature of async_wait.
using wait_signature = void(boost::system::error_code, wait_result);
/// Completion signature of async_watch.
using watch_signature = void(boost::system::error_code, change_batch);

namespace detail {
using create_handler = boost::asio::any_completion_handler<create_signature>;
using mutation_handler =
    boost::asio::any_completion_handler<mutation_signature>;
JOBSTATE_EXPORT void initiate_create(engine& e, create_request request,
                                     create_handler handler);
JOBSTATE_EXPORT void initiate_create_batch(
    engine& e, batch_request request,
    boost::asio::any_completion_handler<create_batch_signature> handler);
JOBSTATE_EXPORT void initiate_start(engine& e, job_ref ref,
                                    mutation_options opts,
                                    mutation_handler handler);
JOBSTATE_EXPORT void initiate_report_progress(engine& e, job_ref ref,
                                              progress p, mutation_options opts,
                                              mutation_handler handler);
JOBSTATE_EXPORT void initiate_complete(engine& e, job_ref ref, completion c,
                                       mutation_options opts,
                                       mutation_handler handler);
JOBSTATE_EXPORT void initiate_cancel(engine& e, job_ref ref, std::string reason,
                                     mutation_options opts,
                                     mutation_handler handler);
JOBSTATE_EXPORT void initiate_rerun(engine& e, job_ref ref, rerun_options opts,
                                    mutation_handler handler);
JOBSTATE_EXPORT void initiate_claim(
    engine& e, claim_request request,
    boost::asio::any_completion_handler<claim_signature> handler);
JOBSTATE_EXPORT void initiate_heartbeat(
    engine& e, job_ref ref, mutation_options opts, std::optional<progress> p,
    boost::asio::any_completion_handler<heartbeat_signature> handler);
JOBSTATE_EXPORT void initiate_wait(
    engine& e, job_ref ref, wait_condition condition,
    std::chrono::milliseconds timeout,
    boost::asio::any_completion_handler<wait_signature> handler);
JOBSTATE_EXPORT void initiate_watch(
    engine& e, watch_request request,
    boost::asio::any_completion_handler<watch_signature> handler);
}  // namespace detail

// Asynchronous mutations: the same operations, validation and errors as the
// blocking members of `engine` (see engine.hpp), without blocking a thread
// on the commit's fsync. Each completes after its change is durable, with
// the job's new snapshot; concurrent mutations share commits (group commit),
// so one thread can keep many in flight.
//
// Completion, for every mutation:
//  - success: (no error, the result);
//  - the mutation lost a race (illegal_transition, conflict, lease_lost):
//    the job argument is the job as it now is, so the caller sees at once
//    why (for async_heartbeat, the result's job);
//  - invalid input completes with invalid_argument or too_large, at once
//    and never inside the initiating function, and queues nothing;
//  - engine_closed: initiated while the engine is being destroyed;
//  - any other error of the blocking member (not_found, gone,
//    already_exists, storage_full, io_error, ...): a default result.
// Errors are jobstate::errc values: `std::error_code(ec) ==
// jobstate::errc::not_found`. A mutation cannot be cancelled once initiated
// (the cancellation slot is not used). Thread-safety: as the engine's
// members, any thread may initiate any number at once. REQUIRES: the engine
// outlives the initiation (not the completion: the destructor completes
// what it committed).

/// engine::create, asynchronously.
/// @param[in] e The engine.
/// @param[in] request As engine::create.
/// @param[in] token Completion token, signature
///   void(boost::system::error_code, created_job).
/// Errors: invalid_argument, too_large (nothing queued), already_exists,
/// gone, storage_full, engine_closed, io_error.
template <boost::asio::completion_token_for<create_signature> CompletionToken>
auto async_create(engine& e, create_request request, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, create_signature>(
      [](auto handler, engine* eng, create_request r) {
        detail::initiate_create(*eng, std::move(r), std::move(handler));
      },
      token, &e, std::move(request));
}

/// engine::create_batch, asynchronously.
/// @param[in] e The engine.
/// @param[in] request As engine::create_batch.
/// @param[in] token Completion token, signature
///   void(boost::system::error_code, created_batch).
/// Errors: as async_create; invalid_argument also for no children, too_large
/// for more than limits.max_batch_children.
template <
    boost::asio::completion_token_for<create_batch_signature> CompletionToken>
auto async_create_batch(engine& e, batch_request request,
                        CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, create_batch_signature>(
      [](auto handler, engine* eng, batch_request r) {
        detail::initiate_create_batch(*eng, std::move(r), std::move(handler));
      },
      token, &e, std::move(request));
}

/// engine::start, asynchronously.
/// @param[in] e The engine.
/// @param[in] ref The job.
/// @param[in] opts Expected revision (compare-and-set) and event details.
/// @param[in] token Completion token, signature void(error_code, job).
/// Errors: invalid_argument (malformed ref), not_found, gone,
/// illegal_transition, conflict (with the job as it now is), storage_full,
/// engine_closed, io_error.
template <boost::asio::completion_token_for<mutation_signature> CompletionToken>
auto async_start(engine& e, job_ref ref, mutation_options opts,
                 CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, mutation_signature>(
      [](auto handler, engine* eng, job_ref r, mutation_options o) {
        detail::initiate_start(*eng, std::move(r), std::move(o),
                               std::move(handler));
      },
      token, &e, std::move(ref), std::move(opts));
}

/// engine::report_progress, asynchronously.
/// @param[in] e The engine.
/// @param[in] ref The job, which must be running.
/// @param[in] p The progress, replacing the previous one.
/// @param[in] opts As async_start.
/// @param[in] token Completion token, signature void(error_code, job).
/// Errors: invalid_argument (percent outside 0..100, counts that do not add
/// up), too_large, not_found, gone, illegal_transition, conflict,
/// storage_full, engine_closed, io_error.
template <boost::asio::completion_token_for<mutation_signature> CompletionToken>
auto async_report_progress(engine& e, job_ref ref, progress p,
                           mutation_options opts, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, mutation_signature>(
      [](auto handler, engine* eng, job_ref r, progress pr,
         mutation_options o) {
        detail::initiate_report_progress(*eng, std::move(r), std::move(pr),
                                         std::move(o), std::move(handler));
      },
      token, &e, std::move(ref), std::move(p), std::move(opts));
}

/// engine::complete, asynchronously.
/// @param[in] e The engine.
/// @param[in] ref The job, which must be running.
/// @param[in] c Its outcome (succeeded, partially_succeeded, failed).
/// @param[in] opts As async_start.
/// @param[in] token Completion token, signature void(error_code, job).
/// Errors: as async_report_progress.
template <boost::asio::completion_token_for<mutation_signature> CompletionToken>
auto async_complete(engine& e, job_ref ref, completion c, mutation_options opts,
                    CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, mutation_signature>(
      [](auto handler, engine* eng, job_ref r, completion cc,
         mutation_options o) {
        detail::initiate_complete(*eng, std::move(r), std::move(cc),
                                  std::move(o), std::move(handler));
      },
      token, &e, std::move(ref), std::move(c), std::move(opts));
}

/// engine::cancel, asynchronously.
/// @param[in] e The engine.
/// @param[in] ref The job, pending or running.
/// @param[in] reason Recorded as the job's error message.
/// @param[in] opts As async_start.
/// @param[in] token Completion token, signature void(error_code, job).
/// Errors: as async_report_progress.
template <boost::asio::completion_token_for<mutation_signature> CompletionToken>
auto async_cancel(engine& e, job_ref ref, std::string reason,
                  mutation_options opts, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, mutation_signature>(
      [](auto handler, engine* eng, job_ref r, std::string why,
         mutation_options o) {
        detail::initiate_cancel(*eng, std::move(r), std::move(why),
                                std::move(o), std::move(handler));
      },
      token, &e, std::move(ref), std::move(reason), std::move(opts));
}

/// engine::rerun, asynchronously.
/// @param[in] e The engine.
/// @param[in] ref The job, which must be terminal.
/// @param[in] opts Correlation id and details of the new job.
/// @param[in] token Completion token, signature void(error_code, job): the
///   new job.
/// Errors: invalid_argument, not_found, gone, illegal_transition (not
/// terminal), storage_full, engine_closed, io_error.
template <boost::asio::completion_token_for<mutation_signature> CompletionToken>
auto async_rerun(engine& e, job_ref ref, rerun_options opts,
                 CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, mutation_signature>(
      [](auto handler, engine* eng, job_ref r, rerun_options o) {
        detail::initiate_rerun(*eng, std::move(r), std::move(o),
                               std::move(handler));
      },
      token, &e, std::move(ref), std::move(opts));
}

/// engine::claim, asynchronously, and the way for a worker to wait for
/// work: when nothing is claimable it waits, without polling, up to
/// request.wait for a job it could take to be created (in this process or
/// another); each new job wakes the oldest waiting claim that could take
/// it, and only that one.
/// @param[in] e The engine.
/// @param[in] request As engine::claim.
/// @param[in] token Completion token, signature
///   void(boost::system::error_code, std::optional<job>).
/// Completes with the claimed job; with no job when request.wait passed
/// with nothing claimable; with operation_aborted when the token's
/// cancellation slot is emitted while it waits (a claim already committing
/// completes with its job, which the caller then holds: heartbeat or
/// complete it). Errors: as engine::claim.
template <boost::asio::completion_token_for<claim_signature> CompletionToken>
auto async_claim(engine& e, claim_request request, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, claim_signature>(
      [](auto handler, engine* eng, claim_request r) {
        detail::initiate_claim(*eng, std::move(r), std::move(handler));
      },
      token, &e, std::move(request));
}

/// engine::heartbeat, asynchronously (completion as the mutations above).
/// @param[in] e The engine.
/// @param[in] ref, opts, p As engine::heartbeat (opts.lease_epoch required).
/// @param[in] token Completion token, signature
///   void(boost::system::error_code, heartbeat_result).
/// Errors: as engine::heartbeat.
template <
    boost::asio::completion_token_for<heartbeat_signature> CompletionToken>
auto async_heartbeat(engine& e, job_ref ref, mutation_options opts,
                     std::optional<progress> p, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, heartbeat_signature>(
      [](auto handler, engine* eng, job_ref r, mutation_options o,
         std::optional<progress> pr) {
        detail::initiate_heartbeat(*eng, std::move(r), std::move(o),
                                   std::move(pr), std::move(handler));
      },
      token, &e, std::move(ref), std::move(opts), std::move(p));
}

/// Waits until `condition` holds for the job `ref` names, or `timeout`
/// passes (wait_forever: no timeout; 0: check once).
///
/// Completes with (ec, wait_result):
///  - no error, timed_out false: the condition holds for result.job (at once
///    when it already held);
///  - no error, timed_out true: the timeout passed; result.job is the latest
///    snapshot;
///  - not_found: no such job in this tenancy; gone: the job was (or has just
///    been) purged; invalid_argument: a malformed ref;
///  - operation_aborted: cancelled, or the engine was destroyed.
template <boost::asio::completion_token_for<wait_signature> CompletionToken>
auto async_wait(engine& e, job_ref ref, wait_condition condition,
                std::chrono::milliseconds timeout, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, wait_signature>(
      [](auto handler, engine* eng, job_ref r, wait_condition c,
         std::chrono::milliseconds t) {
        detail::initiate_wait(*eng, std::move(r), c, t, std::move(handler));
      },
      token, &e, std::move(ref), condition, timeout);
}

/// Waits for changes matching `request` in the change feed: completes as
/// soon as at least one commits after request.after (at once when some
/// already have), with up to request.limit of them; or, when none matches for
/// request.bookmark_after, with an empty batch whose last_sequence is the
/// latest sequence (a bookmark: resume from it). A consumer that restarts
/// from the last sequence it saw misses nothing.
///
/// Completes with (ec, change_batch). Errors: expired (request.after is older
/// than the feed retains: list jobs again, then watch from last_sequence()),
/// invalid_argument, operation_aborted (cancelled, engine destroyed).
template <boost::asio::completion_token_for<watch_signature> CompletionToken>
auto async_watch(engine& e, watch_request request, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, watch_signature>(
      [](auto handler, engine* eng, watch_request r) {
        detail::initiate_watch(*eng, std::move(r), std::move(handler));
      },
      token, &e, std::move(request));
}

}  // namespace jobstate

#endif  // JOBSTATE_ASYNC_HPP
