// Quantized matrix-product bodies written once against the qsimd:: integer
// names (quant_simd_x86.h, quant_simd_wasm.h) and the simd:: float vector.
// Included by quant_<isa>.cpp inside namespace ws::kernels::<isa>.
//
// Shape of the work, and why:
//  - Each weight block is unpacked to 32-value int8 vectors once, then dotted
//    with the matching block of R activation rows (R <= 4): prefill reuses every
//    unpacked weight block from registers R times, while the weights stream
//    through the cache once per R rows.
//  - Decode (R = 1, 2) walks J = 2 weight rows side by side: two independent
//    accumulation chains and two sequential memory streams, prefetched
//    kPrefetchBytes ahead (see quant_simd_x86.h for the measurement).
//  - Integer parts (block dot products, the Q4_0/Q5_0 offsets, the K-quant
//    group scales) stay exact in i32 lanes; each block then costs one convert
//    and one fused multiply-add with its float scale dw * dx. The Q4_1/Q5_1
//    mins and K-quant mins/offsets are per-block scalars (m * s_x, from the
//    precomputed activation sums), added in a float beside the vector.

using namespace quant;
using qsimd::I8;
using qsimd::I32;

// Q4_0: (q - 8) * x summed = dot(q, x) - 8 * sum(x): one lane each of the
// 8 lanes subtracts sum(x), exactly.
struct BlockQ4_0 {
  static constexpr QuantType kType = kQ4_0;
  using Act = ActQ8;
  template <int R>
  static WS_QINLINE void run(const uint8_t* w, const Act* a, size_t b, simd::V* acc, float* corr) {
    const float dw = qsimd::half(w);
    const I8 u = qsimd::nibbles16(w + 2);
    for (int r = 0; r < R; ++r) {
      I32 p = qsimd::dot_u8i8(u, qsimd::load(a[r].qs + 32 * b));
      p = qsimd::sub_i32(p, qsimd::set1_i32(a[r].sum[b]));
      acc[r] = qsimd::scale_add(p, dw * a[r].d[b], acc[r]);
    }
  }
};

struct BlockQ4_1 {
  static constexpr QuantType kType = kQ4_1;
  using Act = ActQ8;
  template <int R>
  static WS_QINLINE void run(const uint8_t* w, const Act* a, size_t b, simd::V* acc, float* corr) {
    const float dw = qsimd::half(w), mw = qsimd::half(w + 2);
    const I8 u = qsimd::nibbles16(w + 4);
    for (int r = 0; r < R; ++r) {
      const I32 p = qsimd::dot_u8i8(u, qsimd::load(a[r].qs + 32 * b));
      acc[r] = qsimd::scale_add(p, dw * a[r].d[b], acc[r]);
      corr[r] += mw * a[r].s[b];
    }
  }
};

// Q5_0: offset 16 = 2 * sum(x) off each of the 8 lanes.
struct BlockQ5_0 {
  static constexpr QuantType kType = kQ5_0;
  using Act = ActQ8;
  template <int R>
  static WS_QINLINE void run(const uint8_t* w, const Act* a, size_t b, simd::V* acc, float* corr) {
    const float dw = qsimd::half(w);
    const I8 high = qsimd::and_(qsimd::bits_to_bytes(load_u32(w + 2)), qsimd::set1_u8(0x10));
    const I8 u = qsimd::or_(qsimd::nibbles16(w + 6), high);
    for (int r = 0; r < R; ++r) {
      I32 p = qsimd::dot_u8i8(u, qsimd::load(a[r].qs + 32 * b));
      p = qsimd::sub_i32(p, qsimd::set1_i32(2 * a[r].sum[b]));
      acc[r] = qsimd::scale_add(p, dw * a[r].d[b], acc[r]);
    }
  }
};

struct BlockQ5_1 {
  static constexpr QuantType kType = kQ5_1;
  using Act = ActQ8;
  template <int R>
  static WS_QINLINE void run(const uint8_t* w, const Act* a, size_t b, simd::V* acc, float* corr) {
    const float dw = qsimd::half(w), mw = qsimd::half(w + 2);
    const I8 high = qsimd::and_(qsimd::bits_to_bytes(load_u32(w + 4)), qsimd::set1_u8(0x10));
    const I8 u = qsimd::or_(qsimd::nibbles16(w + 8), high);
    for (int r = 0; r < R; ++r) {
      const I32 p = qsimd::dot_u8i8(u, qsimd::load(a[r].qs + 32 * b));
      acc[r] = qsimd::scale_add(p, dw * a[r].d[b], acc[r]);
      corr[r] += mw * a[r].s[b];
    }
  }
};

struct BlockQ8_0 {
  static constexpr QuantType kType = kQ8_0;
  using Act = ActQ8;
  template <int R>
  static WS_QINLINE void run(const uint8_t* w, const Act* a, size_t b, simd::V* acc, float* corr) {
    const float dw = qsimd::half(w);
    const I8 q = qsimd::load(w + 2);
    for (int r = 0; r < R; ++r) {
      const I32 p = qsimd::dot_i8i8(q, qsimd::load(a[r].qs + 32 * b));
      acc[r] = qsimd::scale_add(p, dw * a[r].d[b], acc[r]);
    }
  }
};

// sum over the 8 groups of 32 of min_g * (sum of x over the group).
WS_QINLINE int32_t mins_dot(const uint8_t* min, const int16_t* bsums) {
  int32_t s = 0;
  for (int g = 0; g < 8; ++g) s += min[g] * (bsums[2 * g] + bsums[2 * g + 1]);
  return s;
}

// Q4_K / Q5_K: chunk c (64 values) holds groups 2c (low nibbles) and 2c+1
// (high nibbles) of 32 bytes of qs; Q5_K's fifth bit of group g is bit g of
// qh[l], moved to bit 4.
template <bool kFiveBits>
struct BlockQ45_K {
  static constexpr QuantType kType = kFiveBits ? kQ5_K : kQ4_K;
  using Act = ActQ8K;
  template <int R>
  static WS_QINLINE void run(const uint8_t* w, const Act* a, size_t b, simd::V* acc, float* corr) {
    const float d = qsimd::half(w), dmin = qsimd::half(w + 2);
    uint8_t scale[8], min[8];
    unpack_scales_k4(w + 4, scale, min);
    const uint8_t* qs = w + (kFiveBits ? 48 : 16);
    I8 qh;
    if (kFiveBits) qh = qsimd::load(w + 16);
    I32 isum[R];
    for (int r = 0; r < R; ++r) isum[r] = qsimd::zero_i32();
    for (int c = 0; c < 4; ++c) {
      const I8 q = qsimd::load(qs + 32 * c);
      I8 u0 = qsimd::lo_nibbles(q), u1 = qsimd::hi_nibbles(q);
      if (kFiveBits) {
        u0 = qsimd::or_(u0, qsimd::shift_mask(qh, 4 - 2 * c, 0x10));
        u1 = qsimd::or_(u1, qsimd::shift_mask(qh, 3 - 2 * c, 0x10));
      }
      const qsimd::S16 s0 = qsimd::scales16(scale[2 * c]), s1 = qsimd::scales16(scale[2 * c + 1]);
      for (int r = 0; r < R; ++r) {
        const int8_t* x = a[r].qs + 256 * b + 64 * c;
        isum[r] = qsimd::dot_scaled_acc(isum[r], u0, qsimd::load(x), s0);
        isum[r] = qsimd::dot_scaled_acc(isum[r], u1, qsimd::load(x + 32), s1);
      }
    }
    for (int r = 0; r < R; ++r) {
      const float dx = a[r].d[b];
      acc[r] = qsimd::scale_add(isum[r], d * dx, acc[r]);
      corr[r] -= (dmin * dx) * static_cast<float>(mins_dot(min, a[r].bsums + 16 * b));
    }
  }
};

// Q6_K: per half of 128 values, group g (0..3) of 32 is nibble g / 2 of
// ql[32 * (g % 2) + l] with bits 2g, 2g+1 of qh[l] as bits 4, 5; its two
// halves of 16 have scales sc[2g], sc[2g + 1]. The -32 offset is
// 32 * sum_s sc[s] * bsum[s], taken off the block's integer total in i32
// lanes (one vpmaddwd on x86) before the one float scaling.
struct BlockQ6_K {
  static constexpr QuantType kType = kQ6_K;
  using Act = ActQ8K;
  template <int R>
  static WS_QINLINE void run(const uint8_t* w, const Act* a, size_t b, simd::V* acc, float* corr) {
    const float d = qsimd::half(w + 208);
    const auto* sc = reinterpret_cast<const int8_t*>(w + 192);
    I32 isum[R];
    for (int r = 0; r < R; ++r) isum[r] = qsimd::zero_i32();
    for (int h = 0; h < 2; ++h) {
      const I8 l0 = qsimd::load(w + 64 * h), l1 = qsimd::load(w + 64 * h + 32), qh = qsimd::load(w + 128 + 32 * h);
      const I8 u[4] = {
          qsimd::or_(qsimd::lo_nibbles(l0), qsimd::shift_mask(qh, 4, 0x30)),
          qsimd::or_(qsimd::lo_nibbles(l1), qsimd::shift_mask(qh, 2, 0x30)),
          qsimd::or_(qsimd::hi_nibbles(l0), qsimd::and_(qh, qsimd::set1_u8(0x30))),
          qsimd::or_(qsimd::hi_nibbles(l1), qsimd::shift_mask(qh, -2, 0x30)),
      };
      const qsimd::Q6Scales s6 = qsimd::q6_scales(sc + 8 * h);
      for (int g = 0; g < 4; ++g) {
        const qsimd::S16 s = qsimd::q6_scale_pair(s6, g);
        for (int r = 0; r < R; ++r) {
          isum[r] = qsimd::dot_scaled_acc(isum[r], u[g], qsimd::load(a[r].qs + 256 * b + 128 * h + 32 * g), s);
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      const I32 total = qsimd::sub_i32(isum[r], qsimd::q6_offset32(sc, a[r].bsums + 16 * b));
      acc[r] = qsimd::scale_add(total, d * a[r].d[b], acc[r]);
    }
  }
};

inline ActQ8 act_view(const ActQ8*, const uint8_t* row, size_t k) { return act_q8_view(row, k); }
inline ActQ8K act_view(const ActQ8K*, const uint8_t* row, size_t k) { return act_q8k_view(row, k); }

// How far ahead of a weight block to prefetch: a whole number of J-row
// groups, at least kPrefetchBytes. Fetching the same offset P groups ahead
// covers every byte of every row once; a fixed byte distance would skip the
// start of each row whenever it lands in a neighbouring row.
inline size_t prefetch_ahead(size_t w_row_bytes, int J) {
  if (!qsimd::kPrefetchBytes) return 0;
  const size_t group = w_row_bytes * static_cast<size_t>(J);
  return (qsimd::kPrefetchBytes + group - 1) / group * group;
}

// Outputs j .. j+J-1 of the R activation rows in `a`.
template <class B, int R, int J>
WS_QINLINE void rows(const typename B::Act* a, size_t nb, const uint8_t* w, size_t w_row_bytes, float* y, size_t ys,
                     size_t ahead) {
  simd::V acc[J][R];
  float corr[J][R];
  for (int jj = 0; jj < J; ++jj) {
    for (int r = 0; r < R; ++r) {
      acc[jj][r] = simd::zero();
      corr[jj][r] = 0.0f;
    }
  }
  constexpr size_t bb = kBlockBytes[B::kType];
  for (size_t b = 0; b < nb; ++b) {
    for (int jj = 0; jj < J; ++jj) {
      const uint8_t* wb = w + jj * w_row_bytes + b * bb;
      if (qsimd::kPrefetchBytes) {
        for (size_t line = 0; line < bb; line += 64) qsimd::prefetch(wb + ahead + line);
      }
      B::template run<R>(wb, a, b, acc[jj], corr[jj]);
    }
  }
  for (int jj = 0; jj < J; ++jj) {
    for (int r = 0; r < R; ++r) y[r * ys + jj] = simd::hsum(acc[jj][r]) + corr[jj][r];
  }
}

template <class B, int R>
void tile(size_t n, size_t k, const uint8_t* xq, size_t act_row_bytes, const uint8_t* w, size_t w_row_bytes,
          float* y, size_t ys) {
  constexpr int J = R <= 2 ? 2 : 1;
  typename B::Act a[R];
  for (int r = 0; r < R; ++r) a[r] = act_view(a, xq + r * act_row_bytes, k);
  const size_t nb = k / kBlockElements[B::kType];
  const size_t ahead = prefetch_ahead(w_row_bytes, J);
  size_t j = 0;
  for (; j + J <= n; j += J) rows<B, R, J>(a, nb, w + j * w_row_bytes, w_row_bytes, y + j, ys, ahead);
  for (; j < n; ++j) rows<B, R, 1>(a, nb, w + j * w_row_bytes, w_row_bytes, y + j, ys, ahead);
}

// Prefill (m > 4): the weights are walked in chunks of rows that fit in L2
// (about 256 KiB), and every 4-row activation tile passes over a chunk before
// the next, so each weight byte comes from DRAM once per op, not once per tile.
inline size_t rows_per_chunk(size_t w_row_bytes) {
  const size_t rows = (size_t{256} << 10) / (w_row_bytes ? w_row_bytes : 1);
  return rows < 2 ? 2 : rows & ~size_t{1};
}

template <class B>
void gemm(size_t m, size_t n, size_t k, const void* xq, const void* w, size_t w_row_bytes, float* y, size_t ys) {
  const size_t arb = kBlockElements[B::kType] == 32 ? act_q8_row_bytes(k) : act_q8k_row_bytes(k);
  const auto* x = static_cast<const uint8_t*>(xq);
  const size_t chunk = m > 4 ? rows_per_chunk(w_row_bytes) : n;
  for (size_t j0 = 0; j0 < n; j0 += chunk) {
    const size_t nc = n - j0 < chunk ? n - j0 : chunk;
    const auto* wb = static_cast<const uint8_t*>(w) + j0 * w_row_bytes;
    float* yc = y + j0;
    size_t i = 0;
    for (; i + 4 <= m; i += 4) tile<B, 4>(nc, k, x + i * arb, arb, wb, w_row_bytes, yc + i * ys, ys);
    switch (m - i) {
      case 3: tile<B, 3>(nc, k, x + i * arb, arb, wb, w_row_bytes, yc + i * ys, ys); break;
      case 2: tile<B, 2>(nc, k, x + i * arb, arb, wb, w_row_bytes, yc + i * ys, ys); break;
      case 1: tile<B, 1>(nc, k, x + i * arb, arb, wb, w_row_bytes, yc + i * ys, ys); break;
      default: break;
    }
  }
}
