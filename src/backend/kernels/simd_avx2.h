// An 8-lane f32 vector for AVX2+FMA (+F16C). The SIMD kernel bodies
// (gemm_simd.inl, vector_simd.inl) are written against exactly these names, so a
// WASM SIMD128 variant is a simd_wasm.h whose V holds two v128_t plus a
// <isa>.cpp that includes the same bodies.
// Only include from files compiled with -mavx2 -mfma -mf16c.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace ws::kernels::simd {

using V = __m256;
constexpr size_t kLanes = 8;

inline V zero() { return _mm256_setzero_ps(); }
inline V set1(float v) { return _mm256_set1_ps(v); }
inline V load(const float* p) { return _mm256_loadu_ps(p); }
inline void store(float* p, V v) { _mm256_storeu_ps(p, v); }
inline V load_f16(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline V load_bf16(const uint16_t* p) {
  const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}
inline V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }  // a * b + c
inline V add(V a, V b) { return _mm256_add_ps(a, b); }
inline V sub(V a, V b) { return _mm256_sub_ps(a, b); }
inline V mul(V a, V b) { return _mm256_mul_ps(a, b); }
inline V div(V a, V b) { return _mm256_div_ps(a, b); }
inline V max(V a, V b) { return _mm256_max_ps(a, b); }
inline V min(V a, V b) { return _mm256_min_ps(a, b); }

inline float hsum(V v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline float hmax(V v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// e^x, Cephes polynomial (relative error ~2e-7); 0 below the smallest
// normal result, like std::exp's underflow.
inline V exp(V x) {
  const V keep = _mm256_cmp_ps(x, set1(-87.3365447505f), _CMP_GE_OQ);
  x = min(max(x, set1(-87.3365447505f)), set1(88.3762626647949f));
  V fx = fma(x, set1(1.44269504088896341f), set1(0.5f));
  fx = _mm256_floor_ps(fx);
  x = sub(x, mul(fx, set1(0.693359375f)));
  x = sub(x, mul(fx, set1(-2.12194440e-4f)));
  V y = set1(1.9875691500e-4f);
  y = fma(y, x, set1(1.3981999507e-3f));
  y = fma(y, x, set1(8.3334519073e-3f));
  y = fma(y, x, set1(4.1665795894e-2f));
  y = fma(y, x, set1(1.6666665459e-1f));
  y = fma(y, x, set1(5.0000001201e-1f));
  y = fma(y, mul(x, x), add(x, set1(1.0f)));
  const __m256i exponent = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(fx), _mm256_set1_epi32(127)), 23);
  return _mm256_and_ps(mul(y, _mm256_castsi256_ps(exponent)), keep);
}

}  // namespace ws::kernels::simd
