// Errors are values: every fallible function returns Status or Result<T>.
// Exceptions are not used anywhere in the library (Emscripten builds disable
// them by default and a server or browser tab must never be torn down by us).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace ws {

// What went wrong, as a value callers can switch on. The web build exposes the
// same names as JS error kinds, so keep the list stable and append only.
enum class ErrorKind {
  InvalidArgument,  // the caller's request makes no sense (bad option, bad path form)
  Io,               // the operating system refused (open, read, stat)
  Http,             // an HTTP transfer failed (status code, connection)
  InvalidHeader,    // a safetensors / gguf header breaks the format
  InvalidIndex,     // model.safetensors.index.json disagrees with itself or the shards
  InvalidConfig,    // config.json is missing fields or has impossible values
  Truncated,        // the data ended before the header said it would
  ShapeMismatch,    // a tensor has a different shape than the model expects
  MissingTensor,    // the model needs a tensor the checkpoint does not have
  UnexpectedTensor, // the checkpoint has a tensor the model does not know
  Unsupported,      // valid input we do not handle (dtype conversion, model type)
  OutOfBudget,      // a size limit was hit (header cap, memory budget)
  Cancelled,        // the caller asked to stop
  NotFound,         // a file or URL that does not exist (ENOENT, HTTP 404)
  Device,           // the GPU or its driver failed (CUDA errors, no device)
  Timeout,          // a deadline passed (an HTTP response, one read, a whole load)
  Template,         // a (chat) template failed to parse or render, or called raise_exception
};
// The last kind: bindings that list every kind (Python, JS) loop up to it.
constexpr ErrorKind kLastErrorKind = ErrorKind::Template;

const char* error_kind_name(ErrorKind kind);

struct Error {
  ErrorKind kind;
  std::string message;  // names the file, tensor and byte offset where known

  std::string to_string() const { return std::string(error_kind_name(kind)) + ": " + message; }
};

// Ok, or an Error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT: implicit on purpose
  static Status ok() { return Status(); }

  bool is_ok() const { return !error_.has_value(); }
  explicit operator bool() const { return is_ok(); }
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

// A T, or an Error.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}        // NOLINT: implicit on purpose
  Result(Error error) : error_(std::move(error)) {}     // NOLINT
  Result(Status status) : error_(status.error()) {}     // only for a failed Status

  bool is_ok() const { return value_.has_value(); }
  explicit operator bool() const { return is_ok(); }
  const Error& error() const { return *error_; }
  Status status() const { return is_ok() ? Status() : Status(*error_); }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  std::optional<Error> error_;
};

inline Error make_error(ErrorKind kind, std::string message) { return Error{kind, std::move(message)}; }

}  // namespace ws

// Propagate-or-continue, as in abseil: `WS_TRY(status_expr);`
#define WS_TRY(expr)                                   \
  do {                                                 \
    ::ws::Status ws_try_status_ = (expr);              \
    if (!ws_try_status_.is_ok()) return ws_try_status_.error(); \
  } while (0)

#define WS_CONCAT_INNER(a, b) a##b
#define WS_CONCAT(a, b) WS_CONCAT_INNER(a, b)
// `WS_ASSIGN_OR_RETURN(auto x, result_expr);`
#define WS_ASSIGN_OR_RETURN(lhs, expr) WS_ASSIGN_OR_RETURN_IMPL(WS_CONCAT(ws_result_, __LINE__), lhs, expr)
#define WS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.is_ok()) return tmp.error();          \
  lhs = std::move(tmp).value()
