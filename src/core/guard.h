// The last line of defence at an entry point (main, the C++ API): an exception
// from below (std::bad_alloc, std::system_error when a thread cannot start, a
// bug) becomes a typed Error instead of leaving a library that promises none.
// Library code still returns errors as values; this only catches what slipped.
// Builds without exceptions (WebAssembly) compile it to a plain call: there,
// inputs are validated before anything that could fail is attempted.
#pragma once

#include <new>
#include <stdexcept>
#include <string>
#include <system_error>

#include "core/result.h"

namespace ws {

// Error for the exception being handled (call only inside a catch block).
inline Error error_from_current_exception(const std::string& what) {
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
  try {
    throw;
  } catch (const std::bad_alloc&) {
    return make_error(ErrorKind::OutOfBudget, what + ": out of memory");
  } catch (const std::length_error& e) {
    return make_error(ErrorKind::OutOfBudget, what + ": a size beyond what can be allocated (" + e.what() + ")");
  } catch (const std::system_error& e) {
    return make_error(ErrorKind::Io, what + ": the system refused (" + e.what() + ")");
  } catch (const std::exception& e) {
    return make_error(ErrorKind::Io, what + ": unexpected error (" + e.what() + ")");
  } catch (...) {
    return make_error(ErrorKind::Io, what + ": unexpected error");
  }
#else
  return make_error(ErrorKind::Io, what + ": unexpected error");
#endif
}

// f() (returning a Status or a Result<T>), with any exception it throws
// returned as an Error naming `what`.
template <typename F>
auto call_guarded(const std::string& what, F&& f) -> decltype(f()) {
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
  try {
    return f();
  } catch (...) {
    return error_from_current_exception(what);
  }
#else
  return f();
#endif
}

}  // namespace ws
