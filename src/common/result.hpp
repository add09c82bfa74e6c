#pragma once
// Result<T>: a value or an Error with a kind, for operations that can fail in expected ways.

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace swarm {

/// What kind of failure an operation met; callers branch on this, humans read the message.
enum class ErrorKind { invalid, not_found, io, timeout, protocol, conflict, unauthorized, internal };

const char* to_string(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::internal;
  std::string message;
};

inline Error make_error(ErrorKind kind, std::string message) { return Error{kind, std::move(message)}; }

/// An io Error "<what>: <strerror(err)>" for a failed system call.
Error errno_error(const std::string& what, int err);

/// Holds either a T or an Error; `ok()` tells which.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : m_v(std::move(value)) {}
  Result(Error error) : m_v(std::move(error)) {}

  bool ok() const { return m_v.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(m_v); }
  const T& value() const& { return std::get<0>(m_v); }
  T value() && { return std::get<0>(std::move(m_v)); }  // by value: safe in range-for over a temporary
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const { return std::get<1>(m_v); }

 private:
  std::variant<T, Error> m_v;
};

/// Result of an operation that returns nothing on success.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : m_error(std::move(error)) {}
  bool ok() const { return !m_error; }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *m_error; }

 private:
  std::optional<Error> m_error;
};

using Status = Result<void>;

}  // namespace swarm
