// An 8-lane f32 vector for WebAssembly SIMD128: two v128_t, so the SIMD kernel
// bodies (gemm_simd.inl, vector_simd.inl) keep the register tiling they were
// written for on AVX2. SIMD128 has no fused multiply-add and no f16
// conversion: fma is a multiply then an add (so results differ from the
// scalar reference by rounding, within the kernel tests' tolerance), and f16
// is widened with integer ops (exactly, subnormals, infinities and NaN included).
// Only include from files compiled with -msimd128.
#pragma once

#include <wasm_simd128.h>

#include <cstddef>
#include <cstdint>

namespace ws::kernels::simd {

struct V {
  v128_t lo, hi;
};
constexpr size_t kLanes = 8;

inline V zero() { return {wasm_f32x4_splat(0.0f), wasm_f32x4_splat(0.0f)}; }
inline V set1(float v) { return {wasm_f32x4_splat(v), wasm_f32x4_splat(v)}; }
inline V load(const float* p) { return {wasm_v128_load(p), wasm_v128_load(p + 4)}; }
inline void store(float* p, V v) {
  wasm_v128_store(p, v.lo);
  wasm_v128_store(p + 4, v.hi);
}

// IEEE binary16 bits (in the low 16 bits of each u32 lane) to f32, exactly:
// shift exponent and mantissa into place and rebias; exponent 31 (inf/NaN)
// gets the rest of the f32 exponent range; subnormals are renormalised by an
// exact float subtraction (magic 2^-14).
inline v128_t f16_bits_to_f32(v128_t h) {
  const v128_t sign = wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x8000)), 16);
  v128_t o = wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x7fff)), 13);
  const v128_t exp = wasm_v128_and(o, wasm_i32x4_splat(0x7c00 << 13));
  o = wasm_i32x4_add(o, wasm_i32x4_splat((127 - 15) << 23));
  const v128_t is_special = wasm_i32x4_eq(exp, wasm_i32x4_splat(0x7c00 << 13));
  o = wasm_i32x4_add(o, wasm_v128_and(is_special, wasm_i32x4_splat((128 - 16) << 23)));
  const v128_t is_sub = wasm_i32x4_eq(exp, wasm_i32x4_splat(0));
  const v128_t sub = wasm_f32x4_sub(wasm_i32x4_add(o, wasm_i32x4_splat(1 << 23)), wasm_i32x4_splat(113 << 23));
  o = wasm_v128_bitselect(sub, o, is_sub);
  return wasm_v128_or(o, sign);
}
inline V load_f16(const uint16_t* p) {
  const v128_t h = wasm_v128_load(p);
  return {f16_bits_to_f32(wasm_u32x4_extend_low_u16x8(h)), f16_bits_to_f32(wasm_u32x4_extend_high_u16x8(h))};
}
inline V load_bf16(const uint16_t* p) {
  const v128_t h = wasm_v128_load(p);
  return {wasm_i32x4_shl(wasm_u32x4_extend_low_u16x8(h), 16), wasm_i32x4_shl(wasm_u32x4_extend_high_u16x8(h), 16)};
}

inline V add(V a, V b) { return {wasm_f32x4_add(a.lo, b.lo), wasm_f32x4_add(a.hi, b.hi)}; }
inline V sub(V a, V b) { return {wasm_f32x4_sub(a.lo, b.lo), wasm_f32x4_sub(a.hi, b.hi)}; }
inline V mul(V a, V b) { return {wasm_f32x4_mul(a.lo, b.lo), wasm_f32x4_mul(a.hi, b.hi)}; }
inline V div(V a, V b) { return {wasm_f32x4_div(a.lo, b.lo), wasm_f32x4_div(a.hi, b.hi)}; }
inline V max(V a, V b) { return {wasm_f32x4_pmax(a.lo, b.lo), wasm_f32x4_pmax(a.hi, b.hi)}; }
inline V min(V a, V b) { return {wasm_f32x4_pmin(a.lo, b.lo), wasm_f32x4_pmin(a.hi, b.hi)}; }
inline V fma(V a, V b, V c) { return add(mul(a, b), c); }  // a * b + c, two roundings

inline float hsum4(v128_t s) {
  s = wasm_f32x4_add(s, wasm_i32x4_shuffle(s, s, 2, 3, 0, 1));
  s = wasm_f32x4_add(s, wasm_i32x4_shuffle(s, s, 1, 0, 3, 2));
  return wasm_f32x4_extract_lane(s, 0);
}
inline float hsum(V v) { return hsum4(wasm_f32x4_add(v.lo, v.hi)); }
inline float hmax(V v) {
  v128_t s = wasm_f32x4_pmax(v.lo, v.hi);
  s = wasm_f32x4_pmax(s, wasm_i32x4_shuffle(s, s, 2, 3, 0, 1));
  s = wasm_f32x4_pmax(s, wasm_i32x4_shuffle(s, s, 1, 0, 3, 2));
  return wasm_f32x4_extract_lane(s, 0);
}

// e^x, the same Cephes polynomial as simd_avx2.h; 0 below the smallest normal result.
inline v128_t exp4(v128_t x) {
  const v128_t keep = wasm_f32x4_ge(x, wasm_f32x4_splat(-87.3365447505f));
  x = wasm_f32x4_pmin(wasm_f32x4_pmax(x, wasm_f32x4_splat(-87.3365447505f)), wasm_f32x4_splat(88.3762626647949f));
  v128_t fx = wasm_f32x4_add(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)), wasm_f32x4_splat(0.5f));
  fx = wasm_f32x4_floor(fx);
  x = wasm_f32x4_sub(x, wasm_f32x4_mul(fx, wasm_f32x4_splat(0.693359375f)));
  x = wasm_f32x4_sub(x, wasm_f32x4_mul(fx, wasm_f32x4_splat(-2.12194440e-4f)));
  auto madd = [](v128_t a, v128_t b, float c) { return wasm_f32x4_add(wasm_f32x4_mul(a, b), wasm_f32x4_splat(c)); };
  v128_t y = wasm_f32x4_splat(1.9875691500e-4f);
  y = madd(y, x, 1.3981999507e-3f);
  y = madd(y, x, 8.3334519073e-3f);
  y = madd(y, x, 4.1665795894e-2f);
  y = madd(y, x, 1.6666665459e-1f);
  y = madd(y, x, 5.0000001201e-1f);
  y = wasm_f32x4_add(wasm_f32x4_mul(y, wasm_f32x4_mul(x, x)), wasm_f32x4_add(x, wasm_f32x4_splat(1.0f)));
  const v128_t exponent =
      wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(fx), wasm_i32x4_splat(127)), 23);
  return wasm_v128_and(wasm_f32x4_mul(y, exponent), keep);
}
inline V exp(V x) { return {exp4(x.lo), exp4(x.hi)}; }

}  // namespace ws::kernels::simd
