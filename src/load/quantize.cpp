// Scalar reference quantizers, f32 -> ggml blocks. Every product, sum and
// quotient is a separate f32 operation in the reference's order; this file is
// compiled with -ffp-contract=off so no compiler fuses them into an FMA (which
// would change the last bit of a scale and break parity with gguf-py).
#include "load/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "load/dequant.h"
#include "load/float_bits.h"

namespace ws::detail {

namespace {

constexpr int kSuperBlock = 256;  // QK_K: elements of a K-quant block

void store_half(uint8_t* p, float f) {
  const uint16_t h = fp::float_to_half(f);
  std::memcpy(p, &h, 2);
}
float load_half(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return fp::half_to_float(h);
}

// numpy's trunc(v).astype(uint8).clip(0, top) for the values gguf-py can
// produce from finite inputs (0 <= v < top + 2); NaN (from infinite inputs)
// becomes 0, as x86 numpy does, instead of undefined behaviour.
uint8_t truncated_index(float v, int top) {
  if (!(v >= 0.0f)) return 0;
  if (v >= static_cast<float>(top)) return static_cast<uint8_t>(top);
  return static_cast<uint8_t>(v);
}

// numpy's argmax(abs(x)): the first element of largest magnitude (index 0 when
// all are zero), returned with its sign.
float signed_absmax(const float* x, int n) {
  int best = 0;
  for (int i = 1; i < n; ++i) {
    if (std::fabs(x[i]) > std::fabs(x[best])) best = i;
  }
  return x[best];
}

// gguf-py: id = where(d == 0, 0, 1 / d), in f32.
float inverse_or_zero(float d) { return d == 0.0f ? 0.0f : 1.0f / d; }

// ---- gguf-py's quantizers (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1) ---------------------

// block_q8_0 {f16 d; i8 qs[32]}: d = max|x| / 127, q = round half away from zero (x / d).
void q8_0(const float* x, uint8_t* b) {
  float amax = 0.0f;
  for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float d = amax / 127.0f;
  const float id = inverse_or_zero(d);
  store_half(b, d);
  for (int i = 0; i < 32; ++i) {
    const float q = std::round(x[i] * id);  // gguf-py's np_roundf is roundf
    const int8_t v = q >= -128.0f && q <= 127.0f ? static_cast<int8_t>(q) : 0;
    std::memcpy(b + 2 + i, &v, 1);
  }
}

// block_q4_0 {f16 d; u8 qs[16]}: d = (signed max) / -8, q = trunc(x / d + 8.5)
// in 0..15; element j in the low nibble of qs[j], j + 16 in the high one.
void q4_0(const float* x, uint8_t* b) {
  const float d = signed_absmax(x, 32) / -8.0f;
  const float id = inverse_or_zero(d);
  store_half(b, d);
  for (int j = 0; j < 16; ++j) {
    const uint8_t lo = truncated_index(x[j] * id + 8.5f, 15);
    const uint8_t hi = truncated_index(x[j + 16] * id + 8.5f, 15);
    b[2 + j] = static_cast<uint8_t>(lo | (hi << 4));
  }
}

// min and max as ggml's loop finds them (the first of equal values).
void min_max(const float* x, int n, float& min, float& max) {
  min = x[0];
  max = x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
  }
}

// block_q4_1 {f16 d; f16 m; u8 qs[16]}: d = (max - min) / 15, m = min,
// q = trunc((x - min) / d + 0.5) in 0..15.
void q4_1(const float* x, uint8_t* b) {
  float min, max;
  min_max(x, 32, min, max);
  const float d = (max - min) / 15.0f;
  const float id = inverse_or_zero(d);
  store_half(b, d);
  store_half(b + 2, min);
  for (int j = 0; j < 16; ++j) {
    const uint8_t lo = truncated_index((x[j] - min) * id + 0.5f, 15);
    const uint8_t hi = truncated_index((x[j + 16] - min) * id + 0.5f, 15);
    b[4 + j] = static_cast<uint8_t>(lo | (hi << 4));
  }
}

// The 32 five-bit values of Q5_0/Q5_1: low nibbles as in Q4, bit 4 of value i
// in bit i of the little-endian u32 qh.
void pack_5bit(const uint8_t* q, uint8_t* qh_out, uint8_t* qs) {
  uint32_t qh = 0;
  for (int j = 0; j < 16; ++j) {
    qs[j] = static_cast<uint8_t>((q[j] & 0x0F) | (q[j + 16] << 4));
  }
  for (int i = 0; i < 32; ++i) qh |= static_cast<uint32_t>((q[i] >> 4) & 1) << i;
  const uint8_t bytes[4] = {static_cast<uint8_t>(qh), static_cast<uint8_t>(qh >> 8), static_cast<uint8_t>(qh >> 16),
                            static_cast<uint8_t>(qh >> 24)};
  std::memcpy(qh_out, bytes, 4);
}

// block_q5_0 {f16 d; u8 qh[4]; u8 qs[16]}: d = (signed max) / -16, q = trunc(x / d + 16.5) in 0..31.
void q5_0(const float* x, uint8_t* b) {
  const float d = signed_absmax(x, 32) / -16.0f;
  const float id = inverse_or_zero(d);
  store_half(b, d);
  uint8_t q[32];
  for (int i = 0; i < 32; ++i) q[i] = truncated_index(x[i] * id + 16.5f, 31);
  pack_5bit(q, b + 2, b + 6);
}

// block_q5_1 {f16 d; f16 m; u8 qh[4]; u8 qs[16]}: d = (max - min) / 31, m = min.
void q5_1(const float* x, uint8_t* b) {
  float min, max;
  min_max(x, 32, min, max);
  const float d = (max - min) / 31.0f;
  const float id = inverse_or_zero(d);
  store_half(b, d);
  store_half(b + 2, min);
  uint8_t q[32];
  for (int i = 0; i < 32; ++i) q[i] = truncated_index((x[i] - min) * id + 0.5f, 31);
  pack_5bit(q, b + 4, b + 8);
}

// ---- K-quants (ggml's reference algorithm) -----------------------------------

// Round to nearest, ties to even, for |f| < 2^22 (ggml's nearest_int: adding
// 1.5 * 2^23 leaves the integer in the low mantissa bits). Out-of-range and
// NaN inputs give some int; callers clamp it.
int nearest_int(float f) {
  const float shifted = f + 12582912.0f;
  int32_t i;
  std::memcpy(&i, &shifted, 4);
  return (i & 0x007fffff) - 0x00400000;
}

int clamp(int v, int lo, int hi) { return std::max(lo, std::min(hi, v)); }

// Below this magnitude a group counts as all zeros (ggml's GROUP_MAX_EPS).
constexpr float kGroupMaxEps = 1e-15f;

// Asymmetric quantisation of n values to 0..nmax with a scale and a min
// (x ~ scale * L - the_min), minimising the weighted absolute/squared error:
// start from the plain min/max grid, then try nstep + 1 other grid sizes
// (nmax + rmin + rdelta * is) and keep the least-squares fit of each when it is
// better (ggml's make_qkx2_quants, use_mad = false). Returns the scale.
float fit_scale_min(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                    uint8_t* Laux, float rmin, float rdelta, int nstep) {
  float min = x[0], max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    const float w = weights[i];
    sum_w += w;
    sum_x += w * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    *the_min = -min;
    return 0.0f;
  }
  float iscale = static_cast<float>(nmax) / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    L[i] = static_cast<uint8_t>(clamp(nearest_int(iscale * (x[i] - min)), 0, nmax));
    float diff = scale * static_cast<float>(L[i]) + min - x[i];
    diff = diff * diff;
    best_error += weights[i] * diff;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * static_cast<float>(is) + static_cast<float>(nmax)) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
      Laux[i] = static_cast<uint8_t>(l);
      const float w = weights[i];
      const float lf = static_cast<float>(l);
      sum_l += w * lf;
      sum_l2 += w * lf * lf;
      sum_xl += w * lf * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float error = 0;
      for (int i = 0; i < n; ++i) {
        float diff = this_scale * static_cast<float>(Laux[i]) + this_min - x[i];
        diff = diff * diff;
        error += weights[i] * diff;
      }
      if (error < best_error) {
        for (int i = 0; i < n; ++i) L[i] = Laux[i];
        best_error = error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

// Symmetric quantisation of n values to -nmax..nmax-1 (stored + nmax) with one
// scale, weighted by x^2: the grid through the signed maximum, then 18 nearby
// grids (nmax +- 0.1 * is), keeping the least-squares scale of the best
// (ggml's make_qx_quants with rmse_type 1 and no importance weights).
float fit_scale(int n, int nmax, const float* x, int8_t* L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.0f;
  }
  float iscale = static_cast<float>(-nmax) / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
    L[i] = static_cast<int8_t>(l + nmax);
    const float w = x[i] * x[i];
    const float lf = static_cast<float>(l);
    sumlx += w * x[i] * lf;
    suml2 += w * lf * lf;
  }
  float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(is)) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
      const float w = x[i] * x[i];
      const float lf = static_cast<float>(l);
      sumlx += w * x[i] * lf;
      suml2 += w * lf * lf;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1) + nmax);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// The 12 bytes of Q4_K/Q5_K's eight 6-bit scales and mins (the inverse of
// get_scale_min_k4): sub-blocks 0..3 in the low 6 bits of bytes 0..3 (scale)
// and 4..7 (min); sub-blocks 4..7 in the nibbles of bytes 8..11, their top two
// bits in the high bits of bytes 0..7.
void pack_scales_k4(const uint8_t* ls, const uint8_t* lm, uint8_t* q) {
  std::memset(q, 0, 12);
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      q[j] = ls[j];
      q[j + 4] = lm[j];
    } else {
      q[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
      q[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
      q[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
    }
  }
}

// Q4_K and Q5_K share everything but the element width: eight sub-blocks of
// 32 fitted with fit_scale_min (weights: rms of the sub-block + |x|), their
// scales and mins quantised to 6 bits against the largest of each (d, dmin
// as f16), then every element re-quantised against the scale and min it will
// really be decoded with. Writes d, dmin and the scales at `b`, the levels in L.
void k4_levels(const float* x, int nmax, float rmin, int nstep, uint8_t* b, uint8_t* L) {
  float scales[8], mins[8], weights[32];
  uint8_t Laux[32];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    const float* xs = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xs[l]);
    scales[j] = fit_scale_min(32, nmax, xs, weights, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
  uint8_t ls[8], lm[8];
  for (int j = 0; j < 8; ++j) {
    ls[j] = static_cast<uint8_t>(clamp(nearest_int(inv_scale * scales[j]), 0, 63));
    lm[j] = static_cast<uint8_t>(clamp(nearest_int(inv_min * mins[j]), 0, 63));
  }
  store_half(b, max_scale / 63.0f);
  store_half(b + 2, max_min / 63.0f);
  pack_scales_k4(ls, lm, b + 4);
  const float d_all = load_half(b), dmin_all = load_half(b + 2);
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    scale_min_k4(j, b + 4, sc, m);
    const float d = d_all * static_cast<float>(sc);
    if (d == 0) continue;
    const float dm = dmin_all * static_cast<float>(m);
    for (int i = 0; i < 32; ++i) L[32 * j + i] = static_cast<uint8_t>(clamp(nearest_int((x[32 * j + i] + dm) / d), 0, nmax));
  }
}

// block_q4_K {f16 d; f16 dmin; u8 scales[12]; u8 qs[128]}: each 64 elements
// share 32 bytes, the first 32 in the low nibbles, the next 32 in the high.
void q4_k(const float* x, uint8_t* b) {
  uint8_t L[kSuperBlock];
  k4_levels(x, 15, -1.0f, 20, b, L);
  uint8_t* q = b + 16;
  for (int j = 0; j < kSuperBlock; j += 64, q += 32) {
    for (int l = 0; l < 32; ++l) q[l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
  }
}

// block_q5_K {f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]}: Q4_K's
// nibbles plus the fifth bit of element j + l of each 64 in bit (j/32) of qh[l].
void q5_k(const float* x, uint8_t* b) {
  uint8_t L[kSuperBlock];
  k4_levels(x, 31, -0.5f, 15, b, L);
  uint8_t* qh = b + 16;
  uint8_t* ql = b + 48;
  std::memset(qh, 0, 32);
  uint8_t m1 = 1, m2 = 2;
  for (int n = 0; n < kSuperBlock; n += 64, ql += 32, m1 <<= 2, m2 <<= 2) {
    for (int j = 0; j < 32; ++j) {
      int l1 = L[n + j], l2 = L[n + j + 32];
      if (l1 > 15) {
        l1 -= 16;
        qh[j] |= m1;
      }
      if (l2 > 15) {
        l2 -= 16;
        qh[j] |= m2;
      }
      ql[j] = static_cast<uint8_t>(l1 | (l2 << 4));
    }
  }
}

// block_q6_K {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}: sixteen
// sub-blocks of 16 fitted with fit_scale, their scales quantised to int8
// against the signed largest, then every element re-quantised to -32..31.
void q6_k(const float* x, uint8_t* b) {
  int8_t L[kSuperBlock];
  float scales[16];
  float max_scale = 0, max_abs_scale = 0;
  for (int ib = 0; ib < 16; ++ib) {
    scales[ib] = fit_scale(16, 32, x + 16 * ib, L + 16 * ib);
    const float abs_scale = std::fabs(scales[ib]);
    if (abs_scale > max_abs_scale) {
      max_abs_scale = abs_scale;
      max_scale = scales[ib];
    }
  }
  if (max_abs_scale < kGroupMaxEps) {
    std::memset(b, 0, 210);
    return;
  }
  uint8_t* ql = b;
  uint8_t* qh = b + 128;
  int8_t* sc = reinterpret_cast<int8_t*>(b + 192);
  const float iscale = -128.0f / max_scale;
  store_half(b + 208, 1 / iscale);
  for (int ib = 0; ib < 16; ++ib) sc[ib] = static_cast<int8_t>(clamp(nearest_int(iscale * scales[ib]), -128, 127));
  const float d_all = load_half(b + 208);
  for (int j = 0; j < 16; ++j) {
    const float d = d_all * static_cast<float>(sc[j]);
    if (d == 0) continue;
    for (int i = 0; i < 16; ++i) L[16 * j + i] = static_cast<int8_t>(clamp(nearest_int(x[16 * j + i] / d), -32, 31) + 32);
  }
  for (int j = 0; j < kSuperBlock; j += 128, ql += 64, qh += 32) {
    for (int l = 0; l < 32; ++l) {
      const int q1 = L[j + l], q2 = L[j + l + 32], q3 = L[j + l + 64], q4 = L[j + l + 96];
      ql[l] = static_cast<uint8_t>((q1 & 0xF) | ((q3 & 0xF) << 4));
      ql[l + 32] = static_cast<uint8_t>((q2 & 0xF) | ((q4 & 0xF) << 4));
      qh[l] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
    }
  }
}

using Kernel = void (*)(const float*, uint8_t*);

Kernel kernel_for(DType dtype) {
  switch (dtype) {
    case DType::Q8_0: return q8_0;
    case DType::Q4_0: return q4_0;
    case DType::Q4_1: return q4_1;
    case DType::Q5_0: return q5_0;
    case DType::Q5_1: return q5_1;
    case DType::Q4_K: return q4_k;
    case DType::Q5_K: return q5_k;
    case DType::Q6_K: return q6_k;
    default: return nullptr;
  }
}

}  // namespace

bool can_quantize_to(DType dtype) { return kernel_for(dtype) != nullptr; }

void quantize_blocks(DType dtype, const float* in, uint8_t* out, uint64_t blocks) {
  const Kernel kernel = kernel_for(dtype);
  if (!kernel) return;  // not a block type: can_convert refused it before
  const uint64_t block_bytes = dtype_block_bytes(dtype), block_elements = dtype_block_elements(dtype);
  for (uint64_t i = 0; i < blocks; ++i) kernel(in + i * block_elements, out + i * block_bytes);
}

}  // namespace ws::detail
