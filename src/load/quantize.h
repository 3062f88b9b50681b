// Quantisation of f32 values into the ggml block types, one scalar reference
// per format. Q8_0, Q4_0, Q4_1, Q5_0 and Q5_1 reproduce the `gguf` Python
// package's quantizer (gguf-py quants.py) operation for operation, so their
// blocks are bit-identical to it; tests compare against it. gguf-py has no
// quantizer for the K-quants: Q4_K, Q5_K and Q6_K follow the definition
// llama.cpp's models are made with (ggml-quants.c quantize_row_q*_K_ref:
// per sub-block scale/min search, then 6-bit or 8-bit scales per super-block),
// written here from that algorithm.
#pragma once

#include <cstdint>

#include "format/format.h"

namespace ws::detail {

// Quantises `blocks * dtype_block_elements(dtype)` floats at `in` into
// `blocks` whole blocks of `dtype` (a ggml block type) at `out`. Never
// allocates. Finite inputs give the reference's blocks; NaN or infinite inputs
// give some valid block (no undefined behaviour), not a specified one.
void quantize_blocks(DType dtype, const float* in, uint8_t* out, uint64_t blocks);

// True for the block types quantize_blocks can write.
bool can_quantize_to(DType dtype);

}  // namespace ws::detail
