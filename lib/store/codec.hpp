// Value encoding of what the store keeps: job records, history events,
// tombstones and change records. Layout: docs/storage.md. Every value starts
// with a format byte and ends with a CRC-32C of all bytes before it, so damage
// is detected on read.
#ifndef JOBSTATE_STORE_CODEC_HPP
#define JOBSTATE_STORE_CODEC_HPP

#include <jobstate/job.hpp>
#include <jobstate/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace jobstate::store {

/// What is left of a purged job, so that a get answers `gone` and its
/// idempotency key keeps finding it for a while.
struct tombstone {
  job_id id;
  std::string account_id;
  std::string project_id;
  job_status status = job_status::succeeded;
  std::uint64_t revision = 0;
  std::optional<std::string> idempotency_key;
  timestamp purged_at{};
  friend bool operator==(const tombstone&, const tombstone&) = default;
};

/// One entry of the change log: a committed mutation of one job.
struct change_record {
  std::uint64_t sequence = 0;
  timestamp at{};
  job_id id;
  std::string account_id;
  std::string project_id;
  job_status status = job_status::pending;
  std::uint64_t revision = 0;
  std::string step;  ///< The history step the mutation appended ("purged" too).
  friend bool operator==(const change_record&, const change_record&) = default;
};

/// A job record as schema 2 stores it: the job without its history, and
/// how many history events it has (each stored under a key of its own, so
/// that a write encodes and writes only the record and its new events).
struct stored_record {
  jobstate::job value;               ///< Its history is empty.
  std::uint32_t history_length = 0;  ///< At least 1 ("created").
};

/// The record of `j`: every field but the history, which is stored apart.
std::string encode_record(const job& j, std::uint32_t history_length);
result<stored_record> decode_record(std::string_view bytes);

/// One history event, as stored under its own key.
std::string encode(const history_event& e);
result<history_event> decode_event(std::string_view bytes);
/// As decode_event(bytes), into `out` (left partly overwritten on error):
/// a history read decodes straight into its vector.
result<void> decode_event(std::string_view bytes, history_event& out);

/// A schema-1 record (the history inside): read to migrate such a
/// database, written only by tests that make one.
std::string encode_v1(const job& j);
result<job> decode_job_v1(std::string_view bytes);

std::string encode(const tombstone& t);
result<tombstone> decode_tombstone(std::string_view bytes);

std::string encode(const change_record& c);
result<change_record> decode_change(std::string_view bytes);

/// CRC-32C (Castagnoli) of `bytes`.
std::uint32_t crc32c(std::string_view bytes) noexcept;

}  // namespace jobstate::store

#endif  // JOBSTATE_STORE_CODEC_HPP
