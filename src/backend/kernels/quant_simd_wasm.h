// Integer building blocks of the quantized kernel bodies (quant_simd.inl) for
// WebAssembly SIMD128: 32 int8 values as two v128_t (elements 0-15, 16-31),
// so the bodies keep the 32-value blocks they were written for on x86.
// SIMD128 has no u8 x i8 multiply-add: i16x8.extmul gives the products as
// i16, summed exactly into i32 lanes (see dot16).
// Lane contract shared with quant_simd_x86.h: an I32 holds 8 partial sums
// whose total is the dot product; lo covers elements 0-15, hi 16-31.
// Only include from files compiled with -msimd128.
#pragma once

#include <wasm_simd128.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "backend/kernels/kernels.h"
#include "backend/kernels/simd_wasm.h"

namespace ws::kernels::qsimd {

struct I8 {
  v128_t lo, hi;
};
using I32 = I8;  // 2 x 4 i32 partial sums
using S16 = I8;  // per-half scales, as i32 splats

#define WS_QINLINE inline __attribute__((always_inline))

// f16 -> f32 without branches (one per block, so it matters here): the
// exponent and mantissa moved into place read as a float 2^-112 times the
// value, normals and subnormals alike, so one exact multiply rebiases them;
// exponent 31 (inf, NaN) is selected separately.
WS_QINLINE float half(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  const uint32_t magnitude_bits = static_cast<uint32_t>(h & 0x7fff) << 13;
  float magnitude;
  std::memcpy(&magnitude, &magnitude_bits, 4);
  magnitude *= 0x1p112f;
  const uint32_t special_bits = 0x7f800000u | magnitude_bits;
  float special;
  std::memcpy(&special, &special_bits, 4);
  const float f = (h & 0x7c00) == 0x7c00 ? special : magnitude;
  return (h & 0x8000) ? -f : f;
}

// WebAssembly has no prefetch instruction.
constexpr size_t kPrefetchBytes = 0;
WS_QINLINE void prefetch(const void*) {}

WS_QINLINE I8 load(const void* p) {
  const auto* b = static_cast<const uint8_t*>(p);
  return {wasm_v128_load(b), wasm_v128_load(b + 16)};
}
WS_QINLINE I8 set1_u8(uint8_t v) { return {wasm_u8x16_splat(v), wasm_u8x16_splat(v)}; }
WS_QINLINE I8 and_(I8 a, I8 b) { return {wasm_v128_and(a.lo, b.lo), wasm_v128_and(a.hi, b.hi)}; }
WS_QINLINE I8 or_(I8 a, I8 b) { return {wasm_v128_or(a.lo, b.lo), wasm_v128_or(a.hi, b.hi)}; }

WS_QINLINE I8 nibbles16(const uint8_t* p) {
  const v128_t v = wasm_v128_load(p);
  return {wasm_v128_and(v, wasm_u8x16_splat(0x0F)), wasm_u8x16_shr(v, 4)};
}
WS_QINLINE I8 lo_nibbles(I8 v) { return and_(v, set1_u8(0x0F)); }
WS_QINLINE I8 hi_nibbles(I8 v) { return {wasm_u8x16_shr(v.lo, 4), wasm_u8x16_shr(v.hi, 4)}; }

// Each byte shifted by `shift` (left if positive), then masked.
WS_QINLINE I8 shift_mask(I8 v, int shift, uint8_t mask) {
  const I8 s = shift >= 0 ? I8{wasm_i8x16_shl(v.lo, shift), wasm_i8x16_shl(v.hi, shift)}
                          : I8{wasm_u8x16_shr(v.lo, -shift), wasm_u8x16_shr(v.hi, -shift)};
  return and_(s, set1_u8(mask));
}

// Byte e = 0xFF if bit e of `bits` is set, else 0.
WS_QINLINE I8 bits_to_bytes(uint32_t bits) {
  const v128_t all = wasm_i32x4_splat(static_cast<int32_t>(bits));
  const v128_t bit = wasm_i8x16_const(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
  const v128_t lo = wasm_i8x16_swizzle(all, wasm_i8x16_const(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
  const v128_t hi = wasm_i8x16_swizzle(all, wasm_i8x16_const(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
  return {wasm_i8x16_eq(wasm_v128_and(lo, bit), bit), wasm_i8x16_eq(wasm_v128_and(hi, bit), bit)};
}

WS_QINLINE I32 zero_i32() { return {wasm_i32x4_splat(0), wasm_i32x4_splat(0)}; }
WS_QINLINE I32 add_i32(I32 a, I32 b) { return {wasm_i32x4_add(a.lo, b.lo), wasm_i32x4_add(a.hi, b.hi)}; }
WS_QINLINE I32 sub_i32(I32 a, I32 b) { return {wasm_i32x4_sub(a.lo, b.lo), wasm_i32x4_sub(a.hi, b.hi)}; }
WS_QINLINE I32 set1_i32(int32_t v) { return {wasm_i32x4_splat(v), wasm_i32x4_splat(v)}; }
WS_QINLINE simd::V to_float(I32 v) { return {wasm_f32x4_convert_i32x4(v.lo), wasm_f32x4_convert_i32x4(v.hi)}; }
// acc + scale * (the partial sums as floats). The two halves are added as
// integers first (exact: a block's sums are far below 2^31), so a block costs
// one convert, multiply and add instead of two; acc.hi stays zero.
WS_QINLINE simd::V scale_add(I32 sums, float scale, simd::V acc) {
  const v128_t f = wasm_f32x4_convert_i32x4(wasm_i32x4_add(sums.lo, sums.hi));
  return {wasm_f32x4_add(acc.lo, wasm_f32x4_mul(f, wasm_f32x4_splat(scale))), acc.hi};
}

// 16 products as i16 (|w x| <= 128 * 127), the low and high 8 added as i16
// (<= 32512, no overflow), then pairwise into 4 i32: 4 instructions for 16
// values. Unsigned weights are all <= 63 here, so they read the same as i8.
WS_QINLINE v128_t dot16(v128_t w, v128_t x) {
  const v128_t sum16 = wasm_i16x8_add(wasm_i16x8_extmul_low_i8x16(w, x), wasm_i16x8_extmul_high_i8x16(w, x));
  return wasm_i32x4_extadd_pairwise_i16x8(sum16);
}
WS_QINLINE v128_t dot16_u8i8(v128_t u, v128_t x) { return dot16(u, x); }
WS_QINLINE v128_t dot16_i8i8(v128_t w, v128_t x) { return dot16(w, x); }

WS_QINLINE I32 dot_u8i8(I8 u, I8 x) { return {dot16_u8i8(u.lo, x.lo), dot16_u8i8(u.hi, x.hi)}; }
WS_QINLINE I32 dot_i8i8(I8 w, I8 x) { return {dot16_i8i8(w.lo, x.lo), dot16_i8i8(w.hi, x.hi)}; }

WS_QINLINE S16 scales16(int lo, int hi) { return {wasm_i32x4_splat(lo), wasm_i32x4_splat(hi)}; }
WS_QINLINE S16 scales16(int both) { return scales16(both, both); }

WS_QINLINE I32 dot_scaled_acc(I32 acc, I8 u, I8 x, S16 sc) {
  const I32 p = dot_u8i8(u, x);
  return {wasm_i32x4_add(acc.lo, wasm_i32x4_mul(p.lo, sc.lo)), wasm_i32x4_add(acc.hi, wasm_i32x4_mul(p.hi, sc.hi))};
}

// Q6_K helpers with quant_simd_x86.h's meaning (see there).
using Q6Scales = const int8_t*;
WS_QINLINE Q6Scales q6_scales(const int8_t* sc) { return sc; }
WS_QINLINE S16 q6_scale_pair(Q6Scales s, int g) { return scales16(s[2 * g], s[2 * g + 1]); }
WS_QINLINE I32 q6_offset32(const int8_t* sc, const int16_t* bsums) {
  int32_t offset = 0;
  for (int s = 0; s < 16; ++s) offset += sc[s] * bsums[s];
  return {wasm_i32x4_make(32 * offset, 0, 0, 0), wasm_i32x4_splat(0)};
}

}  // namespace ws::kernels::qsimd
