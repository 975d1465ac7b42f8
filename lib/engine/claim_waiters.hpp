// Claims that wait for work (claim_request::wait): a long-poll for jobs.
// A claim that finds nothing waits here, without polling, until a job it
// could take is created (in this process or another) or its wait ends.
// Each new claimable job wakes the oldest waiting claim of its project and
// kind, and only that one, so that a job created while workers wait is
// claimed by one of them and the others sleep on. A job that becomes
// claimable later (run_after, a retry's backoff) is found by the claim that
// looked: it sleeps until then, on a timer of its own. What a claim leaves
// is handed on to the oldest other claim asleep that could take it: a
// claim that took a job and saw another ready wakes it; one that saw the
// next job due later, or that ends with its timer still armed, arms its
// timer.
#ifndef JOBSTATE_ENGINE_CLAIM_WAITERS_HPP
#define JOBSTATE_ENGINE_CLAIM_WAITERS_HPP

#include <jobstate/async.hpp>
#include <jobstate/requests.hpp>

#include "engine/completion.hpp"
#include "engine/mutations.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace jobstate::engine_detail {

class claim_waiters : public std::enable_shared_from_this<claim_waiters> {
 public:
  using handler = boost::asio::any_completion_handler<claim_signature>;
  using claim_answer = result<claim_found>;
  /// Queues one claim attempt; calls its second argument, from any thread,
  /// with the outcome once it is durable.
  using attempt_fn = std::function<void(const claim_request&,
                                        std::function<void(claim_answer)>)>;
  /// The kind of a job that was just created, when a claim could take it
  /// (pending and not a batch parent).
  using claimable_kind_fn =
      std::function<std::optional<std::string>(const job_id&)>;

  /// The kind of a created job as its commit knew it: nullopt inside when
  /// no claim can take it (a batch parent, or no longer pending).
  using known_kind = std::optional<std::string>;
  /// A job created in a project; `kind` unset when only a read can tell.
  struct created {
    job_id id;
    std::string account_id;
    std::string project_id;
    std::optional<known_kind> kind;
  };

  claim_waiters(boost::asio::io_context& io,
                boost::asio::any_io_executor fallback, attempt_fn attempt,
                claimable_kind_fn claimable_kind,
                std::function<timestamp()> clock);

  /// Claims for `request`, waiting up to request.wait when nothing is
  /// claimable. The handler's cancellation slot ends the wait (with
  /// operation_aborted), unless a claim is committing already: then the
  /// handler gets that claim's job, which is the caller's now. Any thread.
  void add(claim_request request, handler h);
  /// Jobs were created (by any process): wakes the claims that could take
  /// them. Any thread.
  void jobs_created(std::vector<created> jobs);
  /// Every waiting claim looks again (the feed was trimmed past what this
  /// process had read, so creations may have been missed). Any thread.
  void recheck_all();
  /// No claim is waiting or attempting: commits need not report creations.
  bool idle() const noexcept { return pending() == 0; }
  /// Claims initiated and not yet answered (engine_stats::claims_pending).
  std::size_t pending() const noexcept {
    return active_.load(std::memory_order_acquire);
  }
  /// Answers every waiting claim with operation_aborted and refuses new
  /// ones with engine_closed; claims committing get their own answers. On
  /// the io thread.
  void shutdown();

 private:
  enum class state : std::uint8_t { attempting, waiting };
  struct entry {
    claim_request request;
    pending_handler<handler> answer;
    std::unique_ptr<boost::asio::steady_timer> deadline;
    // Armed while asleep for a job that becomes claimable at eligible_at.
    std::unique_ptr<boost::asio::steady_timer> eligible;
    std::optional<timestamp> eligible_at;
    state now = state::attempting;
    bool missed_a_job = false;  // A job was created during the attempt.
    bool timed_out = false;
    bool cancelled = false;
  };
  using entries = std::map<std::uint64_t, entry>;  // Oldest first.

  // On the io thread, all of them.
  void start(std::uint64_t key, claim_request request,
             pending_handler<handler> answer,
             const std::atomic<bool>& cancelled);
  void attempt(std::uint64_t key);
  void attempted(std::uint64_t key, claim_answer answer);
  void expire(std::uint64_t key);
  void sleep_until(entry& e, std::uint64_t key, timestamp at);
  // The oldest claim asleep, other than `key`, that could take a job of
  // `from`'s kinds; entries_.end() when none.
  entries::iterator next_sleeper(std::uint64_t key, const entry& from);
  // A job `from` found is ready now (`at` unset) or at `at`: the next
  // sleeper looks now, or is woken then.
  void hand_on(std::uint64_t key, const entry& from,
               std::optional<timestamp> at);
  void cancel(std::uint64_t key);
  void finish(entries::iterator it, boost::system::error_code ec,
              std::optional<job> claimed);
  static bool wants(const entry& e, const created& c, const std::string& kind);

  boost::asio::io_context& io_;
  const boost::asio::any_io_executor fallback_;
  const attempt_fn attempt_;
  const claimable_kind_fn claimable_kind_;
  const std::function<timestamp()> clock_;
  std::atomic<std::size_t> active_{0};
  std::atomic<std::uint64_t> next_key_{0};
  // The io thread's alone.
  entries entries_;
  bool closed_ = false;
};

}  // namespace jobstate::engine_detail

#endif  // JOBSTATE_ENGINE_CLAIM_WAITERS_HPP
