// Keys of the sub-databases. Fixed-size keys keep every index far below
// LMDB's 511-byte key limit whatever the configured id sizes: variable text
// (tenancy, kind, idempotency key) is hashed, and every lookup through a
// hashed key checks the record it reaches, so a collision can never leak a
// job across tenants. Layout: docs/storage.md.
#ifndef JOBSTATE_STORE_KEYS_HPP
#define JOBSTATE_STORE_KEYS_HPP

#include <jobstate/job.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace jobstate::store::keys {

/// A 128-bit hash, stable across platforms and versions (it is on disk).
using digest = std::array<std::uint8_t, 16>;
digest hash128(std::string_view a, std::string_view b = {});

/// 16 bytes naming an (account, project) pair.
digest scope(std::string_view account_id, std::string_view project_id);

/// jobs: a job's record is keyed by its id (16).
std::string id(const job_id& id);
job_id id_at(std::string_view key, std::size_t offset);

/// jobs: event `n` (from 0) of a job's history is keyed by the job's id (16)
/// then n (4, big-endian), so that a job's events sort right after its
/// record, in order, and a new event is appended after the last.
std::string history_event(const job_id& id, std::uint32_t n);
inline constexpr std::size_t history_event_size = 16 + 4;
/// The event number of a history_event key.
std::uint32_t event_number_at(std::string_view key);

/// idx_scope: scope(16) id(16).
std::string by_scope(const digest& scope, const job_id& id);
/// idx_status: scope(16) status(1) id(16).
std::string by_status(const digest& scope, job_status s, const job_id& id);
std::string status_prefix(const digest& scope, job_status s);
/// idx_kind: scope(16) hash(kind)(16) id(16).
std::string by_kind(const digest& scope, std::string_view kind,
                    const job_id& id);
std::string kind_prefix(const digest& scope, std::string_view kind);
/// idx_claimable: the pending jobs a worker may claim (batch parents are
/// not), scope(16) hash(kind)(16) big-endian micros(8) id(16): by the time
/// each becomes claimable (model::eligible_at), then oldest first.
std::string by_claimable(const digest& scope, std::string_view kind,
                         timestamp eligible_at, const job_id& id);
/// The offset of the time in an idx_claimable key.
inline constexpr std::size_t claimable_time_offset = 32;
/// idx_parent and idx_original: other job's id(16) id(16).
std::string by_related(const job_id& related, const job_id& id);
/// idx_parent_status: parent id(16) status(1) id(16).
std::string by_parent_status(const job_id& parent, job_status s,
                             const job_id& id);
std::string parent_status_prefix(const job_id& parent, job_status s);
/// idx_idempotency: scope(16) hash(key)(16) → job id.
std::string idempotency(const digest& scope, std::string_view key);
/// idx_completed, idx_tombstone_age, idx_lease_expiry (the running jobs
/// under a lease, by its expiry) and idx_deadlines (pending and running
/// jobs with a time limit, by when it runs out): big-endian micros(8)
/// id(16).
std::string by_time(timestamp t, const job_id& id);
/// The time of a by_time key, or of another key's 8 bytes at `offset`.
timestamp time_at(std::string_view key, std::size_t offset = 0);
/// changes: big-endian sequence(8).
std::string sequence(std::uint64_t seq);
std::uint64_t sequence_at(std::string_view key);

}  // namespace jobstate::store::keys

#endif  // JOBSTATE_STORE_KEYS_HPP
