// Activation quantization (layout in quant_act.h), one row at a time. This
// runs once per row per op, O(k) against the gemm's O(n k), so a plain loop
// (which the compiler vectorises) serves every ISA table.
#include "backend/kernels/quant_act.h"

#include <cmath>
#include <cstring>

namespace ws::kernels::quant {

namespace {

// Quantizes one block of `len` values to int8 with scale max|x| / 127;
// returns the scale and the sum of the quantized values. |x * (1/d)| <= 127
// up to one rounding, so no value needs clamping beyond 127.
//
// No libm calls (this file is built for the baseline ISA, where fmaxf and
// nearbyintf are calls): the comparisons below give fmax/fmin's results
// here, NaN included (a NaN never wins a comparison), and adding then
// subtracting 1.5 * 2^23 rounds to nearest-even exactly as nearbyint does
// in the default rounding mode for |v| < 2^22 (|v| <= 127 up to rounding
// here; +-inf stays +-inf).
float quantize_block(const float* x, size_t len, int8_t* q, int32_t& sum) {
  float amax = 0.0f;
  for (size_t i = 0; i < len; ++i) {
    const float a = std::fabs(x[i]);
    amax = a > amax ? a : amax;
  }
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  constexpr float kRoundMagic = 12582912.0f;  // 1.5 * 2^23
  int32_t s = 0;
  for (size_t i = 0; i < len; ++i) {
    const float scaled = x[i] * id;
    float v = (scaled + kRoundMagic) - kRoundMagic;
    v = v > -127.0f ? v : -127.0f;
    v = v < 127.0f ? v : 127.0f;
    q[i] = static_cast<int8_t>(v);
    s += q[i];
  }
  sum = s;
  return d;
}

}  // namespace

void quantize_act_q8(const float* x, size_t k, void* out) {
  const size_t nb = k / 32;
  auto* p = static_cast<uint8_t*>(out);
  auto* qs = reinterpret_cast<int8_t*>(p);
  auto* d = reinterpret_cast<float*>(p + k);
  auto* sum = reinterpret_cast<int32_t*>(p + k + nb * 4);
  auto* s = reinterpret_cast<float*>(p + k + nb * 8);
  for (size_t b = 0; b < nb; ++b) {
    d[b] = quantize_block(x + b * 32, 32, qs + b * 32, sum[b]);
    s[b] = d[b] * static_cast<float>(sum[b]);
  }
}

void quantize_act_q8k(const float* x, size_t k, void* out) {
  const size_t nb = k / 256;
  auto* p = static_cast<uint8_t*>(out);
  auto* qs = reinterpret_cast<int8_t*>(p);
  auto* d = reinterpret_cast<float*>(p + k);
  auto* bsums = reinterpret_cast<int16_t*>(p + k + nb * 4);
  for (size_t b = 0; b < nb; ++b) {
    int32_t unused;
    d[b] = quantize_block(x + b * 256, 256, qs + b * 256, unused);
    for (size_t g = 0; g < 16; ++g) {
      int32_t s = 0;
      for (size_t i = 0; i < 16; ++i) s += qs[b * 256 + g * 16 + i];
      bsums[b * 16 + g] = static_cast<int16_t>(s);  // |s| <= 16 * 127
    }
  }
}

void dequantize_act_q8(const void* row, size_t k, float* out) {
  const ActQ8 a = act_q8_view(row, k);
  for (size_t c = 0; c < k; ++c) out[c] = a.d[c / 32] * static_cast<float>(a.qs[c]);
}

void dequantize_act_q8k(const void* row, size_t k, float* out) {
  const ActQ8K a = act_q8k_view(row, k);
  for (size_t c = 0; c < k; ++c) out[c] = a.d[c / 256] * static_cast<float>(a.qs[c]);
}

}  // namespace ws::kernels::quant
