// What the meta table holds (docs/storage.md): the magic that marks a
// jobstate database, its schema version and the change log's position.
#ifndef JOBSTATE_STORE_META_HPP
#define JOBSTATE_STORE_META_HPP

#include <cstdint>
#include <string_view>

namespace jobstate::store {

/// The schema version this build writes and reads (meta key "schema").
inline constexpr std::uint32_t schema_version = 4;

inline constexpr std::string_view meta_magic_key = "magic";
inline constexpr std::string_view meta_magic = "jobstate";
inline constexpr std::string_view meta_schema_key = "schema";
inline constexpr std::string_view meta_last_seq_key = "last_sequence";

}  // namespace jobstate::store

#endif  // JOBSTATE_STORE_META_HPP
