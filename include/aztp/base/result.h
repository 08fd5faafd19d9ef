// Result<T>: a value or an Error, shaped like C++23 std::expected so that a
// later switch is an alias change. The library never throws across its API.
#pragma once

#include <cassert>
#include <cstdlib>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "aztp/base/error.h"

namespace aztp {

// Result holds either a T or an Error. Copyable and movable when T is.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  // value() on an error is a programming error and aborts.
  T& value() & { return Get(); }
  const T& value() const& { return const_cast<Result*>(this)->Get(); }
  T&& value() && { return std::move(Get()); }
  T& operator*() & { return Get(); }
  const T& operator*() const& { return const_cast<Result*>(this)->Get(); }
  T&& operator*() && { return std::move(Get()); }
  T* operator->() { return &Get(); }
  const T* operator->() const { return &const_cast<Result*>(this)->Get(); }

  const Error& error() const& {
    if (v_.index() != 1) std::abort();
    return std::get<1>(v_);
  }
  Error&& error() && {
    if (v_.index() != 1) std::abort();
    return std::get<1>(std::move(v_));
  }

 private:
  T& Get() {
    if (v_.index() != 0) std::abort();
    return std::get<0>(v_);
  }
  std::variant<T, Error> v_;
};

// Result<void> is success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::in_place, std::move(error)) {}

  bool has_value() const { return !error_.has_value(); }
  explicit operator bool() const { return has_value(); }
  const Error& error() const& {
    if (!error_) std::abort();
    return *error_;
  }
  Error&& error() && {
    if (!error_) std::abort();
    return std::move(*error_);
  }

 private:
  std::optional<Error> error_;
};

// Status is the result of a call that produces no value.
using Status = Result<void>;

// Ok returns a successful Status.
inline Status Ok() { return Status(); }

}  // namespace aztp

#define AZTP_CONCAT_INNER_(a, b) a##b
#define AZTP_CONCAT_(a, b) AZTP_CONCAT_INNER_(a, b)

// AZTP_RETURN_IF_ERROR(expr) returns the error of a Status or Result `expr`.
#define AZTP_RETURN_IF_ERROR(expr)                                         \
  do {                                                                     \
    auto&& aztp_status_ = (expr);                                          \
    if (!aztp_status_.has_value()) return std::move(aztp_status_).error(); \
  } while (false)

// AZTP_ASSIGN_OR_RETURN(lhs, expr) evaluates the Result `expr`; on error it
// returns the error, otherwise it moves the value into `lhs`.
#define AZTP_ASSIGN_OR_RETURN(lhs, expr) \
  AZTP_ASSIGN_OR_RETURN_IMPL_(AZTP_CONCAT_(aztp_result_, __LINE__), lhs, expr)
#define AZTP_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr)    \
  auto tmp = (expr);                                   \
  if (!tmp.has_value()) return std::move(tmp).error(); \
  lhs = std::move(tmp).value()
