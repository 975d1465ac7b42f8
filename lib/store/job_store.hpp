// The job store: records, indexes, tombstones and the change log, laid out
// in the tables of a storage backend (backend.hpp; LMDB by default).
// Knows nothing of Asio or of waiting; the engine drives it.
#ifndef JOBSTATE_STORE_JOB_STORE_HPP
#define JOBSTATE_STORE_JOB_STORE_HPP

#include <jobstate/options.hpp>
#include <jobstate/requests.hpp>
#include <jobstate/result.hpp>

#include "model/schedules.hpp"
#include "store/backend.hpp"
#include "store/codec.hpp"
#include "store/keys.hpp"
#include "store/meta.hpp"

#include <array>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace jobstate::store {

/// One index entry a job record implies: the index and the key (values are
/// empty). The idempotency entry, whose value is the job id, is not among
/// them.
struct index_entry {
  table index;
  std::string key;
};
/// Every entry that `j` has in the indexes, as written by insert and update.
std::vector<index_entry> index_entries(const job& j);
/// The indexes index_entries() lists entries of, in a fixed order.
inline constexpr table record_indexes[] = {
    table::by_scope,     table::by_status,        table::by_kind,
    table::by_parent,    table::by_parent_status, table::by_original,
    table::by_completed, table::by_claimable,     table::by_lease_expiry,
    table::by_deadline};
/// The job an entry of `index` (one of record_indexes) names: the id its
/// key ends with. Nothing when the key has not the size of that index's
/// keys.
std::optional<job_id> indexed_job(table index, std::string_view key);

/// Restricts a change feed read to one account (and project).
struct change_filter {
  std::optional<std::string> account_id;
  std::optional<std::string> project_id;
  bool matches(const change_record& c) const {
    return (!account_id || c.account_id == *account_id) &&
           (!project_id || c.project_id == *project_id);
  }
};

/// Where a change stands in the log: its sequence and commit time.
struct change_position {
  std::uint64_t sequence = 0;
  timestamp at{};
};

/// A page read from the change log.
struct change_feed_page {
  std::vector<change_record> changes;
  std::uint64_t last_examined = 0;  ///< Resume after this.
};

/// The last sequence number committed to the change log (0: none yet).
result<std::uint64_t> read_last_sequence(const snapshot& view);

/// How much of a job's history a read decodes. The record is one value
/// and each event another (codec.hpp), so reading less costs less.
enum class history_read : std::uint8_t {
  none,  ///< The record only: `history` is empty.
  last,  ///< The record and its last event: what a mutation needs.
  all,   ///< The record and every event.
};

/// A job as read from the store, with its history read as far as asked:
/// `value.history` holds the job's last events, and `events_before` says
/// how many come before them (0 when the whole history was read).
struct stored_job {
  job value;
  std::uint32_t events_before = 0;
  std::uint32_t history_length() const noexcept {
    return events_before + static_cast<std::uint32_t>(value.history.size());
  }
};

/// Reads shared by read and write transactions.
class txn_view {
 public:
  /// The job stored under `id`, with as much of its history as `how` says.
  /// Errors: corrupt (the record or an event does not decode, holds another
  /// job, or an event is missing), the backend's.
  result<std::optional<stored_job>> read(const job_id& id,
                                         history_read how) const;
  /// The job stored under `id`; without `with_history`, its history is
  /// left empty (no event is read).
  result<std::optional<job>> find(const job_id& id,
                                  bool with_history = true) const;
  /// The job's record as stored, not decoded nor checked; valid while the
  /// transaction lives. For tools and measurements.
  result<std::optional<std::string_view>> find_record(const job_id& id) const;
  result<std::optional<tombstone>> find_tombstone(const job_id& id) const;
  /// The job id an idempotency key maps to in a scope, if any.
  result<std::optional<job_id>> find_idempotent(std::string_view account_id,
                                                std::string_view project_id,
                                                std::string_view key) const;
  /// One page of a project's jobs, in query.order (see list_query).
  result<job_page> list(const list_query& q) const;
  /// The last sequence number committed to the change log (0: none yet).
  result<std::uint64_t> last_sequence() const;
  /// Jobs stored, by status (index = the status's value), all tenants: a
  /// walk over the status index's keys.
  result<std::array<std::uint64_t, 6>> count_by_status() const;
  /// Ids of all of `parent`'s children, oldest first.
  result<std::vector<job_id>> child_ids(const job_id& parent) const;
  /// Ids of `parent`'s children in status `s`, oldest first.
  result<std::vector<job_id>> children(const job_id& parent,
                                       job_status s) const;
  /// What a claim finds among the pending jobs (not batch parents) of one
  /// of `kinds` in the project: the first claimable at `now` (the soonest
  /// eligible, then the oldest), and else when the next one becomes so.
  struct claimable {
    std::optional<job_id> ready;
    std::optional<timestamp> next_at;  ///< Only when nothing is ready.
  };
  result<claimable> find_claimable(std::string_view account_id,
                                   std::string_view project_id,
                                   std::span<const std::string> kinds,
                                   timestamp now) const;
  /// An entry of idx_lease_expiry or idx_deadlines (the same key shape).
  struct due_entry {
    std::string key;
    job_id id;
  };
  /// The entries of both at or before `cutoff` whose key comes after
  /// `after` (empty: from the first), in key order (soonest first), at
  /// most `max`: pass the last key back for the next page. A job due for
  /// a lease and a deadline has an entry in each.
  result<std::vector<due_entry>> due_by(timestamp cutoff, std::size_t max,
                                        std::string_view after = {}) const;
  /// When the soonest lease expires or deadline passes, if any does.
  result<std::optional<timestamp>> next_due() const;
  /// Changes with sequence > after (see engine::changes and watch_request):
  /// at most `limit` matching ones, examining at most `scan_limit` entries.
  result<change_feed_page> read_changes(std::uint64_t after, std::size_t limit,
                                        const change_filter& filter,
                                        std::size_t scan_limit) const;

 protected:
  explicit txn_view(const snapshot& view) : view_(&view) {}
  result<std::optional<stored_job>> read_whole(const job_id& id) const;
  /// Ids that end the keys of `index` starting with `prefix`, in key order.
  result<std::vector<job_id>> ids_with_prefix(table index,
                                              const std::string& prefix) const;
  const snapshot* view_;
};

/// A consistent snapshot for reading. Cheap; hold it briefly (it pins the
/// pages it sees, and it blocks map growth while alive). A thread holds at
/// most one transaction at a time.
class read_txn : public txn_view {
 public:
  explicit read_txn(std::unique_ptr<snapshot> view)
      : txn_view(*view), owned_(std::move(view)) {}

 private:
  std::unique_ptr<snapshot> owned_;
};

/// What an update must know of a job as stored: the fields its index
/// entries are keyed by that a mutation may change, its revision, and
/// where its history ends (the last event, which a progress report at the
/// history limit replaces). Small, so that a mutation changes the job it
/// loaded instead of a copy of it.
struct stored_state {
  job_status status = job_status::pending;
  std::optional<timestamp> completed_at;
  std::uint64_t revision = 0;
  std::uint32_t history_length = 0;
  history_event last_event;
  /// When the lease the job runs under expires (its idx_lease_expiry
  /// entry); none when it runs under none or is not running.
  std::optional<timestamp> lease_expires_at;
  /// Its idx_deadlines entry's time (model::deadline), if it has one.
  std::optional<timestamp> deadline;
  /// The state of `j` as read; REQUIRES: its last event was read
  /// (history_read::last or all).
  static stored_state of(const stored_job& j) {
    return {j.value.status,          j.value.completed_at,
            j.value.revision,        j.history_length(),
            j.value.history.back(),  lease_expiry(j.value),
            model::deadline(j.value)};
  }
  /// The key time of `j`'s idx_lease_expiry entry, if it has one.
  static std::optional<timestamp> lease_expiry(const job& j) {
    if (j.status != job_status::running || !j.lease) return std::nullopt;
    return j.lease->expires_at;
  }
};

/// One job's part in a mutation, computed before anything is written:
/// write_txn::apply turns it into puts and deletes of keys (the record, its
/// index entries, a tombstone, a change-log entry). Refers to jobs the
/// mutation owns; valid while they live.
struct job_effect {
  enum class kind : std::uint8_t { insert, update, purge };
  kind what = kind::insert;
  /// The job to store (insert, update), with the last events of its
  /// history (insert: all of them), or to remove (purge; its events are
  /// found in the store).
  const job* subject = nullptr;
  /// How many events come before subject->history (see stored_job).
  std::uint32_t events_before = 0;
  stored_state before;    ///< update: the job as stored.
  std::string_view step;  ///< The step its change records.

  static job_effect inserted(const job& j) {
    return {kind::insert, &j, 0, {}, "created"};
  }
  /// `after` is the loaded job changed: its history holds the events read
  /// (at least the last) and those the mutation appended.
  static job_effect updated(const stored_state& before, const stored_job& after,
                            std::string_view step) {
    return {kind::update, &after.value, after.events_before, before, step};
  }
  static job_effect purged(const job& j) {
    return {kind::purge, &j, 0, {}, "purged"};
  }
};

/// A tombstone due to be forgotten, as tombstones_to_expire finds it.
struct expiring_tombstone {
  std::string age_key;  ///< Its key in idx_tombstone_age.
  job_id id;
  /// The idempotency entry that still names the purged job, if any.
  std::optional<std::string> idempotency_key;
};

/// The single writer's transaction. Mutations read through it, compute
/// their effects, then write them with apply(): a mutation that fails
/// before apply() writes nothing, so no mutation needs a savepoint of its
/// own. Writes of earlier mutations are visible to later reads, so two
/// mutations of one job in one batch see each other.
class write_txn : public txn_view {
 public:
  write_txn(std::unique_ptr<write_batch> batch, std::uint64_t last_seq)
      : txn_view(*batch), batch_(std::move(batch)), last_seq_(last_seq) {}

  /// Writes one mutation's effects, in order, each with its change-log
  /// entry. On error (a full map, an I/O error) the transaction is
  /// tainted(): part of the effects may be written, so it must be aborted.
  result<void> apply(std::span<const job_effect> effects, timestamp now);

  /// Terminal jobs completed before `cutoff`, oldest first, at most `max`.
  result<std::vector<job_id>> completed_before(timestamp cutoff,
                                               std::size_t max) const;
  /// Up to `max` tombstones made before `cutoff`, oldest first. Reads only.
  result<std::vector<expiring_tombstone>> tombstones_to_expire(
      timestamp cutoff, std::size_t max) const;
  /// Forgets the tombstones tombstones_to_expire found. An error taints.
  result<void> expire(std::span<const expiring_tombstone> tombstones);

  /// Changes recorded in this transaction, in sequence order.
  const std::vector<change_record>& changes() const noexcept {
    return changes_;
  }
  /// Whether anything was written (if not, there is nothing to commit).
  bool written() const noexcept { return written_; }
  /// Whether a write failed part-way: the transaction must be aborted.
  bool tainted() const noexcept { return tainted_; }

  /// Trims the change log to its retention (at most `budget` entries, so
  /// that one commit never pays for a long backlog). An error taints.
  result<void> trim_changes(std::uint64_t keep_count, timestamp cutoff,
                            std::size_t budget);
  /// Whether trim_changes would remove anything: the oldest change is
  /// beyond `keep_count` or older than `cutoff`. Reads only. When the
  /// answer is no and the log is not empty, `oldest` (if given) receives
  /// the oldest change's place.
  result<bool> changes_to_trim(
      std::uint64_t keep_count, timestamp cutoff,
      std::optional<change_position>* oldest = nullptr) const;
  /// The sequence of the latest change, this transaction's included.
  std::uint64_t last_appended() const noexcept { return last_seq_; }

  /// Commits everything; the transaction is finished either way, and the
  /// store may grow once this returns. REQUIRES: !tainted().
  result<void> commit();
  /// Abandons everything written; the store may grow once this returns.
  void abort() noexcept;

 private:
  // Every write goes through these two, which keep written_ and tainted_.
  result<void> put(table t, std::string_view key, std::string_view value,
                   put_mode mode = put_mode::upsert);
  result<void> del(table t, std::string_view key);

  result<void> insert(const job& j);
  result<void> update(const job_effect& e);
  result<void> purge(const job_effect& e, timestamp now);
  /// Puts `j`'s events from number `from` on, its history holding those
  /// from number `events_before`.
  result<void> put_events(const job& j, std::uint32_t events_before,
                          std::uint32_t from);
  result<void> record_change(const job& j, std::string_view step, timestamp at);

  std::unique_ptr<write_batch> batch_;
  std::uint64_t last_seq_;
  std::vector<change_record> changes_;
  bool written_ = false;
  bool tainted_ = false;
};

/// Jobs in a storage backend. Thread-safe: any thread may read; one thread
/// at a time may write (the engine's committer).
class job_store {
 public:
  /// Opens the embedded default: the LMDB database in `opts.path`, created
  /// (directory included) when missing.
  static result<std::unique_ptr<job_store>> open(const options& opts);
  /// Jobs in `storage`, which must hold this schema version's tables.
  explicit job_store(std::unique_ptr<backend> storage);
  ~job_store();

  /// REQUIRES: no transaction alive in the calling thread.
  result<read_txn> begin_read() const;
  /// REQUIRES: no other write_txn alive in this process, no transaction
  /// alive in the calling thread.
  result<write_txn> begin_write();

  /// Room for a write that found the store full (see backend): each
  /// REQUIRES no transaction alive in the calling thread.
  bool can_grow() const { return storage_->can_grow(); }
  result<bool> grow() { return storage_->grow(); }
  result<void> grow_for_purge(std::uint64_t bytes) {
    return storage_->grow_beyond_limit(bytes);
  }
  result<void> advance_transaction_id() {
    return storage_->recycle_freed_space();
  }

 private:
  std::unique_ptr<backend> storage_;
};

}  // namespace jobstate::store

#endif  // JOBSTATE_STORE_JOB_STORE_HPP
