// The 16-row interleaved layout of Q4_0 and Q8_0 weights, for the packed
// kernels (quant_kernels.h: QuantKernelTable::packed; AVX-512 and AVX2).
//
// Why: the row-major ggml layout makes a decode GEMV spend ~12 instructions
// per 32-value block on one row (unpack, dot product, convert, scale, and
// reducing the lanes of each row at the end). With 16 rows side by side one
// 512-bit lane per row holds that row's running sum: a 4-byte slice of the
// activation block is broadcast to all lanes and one vpdpbusd multiplies it
// with the matching 4 bytes of 16 rows, the 16 f16 scales convert in one
// instruction, and no horizontal sum is needed (about 2.5 instructions per
// block; AVX2 does the same with vpmaddubsw on two 8-row halves). The bytes are only rearranged: a packed matrix takes exactly the
// bytes of the ggml one (as llama.cpp's Q4_0 repacks for AVX2/AVX-512).
//
// Rows are taken in groups of 16 from the start of the matrix; the rows
// after the last whole group keep the ggml layout, so row r's group starts
// at byte (r / 16) * 16 * row_bytes either way. Within a group, the blocks
// of column b (one from each of the 16 rows) are one unit of 16 * block_bytes:
//   f16 d[16]                        the rows' scales, row order
//   Q4_0: u8 qs[4][16][4]            [g][r] = row r's qs[4g .. 4g+3]: the low
//                                    nibbles are elements 4g.., the high ones
//                                    16 + 4g.. (the ggml pairing, unchanged)
//   Q8_0: u8 qs[8][16][4]            [g][r] = row r's qs[4g .. 4g+3] + 128
//                                    (as unsigned bytes: x ^ 0x80), so the
//                                    u8 x i8 dot product applies; the kernel
//                                    takes 128 * sum(x) off, exactly.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backend/kernels/quant_kernels.h"

namespace ws::kernels::quant {

constexpr size_t kPackRows = 16;

inline bool packable(QuantType type) { return type == kQ4_0 || type == kQ8_0; }

// Rewrites rows [16 * first_group, 16 * end_group) of a row-major matrix
// (k values a row, k a multiple of 32) into the packed layout, in place;
// `w` is the matrix start. Groups are independent, so callers may split
// them over threads. Only for packable types.
void pack_groups(QuantType type, uint8_t* w, size_t k, size_t first_group, size_t end_group);
// The inverse (tests, and any reader that needs the ggml bytes back).
void unpack_groups(QuantType type, uint8_t* w, size_t k, size_t first_group, size_t end_group);

}  // namespace ws::kernels::quant
