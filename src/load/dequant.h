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

// Q4_K/Q5_K's 6-bit scale and min of sub-block j from the 12 packed bytes
// (get_scale_min_k4 in ggml).
void scale_min_k4(int j, const uint8_t* packed, uint8_t& scale, uint8_t& min);

// IEEE binary16 -> binary32, exact.
float half_to_float(uint16_t h);

}  // namespace ws::detail
