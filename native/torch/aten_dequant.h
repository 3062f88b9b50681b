// ggml blocks widened with ATen ops, on whatever device holds them: the GPU
// keeps a quantized weight as its blocks and widens one matrix (or the rows
// an embedding lookup needs) at the moment it is used. The CPU runs the same
// ops, so the CPU tests cover the code the GPU runs. Bit-identical to
// detail::dequantize_blocks (same f32 products in the same order; ATen's
// elementwise ops do not fuse a multiply and an add).
#pragma once

#include <ATen/ATen.h>

#include "format/format.h"

namespace ws::detail {

// `blocks`: uint8, contiguous, a whole number of `dtype`'s blocks (any shape).
// Returns float32 [blocks, elements per block] on the same device.
// `dtype` must be one of the ggml block types (dtype_is_quantized).
at::Tensor dequantize_blocks_aten(DType dtype, const at::Tensor& blocks);

}  // namespace ws::detail
