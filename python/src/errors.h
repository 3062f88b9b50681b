// Core errors as Python exceptions: a ws::Error thrown as WsError is raised as
// the Python class registered for its kind (weightstream/errors.py defines one
// class per ErrorKind, all subclasses of weightstream.Error).
#pragma once

#include <pybind11/pybind11.h>

#include <stdexcept>

#include "core/result.h"

namespace ws::python {

// Carries a core Error across the binding; only ever thrown by the binding
// layer (the library below it returns errors as values).
struct WsError : std::runtime_error {
  explicit WsError(Error e) : std::runtime_error(e.message), error(std::move(e)) {}
  Error error;
};

[[noreturn]] inline void raise(const Error& error) { throw WsError(error); }
inline void raise_if_error(const Status& status) {
  if (!status.is_ok()) raise(status.error());
}

// `classes` maps every ErrorKind's name ("InvalidHeader", ...) to its Python
// class; installs the translator that raises them.
void register_errors(pybind11::module_& m);

}  // namespace ws::python
