// AVX-512 quantized matrix products (compiled with -mavx2 -mfma -mf16c
// -mavx512f -mavx512bw -mavx512vl -mavx512vnni).
//  - The 32-element formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) take two blocks of
//    a weight row per 512-bit register: one unpack, one vpdpbusd, one convert
//    and one FMA per pair, with the pair's two scales spread over the two
//    register halves. On the decode path this measured about 1.3x the
//    blocks/s of the 256-bit body (the loop is instruction-bound, not
//    execution-bound). An odd last block goes through the 256-bit body.
//  - The K formats use the shared 256-bit body (quant_simd.inl) with vpdpwssd.
#include "backend/kernels/kernels.h"
#include "backend/kernels/quant_act.h"
#include "backend/kernels/quant_blocks.h"
#include "backend/kernels/quant_kernels.h"
#include "backend/kernels/quant_pack.h"
#include "backend/kernels/quant_simd_x86.h"

namespace ws::kernels::quant_avx512 {
constexpr const char* kIsaName = "avx512-vnni";
#include "backend/kernels/quant_simd.inl"

namespace {

using Z = __m512;

// The two f16 scales at p and p + stride, as 2 floats.
WS_QINLINE __m128 half_pair(const uint8_t* p, size_t stride) {
  return _mm_cvtph_ps(_mm_insert_epi16(_mm_cvtsi32_si128(load_u16(p)), load_u16(p + stride), 1));
}
// Lanes 0-7 = v[0], lanes 8-15 = v[1].
WS_QINLINE Z spread_pair(__m128 v) {
  return _mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0), _mm512_zextps128_ps512(v));
}
// Two consecutive floats (only 4-byte aligned: a memcpy, not a double load).
WS_QINLINE __m128 load_pair(const float* p) {
  uint64_t bits;
  std::memcpy(&bits, p, 8);
  return _mm_castsi128_ps(_mm_cvtsi64_si128(static_cast<long long>(bits)));
}

// 2 x 16 bytes of packed nibbles -> 64 values in element order: block A's
// low then high nibbles, then block B's.
WS_QINLINE __m512i nibbles_pair(const uint8_t* a, const uint8_t* b) {
  const __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a))),
                                            _mm_loadu_si128(reinterpret_cast<const __m128i*>(b)), 1);
  const __m512i both = _mm512_inserti64x4(_mm512_zextsi256_si512(v), _mm256_srli_epi16(v, 4), 1);
  // 128-bit lanes [A lo, B lo, A hi, B hi] -> [A lo, A hi, B lo, B hi].
  return _mm512_and_si512(_mm512_shuffle_i64x2(both, both, _MM_SHUFFLE(3, 1, 2, 0)), _mm512_set1_epi8(0x0F));
}

// One pair-decoder per 32-element format. kOffset: what multiplies
// sum_b (dw_b or mw_b) * s_x,b in the correction (Q4_0: -8, Q5_0: -16,
// Q4_1/Q5_1: +1 with the mins; Q8_0: none).
struct PairQ4_0 {
  using Block = BlockQ4_0;
  static constexpr float kOffset = -8.0f;
  static WS_QINLINE __m512i values(const uint8_t* w) { return nibbles_pair(w + 2, w + 18 + 2); }
  static WS_QINLINE __m128 corr_scale(const uint8_t* w, __m128 dw) { return dw; }
};
struct PairQ4_1 {
  using Block = BlockQ4_1;
  static constexpr float kOffset = 1.0f;
  static WS_QINLINE __m512i values(const uint8_t* w) { return nibbles_pair(w + 4, w + 20 + 4); }
  static WS_QINLINE __m128 corr_scale(const uint8_t* w, __m128) { return half_pair(w + 2, 20); }
};
// The fifth bits of both blocks as one 64-bit mask in element order.
WS_QINLINE __m512i add_fifth_bits(__m512i u, const uint8_t* qh_a, const uint8_t* qh_b) {
  const __mmask64 bits = static_cast<__mmask64>(load_u32(qh_a)) | (static_cast<__mmask64>(load_u32(qh_b)) << 32);
  return _mm512_mask_add_epi8(u, bits, u, _mm512_set1_epi8(0x10));
}
struct PairQ5_0 {
  using Block = BlockQ5_0;
  static constexpr float kOffset = -16.0f;
  static WS_QINLINE __m512i values(const uint8_t* w) { return add_fifth_bits(nibbles_pair(w + 6, w + 22 + 6), w + 2, w + 22 + 2); }
  static WS_QINLINE __m128 corr_scale(const uint8_t* w, __m128 dw) { return dw; }
};
struct PairQ5_1 {
  using Block = BlockQ5_1;
  static constexpr float kOffset = 1.0f;
  static WS_QINLINE __m512i values(const uint8_t* w) { return add_fifth_bits(nibbles_pair(w + 8, w + 24 + 8), w + 4, w + 24 + 4); }
  static WS_QINLINE __m128 corr_scale(const uint8_t* w, __m128) { return half_pair(w + 2, 24); }
};
struct PairQ8_0 {
  using Block = BlockQ8_0;
  static constexpr float kOffset = 0.0f;
  static WS_QINLINE __m512i values(const uint8_t* w) {
    return _mm512_inserti64x4(_mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 2))),
                              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 34 + 2)), 1);
  }
  static WS_QINLINE __m128 corr_scale(const uint8_t*, __m128 dw) { return dw; }
};

template <class P>
WS_QINLINE __m512i pair_dot(__m512i w, __m512i x) {
  if constexpr (P::kOffset == 0.0f) {  // signed weights: |w| and w's sign moved onto x
    const __m512i sx = _mm512_mask_sub_epi8(x, _mm512_movepi8_mask(w), _mm512_setzero_si512(), x);
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(w), sx);
  } else {
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), w, x);
  }
}

// Outputs j .. j+J-1 of the R activation rows in `a`.
template <class P, int R, int J>
WS_QINLINE void pair_rows(const ActQ8* a, size_t nb, const uint8_t* w, size_t w_row_bytes, float* y, size_t ys,
                          size_t ahead) {
  constexpr size_t bb = kBlockBytes[P::Block::kType];
  Z acc[J][R];
  __m128 corr[J][R];
  for (int jj = 0; jj < J; ++jj) {
    for (int r = 0; r < R; ++r) {
      acc[jj][r] = _mm512_setzero_ps();
      corr[jj][r] = _mm_setzero_ps();
    }
  }
  size_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    for (int jj = 0; jj < J; ++jj) {
      const uint8_t* wb = w + jj * w_row_bytes + b * bb;
      for (size_t line = 0; line < 2 * bb; line += 64) qsimd::prefetch(wb + ahead + line);
      const __m128 dw = half_pair(wb, bb);
      const __m512i u = P::values(wb);
      const __m128 cs = P::corr_scale(wb, dw);
      for (int r = 0; r < R; ++r) {
        const __m512i p = pair_dot<P>(u, _mm512_loadu_si512(a[r].qs + 32 * b));
        acc[jj][r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), spread_pair(_mm_mul_ps(dw, load_pair(a[r].d + b))), acc[jj][r]);
        if (P::kOffset != 0.0f) corr[jj][r] = _mm_fmadd_ps(cs, load_pair(a[r].s + b), corr[jj][r]);
      }
    }
  }
  for (int jj = 0; jj < J; ++jj) {
    simd::V tail[R];
    float tail_corr[R];
    for (int r = 0; r < R; ++r) {
      tail[r] = simd::zero();
      tail_corr[r] = 0.0f;
    }
    if (b < nb) P::Block::template run<R>(w + jj * w_row_bytes + b * bb, a, b, tail, tail_corr);
    for (int r = 0; r < R; ++r) {
      const __m128 c = corr[jj][r];
      const float offset = P::kOffset * (_mm_cvtss_f32(c) + _mm_cvtss_f32(_mm_movehdup_ps(c)));
      y[r * ys + jj] = _mm512_reduce_add_ps(acc[jj][r]) + simd::hsum(tail[r]) + tail_corr[r] + offset;
    }
  }
}

template <class P, int R>
void pair_tile(size_t n, size_t k, const uint8_t* xq, size_t act_row_bytes, const uint8_t* w, size_t w_row_bytes,
               float* y, size_t ys) {
  constexpr int J = R <= 2 ? 2 : 1;
  ActQ8 a[R];
  for (int r = 0; r < R; ++r) a[r] = act_q8_view(xq + r * act_row_bytes, k);
  const size_t nb = k / 32;
  const size_t ahead = prefetch_ahead(w_row_bytes, J);
  size_t j = 0;
  for (; j + J <= n; j += J) pair_rows<P, R, J>(a, nb, w + j * w_row_bytes, w_row_bytes, y + j, ys, ahead);
  for (; j < n; ++j) pair_rows<P, R, 1>(a, nb, w + j * w_row_bytes, w_row_bytes, y + j, ys, ahead);
}

template <class P>
void pair_gemm(size_t m, size_t n, size_t k, const void* xq, const void* w, size_t w_row_bytes, float* y, size_t ys) {
  const size_t arb = act_q8_row_bytes(k);
  const auto* x = static_cast<const uint8_t*>(xq);
  const size_t chunk = m > 4 ? rows_per_chunk(w_row_bytes) : n;  // as gemm() in quant_simd.inl
  for (size_t j0 = 0; j0 < n; j0 += chunk) {
    const size_t nc = n - j0 < chunk ? n - j0 : chunk;
    const auto* wb = static_cast<const uint8_t*>(w) + j0 * w_row_bytes;
    float* yc = y + j0;
    size_t i = 0;
    for (; i + 4 <= m; i += 4) pair_tile<P, 4>(nc, k, x + i * arb, arb, wb, w_row_bytes, yc + i * ys, ys);
    switch (m - i) {
      case 3: pair_tile<P, 3>(nc, k, x + i * arb, arb, wb, w_row_bytes, yc + i * ys, ys); break;
      case 2: pair_tile<P, 2>(nc, k, x + i * arb, arb, wb, w_row_bytes, yc + i * ys, ys); break;
      case 1: pair_tile<P, 1>(nc, k, x + i * arb, arb, wb, w_row_bytes, yc + i * ys, ys); break;
      default: break;
    }
  }
}

// ---- the 16-row packed layout (quant_pack.h): Q4_0 and Q8_0 -------------------
// One 512-bit lane per weight row. Per column of 16 blocks: the 16 scales in
// one vcvtph2ps, 8 vectors of 4-byte slices (Q4_0: 4 loads split into low and
// high nibbles; Q8_0: 8 loads of offset values), and per activation row 8
// vpdpbusd with the matching 4 activation bytes broadcast, in two chains.
// The float steps are the scalar reference's, lane by lane and in block
// order: sum += (dw * dx) * float(isum), with no fused multiply-add (the
// explicit-rounding intrinsics keep the compiler from contracting them), so
// the packed kernels give the scalar reference's bits.
template <bool kQ8>
struct Packed {
  static constexpr size_t kBlock = kQ8 ? 34 : 18;
  static constexpr size_t kColumn = kPackRows * kBlock;
  static constexpr int32_t kOffset = kQ8 ? 128 : 8;  // integer offset of the stored values
  // Activation byte offset in the block for value vector i.
  static constexpr int x_offset(int i) { return kQ8 ? 4 * i : (i % 2 ? 16 : 0) + 4 * (i / 2); }
  static WS_QINLINE void values(const uint8_t* column, __m512i u[8]) {
    const uint8_t* qs = column + 2 * kPackRows;
    if constexpr (kQ8) {
      for (int i = 0; i < 8; ++i) u[i] = _mm512_loadu_si512(qs + 64 * i);
    } else {
      const __m512i mask = _mm512_set1_epi8(0x0F);
      for (int g = 0; g < 4; ++g) {
        const __m512i q = _mm512_loadu_si512(qs + 64 * g);
        u[2 * g] = _mm512_and_si512(q, mask);
        u[2 * g + 1] = _mm512_and_si512(_mm512_srli_epi16(q, 4), mask);
      }
    }
  }
};

constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;

template <bool kQ8, int R>
WS_QINLINE void packed_group(const ActQ8* a, size_t nb, const uint8_t* w, float* y, size_t ys) {
  using P = Packed<kQ8>;
  __m512 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
  for (size_t b = 0; b < nb; ++b) {
    const uint8_t* column = w + b * P::kColumn;
    // One sequential stream: prefetch a fixed distance ahead (into the next
    // group or past the matrix end is harmless).
    for (size_t line = 0; line < P::kColumn; line += 64) qsimd::prefetch(column + qsimd::kPrefetchBytes + line);
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(column)));
    __m512i u[8];
    P::values(column, u);
    for (int r = 0; r < R; ++r) {
      const int8_t* x = a[r].qs + 32 * b;
      __m512i s0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u[0], _mm512_set1_epi32(static_cast<int>(load_u32(reinterpret_cast<const uint8_t*>(x) + P::x_offset(0)))));
      __m512i s1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u[1], _mm512_set1_epi32(static_cast<int>(load_u32(reinterpret_cast<const uint8_t*>(x) + P::x_offset(1)))));
      for (int i = 2; i < 8; i += 2) {
        s0 = _mm512_dpbusd_epi32(s0, u[i], _mm512_set1_epi32(static_cast<int>(load_u32(reinterpret_cast<const uint8_t*>(x) + P::x_offset(i)))));
        s1 = _mm512_dpbusd_epi32(s1, u[i + 1], _mm512_set1_epi32(static_cast<int>(load_u32(reinterpret_cast<const uint8_t*>(x) + P::x_offset(i + 1)))));
      }
      const __m512i isum = _mm512_sub_epi32(_mm512_add_epi32(s0, s1), _mm512_set1_epi32(P::kOffset * a[r].sum[b]));
      const __m512 scale = _mm512_mul_round_ps(dw, _mm512_set1_ps(a[r].d[b]), kRound);
      acc[r] = _mm512_add_round_ps(acc[r], _mm512_mul_round_ps(scale, _mm512_cvtepi32_ps(isum), kRound), kRound);
    }
  }
  for (int r = 0; r < R; ++r) _mm512_storeu_ps(y + r * ys, acc[r]);
}

template <bool kQ8, int R>
void packed_tile(size_t groups, size_t k, const uint8_t* xq, size_t act_row_bytes, const uint8_t* w, float* y,
                 size_t ys) {
  ActQ8 a[R];
  for (int r = 0; r < R; ++r) a[r] = act_q8_view(xq + r * act_row_bytes, k);
  const size_t nb = k / 32, group_bytes = nb * Packed<kQ8>::kColumn;
  for (size_t g = 0; g < groups; ++g) packed_group<kQ8, R>(a, nb, w + g * group_bytes, y + kPackRows * g, ys);
}

// Prefill (m > 4) walks the groups in ~256 KiB chunks, each passed over by
// every 4-row activation tile (as gemm() in quant_simd.inl).
template <bool kQ8>
void packed_gemm(size_t m, size_t groups, size_t k, const void* xq, const void* w, float* y, size_t ys) {
  const size_t arb = act_q8_row_bytes(k), group_bytes = (k / 32) * Packed<kQ8>::kColumn;
  const auto* x = static_cast<const uint8_t*>(xq);
  const size_t per_chunk = (size_t{256} << 10) / group_bytes;
  const size_t chunk = m > 4 ? (per_chunk ? per_chunk : 1) : groups;
  for (size_t g0 = 0; g0 < groups; g0 += chunk) {
    const size_t nc = groups - g0 < chunk ? groups - g0 : chunk;
    const auto* wc = static_cast<const uint8_t*>(w) + g0 * group_bytes;
    float* yc = y + kPackRows * g0;
    size_t i = 0;
    for (; i + 4 <= m; i += 4) packed_tile<kQ8, 4>(nc, k, x + i * arb, arb, wc, yc + i * ys, ys);
    switch (m - i) {
      case 3: packed_tile<kQ8, 3>(nc, k, x + i * arb, arb, wc, yc + i * ys, ys); break;
      case 2: packed_tile<kQ8, 2>(nc, k, x + i * arb, arb, wc, yc + i * ys, ys); break;
      case 1: packed_tile<kQ8, 1>(nc, k, x + i * arb, arb, wc, yc + i * ys, ys); break;
      default: break;
    }
  }
}

}  // namespace

const QuantKernelTable& table_unchecked() {
  static const QuantKernelTable table = {
      kIsaName,
      {
          {act_q8_row_bytes, quantize_act_q8, pair_gemm<PairQ4_0>},
          {act_q8_row_bytes, quantize_act_q8, pair_gemm<PairQ4_1>},
          {act_q8_row_bytes, quantize_act_q8, pair_gemm<PairQ5_0>},
          {act_q8_row_bytes, quantize_act_q8, pair_gemm<PairQ5_1>},
          {act_q8_row_bytes, quantize_act_q8, pair_gemm<PairQ8_0>},
          {act_q8k_row_bytes, quantize_act_q8k, gemm<BlockQ45_K<false>>},
          {act_q8k_row_bytes, quantize_act_q8k, gemm<BlockQ6_K>},
          {act_q8k_row_bytes, quantize_act_q8k, gemm<BlockQ45_K<true>>},
      },
      {packed_gemm<false>, nullptr, nullptr, nullptr, packed_gemm<true>, nullptr, nullptr, nullptr},
  };
  return table;
}
}  // namespace ws::kernels::quant_avx512
