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
//    return early);
//  - per-operation cancellation through the token's cancellation slot
//    (terminal, partial and total cancellation are all supported: cancelling
//    has no side effect) completes it with asio::error::operation_aborted;
//  - destroying the engine completes pending operations with
//    operation_aborted.
// A handler with no associated executor of its own (a plain callback) runs on
// the engine thread that completed it: keep such handlers short, and never
// call a blocking engine member from one (it could wait on that very thread).
// Bind an executor (asio::bind_executor) to run anywhere else.
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
                                              progress p,
                                              mutation_options opts,
                                              mutation_handler handler);
JOBSTATE_EXPORT void initiate_complete(engine& e, job_ref ref, completion c,
                                       mutation_options opts,
                                       mutation_handler handler);
JOBSTATE_EXPORT void initiate_cancel(engine& e, job_ref ref,
                                     std::string reason,
                                     mutation_options opts,
                                     mutation_handler handler);
JOBSTATE_EXPORT void initiate_rerun(engine& e, job_ref ref,
                                    rerun_options opts,
                                    mutation_handler handler);
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
// so one thread can keep many in flight. When a mutation loses a race
// (illegal_transition, conflict), the job argument is the job as it now is,
// so the caller sees at once why. Invalid input completes with
// invalid_argument or too_large and queues nothing. A mutation cannot be
// cancelled once initiated (the cancellation slot is not used).

/// engine::create, asynchronously. Completes with (ec, created_job).
template <boost::asio::completion_token_for<create_signature> CompletionToken>
auto async_create(engine& e, create_request request, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, create_signature>(
      [](auto handler, engine* eng, create_request r) {
        detail::initiate_create(*eng, std::move(r), std::move(handler));
      },
      token, &e, std::move(request));
}

/// engine::create_batch, asynchronously. Completes with (ec, created_batch).
template <boost::asio::completion_token_for<create_batch_signature>
              CompletionToken>
auto async_create_batch(engine& e, batch_request request,
                        CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, create_batch_signature>(
      [](auto handler, engine* eng, batch_request r) {
        detail::initiate_create_batch(*eng, std::move(r), std::move(handler));
      },
      token, &e, std::move(request));
}

/// engine::start, asynchronously. Completes with (ec, job).
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

/// engine::report_progress, asynchronously. Completes with (ec, job).
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

/// engine::complete, asynchronously. Completes with (ec, job).
template <boost::asio::completion_token_for<mutation_signature> CompletionToken>
auto async_complete(engine& e, job_ref ref, completion c,
                    mutation_options opts, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, mutation_signature>(
      [](auto handler, engine* eng, job_ref r, completion cc,
         mutation_options o) {
        detail::initiate_complete(*eng, std::move(r), std::move(cc),
                                  std::move(o), std::move(handler));
      },
      token, &e, std::move(ref), std::move(c), std::move(opts));
}

/// engine::cancel, asynchronously. Completes with (ec, job).
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

/// engine::rerun, asynchronously. Completes with (ec, job): the new job.
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
