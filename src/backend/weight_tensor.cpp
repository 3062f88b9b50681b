#include <string>

#include "backend/backend.h"

namespace ws {

uint64_t WeightTensor::numel() const {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  return n;
}

Result<WeightTensor> WeightTensor::allocate(DType dtype, std::vector<uint64_t> shape) {
  if (dtype != DType::F32 && dtype != DType::F16 && dtype != DType::BF16) {
    return make_error(ErrorKind::Unsupported,
                      std::string("weight dtype ") + dtype_name(dtype) + " (supported: F32, F16, BF16)");
  }
  uint64_t n = 1;
  for (uint64_t d : shape) {
    if (d != 0 && n > (uint64_t{1} << 48) / d) return make_error(ErrorKind::OutOfBudget, "weight shape overflows");
    n *= d;
  }
  WeightTensor tensor;
  tensor.dtype = dtype;
  tensor.shape = std::move(shape);
  WS_ASSIGN_OR_RETURN(tensor.buffer, HostBuffer::allocate(n * dtype_size(dtype)));
  return tensor;
}

MatrixView matrix_view(const WeightTensor& weight, WeightLayout layout) {
  MatrixView view;
  view.data = weight.buffer.data();
  view.dtype = weight.dtype;
  view.layout = layout;
  const size_t rows = weight.shape.size() == 2 ? weight.shape[0] : 0;
  const size_t cols = weight.shape.size() == 2 ? weight.shape[1] : 0;
  view.out = layout == WeightLayout::OutIn ? rows : cols;
  view.in = layout == WeightLayout::OutIn ? cols : rows;
  return view;
}

}  // namespace ws
