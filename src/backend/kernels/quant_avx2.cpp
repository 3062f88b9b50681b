// AVX2+FMA+F16C quantized matrix products (compiled with -mavx2 -mfma -mf16c),
// and the 16-row packed Q4_0 kernel (quant_pack.h). Packed Q8_0 needs a
// u8 x i8 product of values up to 255, which vpmaddubsw would saturate:
// Q8_0 stays in the ggml layout with this table.
#include "backend/kernels/kernels.h"
#include "backend/kernels/quant_act.h"
#include "backend/kernels/quant_blocks.h"
#include "backend/kernels/quant_kernels.h"
#include "backend/kernels/quant_pack.h"
#include "backend/kernels/quant_simd_x86.h"

namespace ws::kernels::quant_avx2 {
constexpr const char* kIsaName = "avx2";
#include "backend/kernels/quant_simd.inl"

namespace {

// ---- 16-row packed Q4_0 ------------------------------------------------------
// One i32 lane per row, rows 0-7 and 8-15 in two registers. Per block column
// and activation row: 16 vpmaddubsw (4 activation bytes broadcast against
// 4 nibbles of each of 16 rows), their i16 pair sums added over the block
// (at most 8 * 2 * 15 * 127 = 30480: no i16 overflow), one vpmaddwd per half
// to i32. The float steps are the scalar reference's, unfused (an empty asm
// keeps the compiler from contracting the multiply and the add into an FMA),
// so the results are the scalar reference's bits.
WS_QINLINE __m256 unfused(__m256 v) {
  __asm__("" : "+x"(v));
  return v;
}

template <int R>
WS_QINLINE void packed_q4_0_group(const ActQ8* a, size_t nb, const uint8_t* w, float* y, size_t ys) {
  constexpr size_t kColumn = quant::kPackRows * 18;
  __m256 acc[R][2];
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  const __m256i mask = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
  for (size_t b = 0; b < nb; ++b) {
    const uint8_t* column = w + b * kColumn;
    for (size_t line = 0; line < kColumn; line += 64) qsimd::prefetch(column + qsimd::kPrefetchBytes + line);
    const __m256 dw0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(column)));
    const __m256 dw1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(column + 16)));
    __m256i u[8][2];
    for (int g = 0; g < 4; ++g) {
      for (int h = 0; h < 2; ++h) {
        const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(column + 32 + 64 * g + 32 * h));
        u[2 * g][h] = _mm256_and_si256(q, mask);
        u[2 * g + 1][h] = _mm256_and_si256(_mm256_srli_epi16(q, 4), mask);
      }
    }
    for (int r = 0; r < R; ++r) {
      const uint8_t* x = reinterpret_cast<const uint8_t*>(a[r].qs + 32 * b);
      __m256i p0 = _mm256_setzero_si256(), p1 = _mm256_setzero_si256();
      for (int i = 0; i < 8; ++i) {
        const __m256i xb = _mm256_set1_epi32(static_cast<int>(load_u32(x + (i % 2 ? 16 : 0) + 4 * (i / 2))));
        p0 = _mm256_add_epi16(p0, _mm256_maddubs_epi16(u[i][0], xb));
        p1 = _mm256_add_epi16(p1, _mm256_maddubs_epi16(u[i][1], xb));
      }
      const __m256i offset = _mm256_set1_epi32(8 * a[r].sum[b]);
      const __m256i i0 = _mm256_sub_epi32(_mm256_madd_epi16(p0, ones), offset);
      const __m256i i1 = _mm256_sub_epi32(_mm256_madd_epi16(p1, ones), offset);
      const __m256 dx = _mm256_set1_ps(a[r].d[b]);
      acc[r][0] = _mm256_add_ps(acc[r][0], unfused(_mm256_mul_ps(_mm256_mul_ps(dw0, dx), _mm256_cvtepi32_ps(i0))));
      acc[r][1] = _mm256_add_ps(acc[r][1], unfused(_mm256_mul_ps(_mm256_mul_ps(dw1, dx), _mm256_cvtepi32_ps(i1))));
    }
  }
  for (int r = 0; r < R; ++r) {
    _mm256_storeu_ps(y + r * ys, acc[r][0]);
    _mm256_storeu_ps(y + r * ys + 8, acc[r][1]);
  }
}

template <int R>
void packed_q4_0_tile(size_t groups, size_t k, const uint8_t* xq, size_t act_row_bytes, const uint8_t* w, float* y,
                      size_t ys) {
  ActQ8 a[R];
  for (int r = 0; r < R; ++r) a[r] = act_q8_view(xq + r * act_row_bytes, k);
  const size_t nb = k / 32, group_bytes = nb * quant::kPackRows * 18;
  for (size_t g = 0; g < groups; ++g) packed_q4_0_group<R>(a, nb, w + g * group_bytes, y + quant::kPackRows * g, ys);
}

// As the AVX-512 packed_gemm: ~256 KiB chunks of groups for prefill; at most
// 2 activation rows share a pass (16 ymm registers hold the unpacked block).
void packed_q4_0_gemm(size_t m, size_t groups, size_t k, const void* xq, const void* w, float* y, size_t ys) {
  const size_t arb = act_q8_row_bytes(k), group_bytes = (k / 32) * quant::kPackRows * 18;
  const auto* x = static_cast<const uint8_t*>(xq);
  const size_t per_chunk = (size_t{256} << 10) / group_bytes;
  const size_t chunk = m > 2 ? (per_chunk ? per_chunk : 1) : groups;
  for (size_t g0 = 0; g0 < groups; g0 += chunk) {
    const size_t nc = groups - g0 < chunk ? groups - g0 : chunk;
    const auto* wc = static_cast<const uint8_t*>(w) + g0 * group_bytes;
    float* yc = y + quant::kPackRows * g0;
    size_t i = 0;
    for (; i + 2 <= m; i += 2) packed_q4_0_tile<2>(nc, k, x + i * arb, arb, wc, yc + i * ys, ys);
    if (i < m) packed_q4_0_tile<1>(nc, k, x + i * arb, arb, wc, yc + i * ys, ys);
  }
}

}  // namespace

const QuantKernelTable& table_unchecked() {
  static const QuantKernelTable table = {
      kIsaName,
      {
          {act_q8_row_bytes, quantize_act_q8, gemm<BlockQ4_0>},
          {act_q8_row_bytes, quantize_act_q8, gemm<BlockQ4_1>},
          {act_q8_row_bytes, quantize_act_q8, gemm<BlockQ5_0>},
          {act_q8_row_bytes, quantize_act_q8, gemm<BlockQ5_1>},
          {act_q8_row_bytes, quantize_act_q8, gemm<BlockQ8_0>},
          {act_q8k_row_bytes, quantize_act_q8k, gemm<BlockQ45_K<false>>},
          {act_q8k_row_bytes, quantize_act_q8k, gemm<BlockQ6_K>},
          {act_q8k_row_bytes, quantize_act_q8k, gemm<BlockQ45_K<true>>},
      },
      {packed_q4_0_gemm, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr},
  };
  return table;
}
}  // namespace ws::kernels::quant_avx2
