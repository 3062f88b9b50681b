#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "backend/backend.h"

namespace ws {

namespace detail {

// Decode streams every weight once per token; with 4 KiB pages the TLB
// misses cost 15-25% of the GEMV bandwidth here (2 MiB pages: 14.2 vs 12.0
// GB/s on a 154 MB matrix). Only whole 2 MiB pages inside the buffer are
// advised, before the loader touches them; where THP is off this is a no-op.
void advise_huge_pages(uint8_t* data, uint64_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(kHuge - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)data;
  (void)bytes;
#endif
}

}  // namespace detail

uint64_t WeightTensor::numel() const {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  return n;
}

Result<uint64_t> WeightTensor::checked_numel(DType dtype, const std::vector<uint64_t>& shape) {
  if (dtype != DType::F32 && dtype != DType::F16 && dtype != DType::BF16 && !dtype_is_quantized(dtype)) {
    return make_error(ErrorKind::Unsupported, std::string("weight dtype ") + dtype_name(dtype) +
                                                  " (supported: F32, F16, BF16 and the ggml block types)");
  }
  uint64_t n = 1;
  for (uint64_t d : shape) {
    if (d != 0 && n > (uint64_t{1} << 48) / d) return make_error(ErrorKind::OutOfBudget, "weight shape overflows");
    n *= d;
  }
  if (dtype_is_quantized(dtype) && (shape.empty() || shape.back() % dtype_block_elements(dtype) != 0)) {
    return make_error(ErrorKind::Unsupported, std::string("a ") + dtype_name(dtype) + " weight needs rows of whole " +
                                                  std::to_string(dtype_block_elements(dtype)) + "-element blocks");
  }
  return n;
}

Result<WeightTensor> WeightTensor::allocate(DType dtype, std::vector<uint64_t> shape) {
  WS_ASSIGN_OR_RETURN(uint64_t n, checked_numel(dtype, shape));
  WS_ASSIGN_OR_RETURN(HostBuffer buffer, HostBuffer::allocate(dtype_storage_bytes(dtype, n)));
  WeightTensor tensor;
  tensor.dtype = dtype;
  tensor.shape = std::move(shape);
  tensor.storage = std::make_unique<HostBuffer>(std::move(buffer));
  return tensor;
}

// ---- handles to addresses (for Backend implementations) ----

void* Backend::address(const ComputeView& view) {
  return static_cast<uint8_t*>(view.buffer->base_) + view.offset * 4;  // both ComputeTypes are 4 bytes
}

const uint8_t* Backend::weight_bytes(const WeightTensor& weight) {
  return weight.storage ? static_cast<const uint8_t*>(weight.storage->compute_address()) : nullptr;
}

const float* Backend::weight_f32(const WeightTensor* weight) {
  return weight ? reinterpret_cast<const float*>(weight_bytes(*weight)) : nullptr;
}

// ---- the host defaults of Backend's memory ops ----

Result<ComputeBuffer> Backend::allocate_compute(size_t count, ComputeType type) {
  void* data = std::calloc(std::max<size_t>(count, 1), 4);
  if (!data) return make_error(ErrorKind::OutOfBudget, "cannot allocate " + std::to_string(count) + " elements");
  return make_compute_buffer(data, count, type, std::shared_ptr<void>(data, std::free));
}

void Backend::set(ComputeView dst, const void* host) {
  if (dst.count) std::memcpy(address(dst), host, dst.count * 4);
}

void Backend::get(ComputeView src, void* host) {
  if (src.count) std::memcpy(host, address(src), src.count * 4);
}

int32_t Backend::argmax(ComputeView x) {
  const float* v = f32(x);
  return static_cast<int32_t>(std::max_element(v, v + x.count) - v);
}

void Backend::copy_rows(ComputeView src, size_t src_stride, size_t n, size_t width, ComputeView rows,
                        ComputeView dst) {
  const float* from = f32(src);
  const int32_t* row_of = rows ? i32(rows) : nullptr;
  float* to = f32(dst);
  for (size_t t = 0; t < n; ++t) {
    const size_t row = row_of ? static_cast<size_t>(row_of[t]) : t;
    std::memcpy(to + row * width, from + t * src_stride, width * sizeof(float));
  }
}

size_t MatrixView::row_bytes() const {
  return static_cast<size_t>(dtype_storage_bytes(dtype, layout == WeightLayout::OutIn ? in : out));
}

MatrixView matrix_view(const WeightTensor& weight, WeightLayout layout) {
  MatrixView view;
  view.weight = &weight;
  view.dtype = weight.dtype;
  view.layout = layout;
  view.packed = weight.packed;
  const size_t rows = weight.shape.size() == 2 ? weight.shape[0] : 0;
  const size_t cols = weight.shape.size() == 2 ? weight.shape[1] : 0;
  view.out = layout == WeightLayout::OutIn ? rows : cols;
  view.in = layout == WeightLayout::OutIn ? cols : rows;
  return view;
}

}  // namespace ws
