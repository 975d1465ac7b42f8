// The compiled side of <jobstate/async.hpp>: each initiating function hands
// its type-erased handler to the engine.
#include <jobstate/async.hpp>

#include "engine/engine_impl.hpp"

namespace jobstate::detail {

using engine_detail::cancel_op;
using engine_detail::complete_op;
using engine_detail::progress_op;
using engine_detail::rerun_op;
using engine_detail::start_op;

void initiate_create(engine& e, create_request request,
                     create_handler handler) {
  engine_access::of(e).async_create(std::move(request), std::move(handler));
}

void initiate_create_batch(
    engine& e, batch_request request,
    boost::asio::any_completion_handler<create_batch_signature> handler) {
  engine_access::of(e).async_create_batch(std::move(request),
                                          std::move(handler));
}

void initiate_start(engine& e, job_ref ref, mutation_options opts,
                    mutation_handler handler) {
  engine_access::of(e).async_mutate(start_op{std::move(ref), std::move(opts)},
                                    std::move(handler));
}

void initiate_report_progress(engine& e, job_ref ref, progress p,
                              mutation_options opts, mutation_handler handler) {
  engine_access::of(e).async_mutate(
      progress_op{std::move(ref), std::move(p), std::move(opts)},
      std::move(handler));
}

void initiate_complete(engine& e, job_ref ref, completion c,
                       mutation_options opts, mutation_handler handler) {
  engine_access::of(e).async_mutate(
      complete_op{std::move(ref), std::move(c), std::move(opts)},
      std::move(handler));
}

void initiate_cancel(engine& e, job_ref ref, std::string reason,
                     mutation_options opts, mutation_handler handler) {
  engine_access::of(e).async_mutate(
      cancel_op{std::move(ref), std::move(reason), std::move(opts)},
      std::move(handler));
}

void initiate_rerun(engine& e, job_ref ref, rerun_options opts,
                    mutation_handler handler) {
  engine_access::of(e).async_mutate(rerun_op{std::move(ref), std::move(opts)},
                                    std::move(handler));
}

void initiate_claim(
    engine& e, claim_request request,
    boost::asio::any_completion_handler<claim_signature> handler) {
  engine_access::of(e).async_claim(std::move(request), std::move(handler));
}

void initiate_heartbeat(
    engine& e, job_ref ref, mutation_options opts, std::optional<progress> p,
    boost::asio::any_completion_handler<heartbeat_signature> handler) {
  engine_access::of(e).async_heartbeat(std::move(ref), std::move(opts),
                                       std::move(p), std::move(handler));
}

void initiate_wait(
    engine& e, job_ref ref, wait_condition condition,
    std::chrono::milliseconds timeout,
    boost::asio::any_completion_handler<wait_signature> handler) {
  engine_access::of(e).subs_->add_wait(std::move(ref), condition, timeout,
                                       std::move(handler));
}

void initiate_watch(
    engine& e, watch_request request,
    boost::asio::any_completion_handler<watch_signature> handler) {
  engine_access::of(e).subs_->add_watch(std::move(request), std::move(handler));
}

}  // namespace jobstate::detail
