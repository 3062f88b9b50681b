// Scalar reference of the quantized matrix products: for each weight block,
// an exact integer dot product of its quantized values with the activation
// block's int8 values, then the float scales, in the order ggml's reference
// vec_dot_*_q8_* uses:
//   Q4_0, Q5_0, Q8_0: (dw * dx) * sum((q - offset) * qx)
//   Q4_1, Q5_1:       (dw * dx) * sum(q * qx) + m * s_x          (s_x = dx * sum qx)
//   Q4_K, Q5_K:       (d * dx) * sum_g sc_g * sum(q * qx) - (dmin * dx) * sum_g min_g * sum_g(qx)
//   Q6_K:             (d * dx) * sum_g sc_g * sum((q - 32) * qx)
// accumulated in one float per output. The SIMD tables must agree with this
// up to float rounding (the integer parts are exact in both).
#include <cstring>

#include "backend/kernels/kernels.h"
#include "backend/kernels/quant_act.h"
#include "backend/kernels/quant_blocks.h"
#include "backend/kernels/quant_kernels.h"

namespace ws::kernels {

namespace {

using namespace quant;

inline float half(const uint8_t* p) { return f16_to_f32(load_u16(p)); }

// Element j (0..31) of a 32-element block's nibbles: low nibbles are 0..15.
inline int nibble(const uint8_t* qs, int j) { return j < 16 ? qs[j] & 0xF : qs[j - 16] >> 4; }

float dot_q4_0(const uint8_t* w, const ActQ8& a, size_t nb) {
  float sum = 0.0f;
  for (size_t b = 0; b < nb; ++b, w += kBlockBytes[kQ4_0]) {
    const int8_t* x = a.qs + b * 32;
    int32_t isum = 0;
    for (int j = 0; j < 32; ++j) isum += (nibble(w + 2, j) - 8) * x[j];
    sum += (half(w) * a.d[b]) * static_cast<float>(isum);
  }
  return sum;
}

float dot_q4_1(const uint8_t* w, const ActQ8& a, size_t nb) {
  float sum = 0.0f;
  for (size_t b = 0; b < nb; ++b, w += kBlockBytes[kQ4_1]) {
    const int8_t* x = a.qs + b * 32;
    int32_t isum = 0;
    for (int j = 0; j < 32; ++j) isum += nibble(w + 4, j) * x[j];
    sum += (half(w) * a.d[b]) * static_cast<float>(isum) + half(w + 2) * a.s[b];
  }
  return sum;
}

// The fifth bit of element j is bit j of the 32-bit qh.
inline int five_bits(const uint8_t* qs, uint32_t qh, int j) { return nibble(qs, j) | static_cast<int>(((qh >> j) & 1) << 4); }

float dot_q5_0(const uint8_t* w, const ActQ8& a, size_t nb) {
  float sum = 0.0f;
  for (size_t b = 0; b < nb; ++b, w += kBlockBytes[kQ5_0]) {
    const int8_t* x = a.qs + b * 32;
    const uint32_t qh = load_u32(w + 2);
    int32_t isum = 0;
    for (int j = 0; j < 32; ++j) isum += (five_bits(w + 6, qh, j) - 16) * x[j];
    sum += (half(w) * a.d[b]) * static_cast<float>(isum);
  }
  return sum;
}

float dot_q5_1(const uint8_t* w, const ActQ8& a, size_t nb) {
  float sum = 0.0f;
  for (size_t b = 0; b < nb; ++b, w += kBlockBytes[kQ5_1]) {
    const int8_t* x = a.qs + b * 32;
    const uint32_t qh = load_u32(w + 4);
    int32_t isum = 0;
    for (int j = 0; j < 32; ++j) isum += five_bits(w + 8, qh, j) * x[j];
    sum += (half(w) * a.d[b]) * static_cast<float>(isum) + half(w + 2) * a.s[b];
  }
  return sum;
}

float dot_q8_0(const uint8_t* w, const ActQ8& a, size_t nb) {
  float sum = 0.0f;
  for (size_t b = 0; b < nb; ++b, w += kBlockBytes[kQ8_0]) {
    const int8_t* x = a.qs + b * 32;
    const auto* q = reinterpret_cast<const int8_t*>(w + 2);
    int32_t isum = 0;
    for (int j = 0; j < 32; ++j) isum += q[j] * x[j];
    sum += (half(w) * a.d[b]) * static_cast<float>(isum);
  }
  return sum;
}

// Q4_K and Q5_K: group g (0..7) of 32 elements reads the low (g even) or high
// (g odd) nibbles of qs[32 * (g / 2) ..][0..32); Q5_K's fifth bit is bit g of qh[l].
template <bool kFiveBits>
float dot_q45_k(const uint8_t* w, const ActQ8K& a, size_t nb) {
  constexpr QuantType kType = kFiveBits ? kQ5_K : kQ4_K;
  float sum = 0.0f;
  for (size_t b = 0; b < nb; ++b, w += kBlockBytes[kType]) {
    uint8_t scale[8], min[8];
    unpack_scales_k4(w + 4, scale, min);
    const uint8_t* qh = w + 16;
    const uint8_t* qs = w + (kFiveBits ? 48 : 16);
    const int8_t* x = a.qs + b * 256;
    const int16_t* bsums = a.bsums + b * 16;
    int32_t isum = 0, mins = 0;
    for (int g = 0; g < 8; ++g) {
      int32_t gsum = 0;
      for (int l = 0; l < 32; ++l) {
        int q = (qs[32 * (g / 2) + l] >> (4 * (g % 2))) & 0xF;
        if (kFiveBits) q |= ((qh[l] >> g) & 1) << 4;
        gsum += q * x[32 * g + l];
      }
      isum += scale[g] * gsum;
      mins += min[g] * (bsums[2 * g] + bsums[2 * g + 1]);
    }
    sum += (half(w) * a.d[b]) * static_cast<float>(isum) - (half(w + 2) * a.d[b]) * static_cast<float>(mins);
  }
  return sum;
}

// Q6_K: each half of 128 elements has ql[64], qh[32] and 8 scales; element
// 32 * g + l (g < 4, l < 32) is the nibble g / 2 of ql[l + 32 * (g % 2)] with
// bits 2g, 2g+1 of qh[l] on top, minus 32, and has scale sc[2g + l / 16].
float dot_q6_k(const uint8_t* w, const ActQ8K& a, size_t nb) {
  float sum = 0.0f;
  for (size_t b = 0; b < nb; ++b, w += kBlockBytes[kQ6_K]) {
    const auto* sc = reinterpret_cast<const int8_t*>(w + 192);
    const int8_t* x = a.qs + b * 256;
    int32_t isum = 0;
    for (int half_index = 0; half_index < 2; ++half_index) {
      const uint8_t* ql = w + 64 * half_index;
      const uint8_t* qh = w + 128 + 32 * half_index;
      for (int g = 0; g < 4; ++g) {
        for (int part = 0; part < 2; ++part) {
          int32_t gsum = 0;
          for (int l = 16 * part; l < 16 * part + 16; ++l) {
            const int q = (((ql[l + 32 * (g % 2)] >> (4 * (g / 2))) & 0xF) | (((qh[l] >> (2 * g)) & 3) << 4)) - 32;
            gsum += q * x[128 * half_index + 32 * g + l];
          }
          isum += sc[8 * half_index + 2 * g + part] * gsum;
        }
      }
    }
    sum += (half(w + 208) * a.d[b]) * static_cast<float>(isum);
  }
  return sum;
}

template <float (*Dot)(const uint8_t*, const ActQ8&, size_t)>
void gemm_q8(size_t m, size_t n, size_t k, const void* xq, const void* w, size_t w_row_bytes, float* y, size_t ys) {
  for (size_t i = 0; i < m; ++i) {
    const ActQ8 a = act_q8_view(static_cast<const uint8_t*>(xq) + i * act_q8_row_bytes(k), k);
    for (size_t j = 0; j < n; ++j) y[i * ys + j] = Dot(static_cast<const uint8_t*>(w) + j * w_row_bytes, a, k / 32);
  }
}

template <float (*Dot)(const uint8_t*, const ActQ8K&, size_t)>
void gemm_q8k(size_t m, size_t n, size_t k, const void* xq, const void* w, size_t w_row_bytes, float* y, size_t ys) {
  for (size_t i = 0; i < m; ++i) {
    const ActQ8K a = act_q8k_view(static_cast<const uint8_t*>(xq) + i * act_q8k_row_bytes(k), k);
    for (size_t j = 0; j < n; ++j) y[i * ys + j] = Dot(static_cast<const uint8_t*>(w) + j * w_row_bytes, a, k / 256);
  }
}

}  // namespace

const QuantKernelTable& quant_scalar_table() {
  static const QuantKernelTable table = {
      "scalar",
      {
          {act_q8_row_bytes, quantize_act_q8, gemm_q8<dot_q4_0>},
          {act_q8_row_bytes, quantize_act_q8, gemm_q8<dot_q4_1>},
          {act_q8_row_bytes, quantize_act_q8, gemm_q8<dot_q5_0>},
          {act_q8_row_bytes, quantize_act_q8, gemm_q8<dot_q5_1>},
          {act_q8_row_bytes, quantize_act_q8, gemm_q8<dot_q8_0>},
          {act_q8k_row_bytes, quantize_act_q8k, gemm_q8k<dot_q45_k<false>>},
          {act_q8k_row_bytes, quantize_act_q8k, gemm_q8k<dot_q6_k>},
          {act_q8k_row_bytes, quantize_act_q8k, gemm_q8k<dot_q45_k<true>>},
      },
  };
  return table;
}

}  // namespace ws::kernels
