// weightstream._native: the C++ core as seen from Python (weightstream/ wraps
// it in the public API).
#include <pybind11/pybind11.h>

#include "errors.h"

namespace ws::python {
void bind_source(pybind11::module_& m);
}

PYBIND11_MODULE(_native, m) {
  m.doc() = "weightstream's C++ core (load plan, executor, file/HTTP/GGUF sources)";
  ws::python::register_errors(m);
  ws::python::bind_source(m);
  // CUDA tensors are filled through torch's own CUDA (weightstream._staging):
  // this extension links neither CUDA nor LibTorch. weightstream.has_cuda()
  // asks torch at call time.
}
