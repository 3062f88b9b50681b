// Scalar reference matrix products (every SIMD variant is tested against these).
#include <cstring>

#include "backend/kernels/kernels.h"

namespace ws::kernels {

float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exponent = 127 - 15 + 1;
      while ((mantissa & 0x400u) == 0) {
        mantissa <<= 1;
        --exponent;
      }
      mantissa &= 0x3ffu;
      bits = sign | (exponent << 23) | (mantissa << 13);
    }
  } else if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

namespace {

inline float load(const float* w, size_t i) { return w[i]; }
struct F16 { uint16_t bits; };
struct BF16 { uint16_t bits; };
inline float load(const F16* w, size_t i) { return f16_to_f32(w[i].bits); }
inline float load(const BF16* w, size_t i) { return bf16_to_f32(w[i].bits); }

template <class W>
void gemm_oi(size_t m, size_t n, size_t k, const float* x, size_t xs, const void* wv, size_t ws, float* y,
             size_t ys) {
  const W* w = static_cast<const W*>(wv);
  for (size_t i = 0; i < m; ++i) {
    for (size_t j = 0; j < n; ++j) {
      float acc = 0.0f;
      for (size_t c = 0; c < k; ++c) acc += x[i * xs + c] * load(w, j * ws + c);
      y[i * ys + j] = acc;
    }
  }
}

template <class W>
void gemm_io(size_t m, size_t n, size_t k, const float* x, size_t xs, const void* wv, size_t ws, float* y,
             size_t ys) {
  const W* w = static_cast<const W*>(wv);
  for (size_t i = 0; i < m; ++i) {
    float* row = y + i * ys;
    for (size_t j = 0; j < n; ++j) row[j] = 0.0f;
    for (size_t c = 0; c < k; ++c) {
      const float xc = x[i * xs + c];
      for (size_t j = 0; j < n; ++j) row[j] += xc * load(w, c * ws + j);
    }
  }
}

}  // namespace

void layer_norm_scalar(const float*, size_t, const float*, const float*, float, float*);
void rms_norm_scalar(const float*, size_t, const float*, float, float, float*);
void softmax_scalar(float*, size_t);
void gelu_new_scalar(float*, size_t);
void silu_mul_scalar(const float*, const float*, size_t, float*);
void add_scalar(const float*, const float*, size_t, float*);

const KernelTable& scalar_table() {
  static const KernelTable table = {
      "scalar",
      {gemm_oi<float>, gemm_oi<F16>, gemm_oi<BF16>},
      {gemm_io<float>, gemm_io<F16>, gemm_io<BF16>},
      layer_norm_scalar,
      rms_norm_scalar,
      softmax_scalar,
      gelu_new_scalar,
      silu_mul_scalar,
      add_scalar,
  };
  return table;
}

}  // namespace ws::kernels
