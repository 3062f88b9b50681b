// Integer building blocks of the quantized kernel bodies (quant_simd.inl) for
// x86: 32 int8 values in one __m256i. Compiled twice: with -mavx2 -mfma -mf16c
// (the AVX2 table) and with AVX-512 F/BW/VL + VNNI added (the AVX-512 table),
// where the u8 x i8 and i16 x i16 dot products become single vpdpbusd /
// vpdpwssd instructions on 256-bit EVEX registers (and the 32 ymm registers of
// EVEX let the row tiles stay in registers).
// Lane contract shared with quant_simd_wasm.h: an I32 holds 8 partial sums
// whose total is the dot product; partial sums 0-3 cover elements 0-15 and
// 4-7 elements 16-31, so a per-16 scale (Q6_K) applies lane-wise.
// Only include from files compiled with at least -mavx2 -mfma -mf16c.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "backend/kernels/simd_avx2.h"

namespace ws::kernels::qsimd {

using I8 = __m256i;   // 32 x u8 or i8
using I32 = __m256i;  // 8 x i32 partial sums
using S16 = __m256i;  // per-lane scales: 16 x i16, low half for elements 0-15, high for 16-31

#define WS_QINLINE inline __attribute__((always_inline))

WS_QINLINE float half(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

// Software prefetch at least kPrefetchBytes ahead of the weight stream (a
// whole number of row groups ahead: prefetch_ahead in quant_simd.inl).
// Measured on the 2-vCPU EPYC (bench/RESULTS-quant-kernels.md): a GEMV from
// DRAM ran at about half its in-cache speed without it (the block loop is too
// long for the out-of-order window to keep enough lines in flight); with it
// Q4_0 went from ~8 to ~14 GB/s on one thread, Q8_0 from ~12 to ~16.
// 12 KiB measured the same as 6 KiB; 1.5 KiB and less gave most of it back.
constexpr size_t kPrefetchBytes = 6144;
WS_QINLINE void prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0); }

WS_QINLINE I8 load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
WS_QINLINE I8 set1_u8(uint8_t v) { return _mm256_set1_epi8(static_cast<char>(v)); }
WS_QINLINE I8 and_(I8 a, I8 b) { return _mm256_and_si256(a, b); }
WS_QINLINE I8 or_(I8 a, I8 b) { return _mm256_or_si256(a, b); }

// 16 bytes of packed nibbles -> 32 values: the low nibbles, then the high ones.
WS_QINLINE I8 nibbles16(const uint8_t* p) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const I8 both = _mm256_inserti128_si256(_mm256_castsi128_si256(v), _mm_srli_epi16(v, 4), 1);
  return and_(both, set1_u8(0x0F));
}
WS_QINLINE I8 lo_nibbles(I8 v) { return and_(v, set1_u8(0x0F)); }
WS_QINLINE I8 hi_nibbles(I8 v) { return and_(_mm256_srli_epi16(v, 4), set1_u8(0x0F)); }

// Each byte shifted by `shift` (left if positive) and masked with `mask`;
// the mask must clear every bit a 16-bit shift carried in from the
// neighbouring byte.
WS_QINLINE I8 shift_mask(I8 v, int shift, uint8_t mask) {
  const I8 s = shift >= 0 ? _mm256_slli_epi16(v, shift) : _mm256_srli_epi16(v, -shift);
  return and_(s, set1_u8(mask));
}

// Byte e = 0xFF if bit e of `bits` is set, else 0 (the Q5 fifth bits).
WS_QINLINE I8 bits_to_bytes(uint32_t bits) {
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(bits)),
      _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0x0000000000000000));
  const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
  return _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
}

WS_QINLINE I32 zero_i32() { return _mm256_setzero_si256(); }
WS_QINLINE I32 add_i32(I32 a, I32 b) { return _mm256_add_epi32(a, b); }
WS_QINLINE I32 sub_i32(I32 a, I32 b) { return _mm256_sub_epi32(a, b); }
WS_QINLINE I32 set1_i32(int32_t v) { return _mm256_set1_epi32(v); }
WS_QINLINE simd::V to_float(I32 v) { return _mm256_cvtepi32_ps(v); }
// acc + scale * (the partial sums as floats): one block's contribution.
WS_QINLINE simd::V scale_add(I32 sums, float scale, simd::V acc) {
  return _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_set1_ps(scale), acc);
}

// Partial sums of u[e] * x[e] for unsigned u <= 127 (so vpmaddubsw's pairwise
// i16 sums cannot saturate: 2 * 127 * 127 < 32767) and signed x.
WS_QINLINE I32 dot_u8i8(I8 u, I8 x) {
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, x);
#else
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, x), _mm256_set1_epi16(1));
#endif
}

// Partial sums of w[e] * x[e], both signed (x in [-127, 127]): |w| and the
// sign of w moved onto x keep the u8 x i8 instruction exact.
WS_QINLINE I32 dot_i8i8(I8 w, I8 x) {
  const I8 aw = _mm256_sign_epi8(w, w), sx = _mm256_sign_epi8(x, w);
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), aw, sx);
#else
  return _mm256_madd_epi16(_mm256_maddubs_epi16(aw, sx), _mm256_set1_epi16(1));
#endif
}

WS_QINLINE S16 scales16(int lo, int hi) {
  return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_set1_epi16(static_cast<short>(lo))),
                                 _mm_set1_epi16(static_cast<short>(hi)), 1);
}
WS_QINLINE S16 scales16(int both) { return _mm256_set1_epi16(static_cast<short>(both)); }

// acc + partial sums of sc * u[e] * x[e] (u <= 63, |sc| <= 128: the pairwise
// i16 sums reach 2 * 63 * 127, the i32 lanes far below 2^31 per block).
WS_QINLINE I32 dot_scaled_acc(I32 acc, I8 u, I8 x, S16 sc) {
  const __m256i pairs = _mm256_maddubs_epi16(u, x);
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
  return _mm256_dpwssd_epi32(acc, pairs, sc);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, sc));
#endif
}

// Q6_K's 8 scales of one half-block (sc[0..7], i8) widened once, both
// 128-bit lanes alike; q6_scale_pair(s, g) spreads scales 2g / 2g+1 over
// the low / high lane (elements 0-15 / 16-31 of group g) with one vpshufb.
using Q6Scales = __m256i;
WS_QINLINE Q6Scales q6_scales(const int8_t* sc) {
  return _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sc))));
}
WS_QINLINE S16 q6_scale_pair(Q6Scales s, int g) {
  const char lo0 = static_cast<char>(4 * g), lo1 = static_cast<char>(4 * g + 1), hi0 = static_cast<char>(4 * g + 2),
             hi1 = static_cast<char>(4 * g + 3);
  return _mm256_shuffle_epi8(s, _mm256_setr_epi8(lo0, lo1, lo0, lo1, lo0, lo1, lo0, lo1, lo0, lo1, lo0, lo1, lo0, lo1,
                                                 lo0, lo1, hi0, hi1, hi0, hi1, hi0, hi1, hi0, hi1, hi0, hi1, hi0, hi1,
                                                 hi0, hi1, hi0, hi1));
}
// Partial sums totalling 32 * sum_s sc[s] * bsums[s] over a Q6_K block's 16
// scales (Q6_K's -32 offset, kept in the exact integer sum).
WS_QINLINE I32 q6_offset32(const int8_t* sc, const int16_t* bsums) {
  const __m256i s16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc)));
  const __m256i b16 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bsums));
  return _mm256_slli_epi32(_mm256_madd_epi16(s16, b16), 5);
}

}  // namespace ws::kernels::qsimd
