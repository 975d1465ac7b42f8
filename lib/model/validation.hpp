// Input validation: every check a request passes before anything is written.
#ifndef JOBSTATE_MODEL_VALIDATION_HPP
#define JOBSTATE_MODEL_VALIDATION_HPP

#include <jobstate/options.hpp>
#include <jobstate/requests.hpp>
#include <jobstate/result.hpp>

#include <string_view>

namespace jobstate::model {

/// Deepest nesting of arrays and objects accepted in any JSON value.
inline constexpr int max_json_depth = 64;

/// Options an engine can be opened with.
result<void> validate_options(const options& opts);

/// A required identifier (account, project): non-empty, valid UTF-8, no
/// control characters, at most limits.max_id_size bytes.
result<void> validate_id(std::string_view field, std::string_view value,
                         const limits& lim);

/// account_id and project_id of a reference or query.
result<void> validate_scope(std::string_view account_id,
                            std::string_view project_id, const limits& lim);

/// Free text (error codes and messages, reasons): valid UTF-8 within
/// limits.max_text_size.
result<void> validate_text(std::string_view field, std::string_view value,
                           const limits& lim);

/// A JSON value whose serialized form must fit limits.max_json_size.
result<void> validate_json(std::string_view field,
                           const boost::json::value& value, const limits& lim);

result<void> validate(const create_request& r, const limits& lim);
result<void> validate(const batch_request& r, const limits& lim);
result<void> validate(const job_ref& r, const limits& lim);
result<void> validate(const mutation_options& o, const limits& lim);
result<void> validate(const progress& p, const limits& lim);
result<void> validate(const completion& c, const limits& lim);
result<void> validate(const rerun_options& o, const limits& lim);
result<void> validate(const list_query& q, const limits& lim);
result<void> validate(const claim_request& r, const limits& lim);
/// A kind as create takes it: printable UTF-8, 1 to max_kind_size bytes.
result<void> validate_kind(std::string_view field, std::string_view kind,
                           const limits& lim);

/// True when `s` is well-formed UTF-8.
bool is_valid_utf8(std::string_view s) noexcept;

}  // namespace jobstate::model

#endif  // JOBSTATE_MODEL_VALIDATION_HPP
