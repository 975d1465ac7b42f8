// result<T>: a value or a jobstate::error, returned by every blocking call.
#ifndef JOBSTATE_RESULT_HPP
#define JOBSTATE_RESULT_HPP

#include <jobstate/error.hpp>

#include <type_traits>
#include <utility>
#include <variant>

namespace jobstate {

/// Holds either a T or an `error`. Test it with `if (r)`, read it with `*r`
/// or `r->`, or call `value()`, which throws `jobstate::system_error` when
/// there is no value. A minimal stand-in for C++23's std::expected.
template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  result(jobstate::error e) : state_(std::in_place_index<1>, std::move(e)) {}
  result(errc code) : result(jobstate::error(code)) {}

  bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  /// REQUIRES: has_value().
  T& operator*() & { return std::get<0>(state_); }
  const T& operator*() const& { return std::get<0>(state_); }
  T&& operator*() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &std::get<0>(state_); }
  const T* operator->() const { return &std::get<0>(state_); }

  /// The value; throws jobstate::system_error when this holds an error.
  T& value() & { return throw_if_error(), **this; }
  const T& value() const& { return throw_if_error(), **this; }
  T&& value() && { return throw_if_error(), std::move(**this); }

  /// The error; an empty error (code 0) when this holds a value.
  const jobstate::error& error() const noexcept {
    static const jobstate::error none;
    return has_value() ? none : std::get<1>(state_);
  }
  /// Shorthand for error().code().
  std::error_code code() const noexcept {
    return has_value() ? std::error_code{} : std::get<1>(state_).code();
  }

 private:
  void throw_if_error() const {
    if (!has_value()) throw system_error(std::get<1>(state_));
  }
  std::variant<T, jobstate::error> state_;
};

/// result<void>: success or an error.
template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(jobstate::error e) : error_(std::move(e)) {}
  result(errc code) : error_(code) {}

  bool has_value() const noexcept { return !error_; }
  explicit operator bool() const noexcept { return has_value(); }
  void value() const {
    if (error_) throw system_error(error_);
  }
  const jobstate::error& error() const noexcept { return error_; }
  std::error_code code() const noexcept { return error_.code(); }

 private:
  jobstate::error error_;
};

}  // namespace jobstate

#endif  // JOBSTATE_RESULT_HPP
