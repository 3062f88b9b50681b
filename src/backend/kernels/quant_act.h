// Quantized activation rows: the 8-bit form each weight type is multiplied
// with (ggml's vec_dot_type). One layout per block size, shared by every ISA
// table, so a row quantized once can feed any table's gemm (the tests rely on
// that). A row of k values is laid out structure-of-arrays, with the int8
// values first so that SIMD loads of consecutive blocks are contiguous:
//
//  Q8 (32-element blocks; for Q4_0, Q4_1, Q5_0, Q5_1, Q8_0), nb = k / 32:
//    int8  qs[k]      x[c] ~= d[c / 32] * qs[c]
//    float d[nb]      block scale, max |x| / 127 (0 for an all-zero block)
//    int32 sum[nb]    sum of the block's qs (for the offsets of Q4_0/Q5_0)
//    float s[nb]      d * sum (ggml's Q8_1 "s", for the mins of Q4_1/Q5_1)
//  Q8_K (256-element blocks; for Q4_K, Q5_K, Q6_K), nb = k / 256:
//    int8  qs[k]
//    float d[nb]
//    int16 bsums[k / 16]   sums of each 16 consecutive qs (the K-quant mins)
//
// ggml stores the Q8_0 scale as f16; we keep f32, which only removes a
// rounding. Values are rounded to nearest, ties to even, so every table that
// quantizes produces the same bytes.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ws::kernels::quant {

struct ActQ8 {
  const int8_t* qs;
  const float* d;
  const int32_t* sum;
  const float* s;
};
struct ActQ8K {
  const int8_t* qs;
  const float* d;
  const int16_t* bsums;
};

inline size_t act_q8_row_bytes(size_t k) { return k + (k / 32) * 12; }
inline size_t act_q8k_row_bytes(size_t k) { return k + (k / 256) * 4 + (k / 16) * 2; }

inline ActQ8 act_q8_view(const void* row, size_t k) {
  const auto* p = static_cast<const uint8_t*>(row);
  const size_t nb = k / 32;
  return {reinterpret_cast<const int8_t*>(p), reinterpret_cast<const float*>(p + k),
          reinterpret_cast<const int32_t*>(p + k + nb * 4), reinterpret_cast<const float*>(p + k + nb * 8)};
}
inline ActQ8K act_q8k_view(const void* row, size_t k) {
  const auto* p = static_cast<const uint8_t*>(row);
  return {reinterpret_cast<const int8_t*>(p), reinterpret_cast<const float*>(p + k),
          reinterpret_cast<const int16_t*>(p + k + (k / 256) * 4)};
}

// Quantize x[0..k) into `out` (k a multiple of 32, resp. 256). `out` must be
// 4-byte aligned (the scales are read as floats).
void quantize_act_q8(const float* x, size_t k, void* out);
void quantize_act_q8k(const float* x, size_t k, void* out);

// The values a quantized row stands for (d * qs), for tests.
void dequantize_act_q8(const void* row, size_t k, float* out);
void dequantize_act_q8k(const void* row, size_t k, float* out);

}  // namespace ws::kernels::quant
