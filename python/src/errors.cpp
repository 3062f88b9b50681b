#include "errors.h"

#include <map>
#include <string>

namespace py = pybind11;

namespace ws::python {

namespace {

// Filled once by weightstream/errors.py at import (_set_error_classes); the
// classes live as long as the interpreter, so borrowed pointers suffice.
std::map<std::string, PyObject*>& error_classes() {
  static std::map<std::string, PyObject*> classes;
  return classes;
}

}  // namespace

void register_errors(py::module_& m) {
  m.def("_set_error_classes", [](const py::dict& classes) {
    for (auto item : classes) {
      py::object cls = py::reinterpret_borrow<py::object>(item.second);
      error_classes()[py::cast<std::string>(item.first)] = cls.inc_ref().ptr();
    }
  });
  m.def("_error_kinds", []() {
    py::list names;
    for (int k = 0; k <= static_cast<int>(kLastErrorKind); ++k) {
      names.append(error_kind_name(static_cast<ErrorKind>(k)));
    }
    return names;
  });
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const WsError& e) {
      auto found = error_classes().find(error_kind_name(e.error.kind));
      PyObject* cls = found != error_classes().end() ? found->second : PyExc_RuntimeError;
      PyErr_SetString(cls, e.error.message.c_str());
    }
  });
}

}  // namespace ws::python
