// Dequantisation of the ggml block types to f32: scalar reference kernels with
// exactly ggml's arithmetic (ggml-quants.c, dequantize_row_*), which the
// `gguf` Python package reproduces operation for operation; tests compare
// against that package bit for bit.
#pragma once

#include <cstdint>

#include "format/format.h"

namespace ws::detail {

// Dequantises `blocks` whole blocks of `dtype` (a ggml block type) from `in`
// into `blocks * dtype_block_elements(dtype)` floats at `out`.
void dequantize_blocks(DType dtype, const uint8_t* in, float* out, uint64_t blocks);

// IEEE binary16 -> binary32, exact.
float half_to_float(uint16_t h);

}  // namespace ws::detail
