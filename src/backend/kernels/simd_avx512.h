// A 16-lane f32 vector for AVX-512 (F + BW + VL; F16C for the f16 loads): the
// same names as simd_avx2.h, so gemm_simd.inl and vector_simd.inl compile to
// AVX-512 kernels unchanged. Only include from files compiled with
// -mavx512f -mavx512bw -mavx512vl -mfma -mf16c.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace ws::kernels::simd {

using V = __m512;
constexpr size_t kLanes = 16;

inline V zero() { return _mm512_setzero_ps(); }
inline V set1(float v) { return _mm512_set1_ps(v); }
inline V load(const float* p) { return _mm512_loadu_ps(p); }
inline void store(float* p, V v) { _mm512_storeu_ps(p, v); }
inline V load_f16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
inline V load_bf16(const uint16_t* p) {
  const __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
}
inline V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }  // a * b + c
inline V add(V a, V b) { return _mm512_add_ps(a, b); }
inline V sub(V a, V b) { return _mm512_sub_ps(a, b); }
inline V mul(V a, V b) { return _mm512_mul_ps(a, b); }
inline V div(V a, V b) { return _mm512_div_ps(a, b); }
inline V max(V a, V b) { return _mm512_max_ps(a, b); }
inline V min(V a, V b) { return _mm512_min_ps(a, b); }

inline float hsum(V v) { return _mm512_reduce_add_ps(v); }
inline float hmax(V v) { return _mm512_reduce_max_ps(v); }

// e^x: simd_avx2.h's Cephes polynomial, 16 lanes at a time.
inline V exp(V x) {
  const __mmask16 keep = _mm512_cmp_ps_mask(x, set1(-87.3365447505f), _CMP_GE_OQ);
  x = min(max(x, set1(-87.3365447505f)), set1(88.3762626647949f));
  V fx = fma(x, set1(1.44269504088896341f), set1(0.5f));
  fx = _mm512_roundscale_ps(fx, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  x = sub(x, mul(fx, set1(0.693359375f)));
  x = sub(x, mul(fx, set1(-2.12194440e-4f)));
  V y = set1(1.9875691500e-4f);
  y = fma(y, x, set1(1.3981999507e-3f));
  y = fma(y, x, set1(8.3334519073e-3f));
  y = fma(y, x, set1(4.1665795894e-2f));
  y = fma(y, x, set1(1.6666665459e-1f));
  y = fma(y, x, set1(5.0000001201e-1f));
  y = fma(y, mul(x, x), add(x, set1(1.0f)));
  const __m512i exponent = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvttps_epi32(fx), _mm512_set1_epi32(127)), 23);
  return _mm512_maskz_mov_ps(keep, mul(y, _mm512_castsi512_ps(exponent)));
}

}  // namespace ws::kernels::simd
