// Matrix-product kernel bodies written once against the simd:: vector names
// (see simd_avx2.h). Included by gemm_<isa>.cpp after its simd_<isa>.h, inside
// namespace ws::kernels::<isa>. Tails fall back to scalar element loads.
//
// Tiling, and why:
//  - oi (weights [out, k]): 4 weight rows at a time, each x row dotted with
//    all 4 so x is loaded once per 4 outputs; for decode (m = 1) this streams
//    the weights exactly once with 4 independent FMA chains; for prefill two
//    x rows share every weight load.
//  - io (weights [k, out]): decode walks whole row segments (gemm_io_rows);
//    otherwise 32 output columns x 2 x rows per pass, the k x 128 B column
//    block staying in L2 while every x row passes over it.

struct LoadF32 {
  static simd::V load(const void* w, size_t i) { return simd::load(static_cast<const float*>(w) + i); }
  static float load1(const void* w, size_t i) { return static_cast<const float*>(w)[i]; }
};
struct LoadF16 {
  static simd::V load(const void* w, size_t i) { return simd::load_f16(static_cast<const uint16_t*>(w) + i); }
  static float load1(const void* w, size_t i) { return f16_to_f32(static_cast<const uint16_t*>(w)[i]); }
};
struct LoadBF16 {
  static simd::V load(const void* w, size_t i) { return simd::load_bf16(static_cast<const uint16_t*>(w) + i); }
  static float load1(const void* w, size_t i) { return bf16_to_f32(static_cast<const uint16_t*>(w)[i]); }
};

template <class L>
void gemm_oi(size_t m, size_t n, size_t k, const float* x, size_t xs, const void* w, size_t ws, float* y,
             size_t ys) {
  constexpr size_t L8 = simd::kLanes;
  size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const size_t r0 = j * ws, r1 = r0 + ws, r2 = r1 + ws, r3 = r2 + ws;
    size_t i = 0;
    // Prefill: 2 x rows x 4 weight rows = 8 accumulators, so each (widened)
    // weight vector feeds two FMAs.
    for (; i + 2 <= m; i += 2) {
      const float* xa = x + i * xs;
      const float* xb = xa + xs;
      simd::V a0 = simd::zero(), a1 = simd::zero(), a2 = simd::zero(), a3 = simd::zero();
      simd::V b0 = simd::zero(), b1 = simd::zero(), b2 = simd::zero(), b3 = simd::zero();
      size_t c = 0;
      for (; c + L8 <= k; c += L8) {
        const simd::V xva = simd::load(xa + c), xvb = simd::load(xb + c);
        const simd::V w0 = L::load(w, r0 + c), w1 = L::load(w, r1 + c), w2 = L::load(w, r2 + c),
                      w3 = L::load(w, r3 + c);
        a0 = simd::fma(w0, xva, a0);
        a1 = simd::fma(w1, xva, a1);
        a2 = simd::fma(w2, xva, a2);
        a3 = simd::fma(w3, xva, a3);
        b0 = simd::fma(w0, xvb, b0);
        b1 = simd::fma(w1, xvb, b1);
        b2 = simd::fma(w2, xvb, b2);
        b3 = simd::fma(w3, xvb, b3);
      }
      float s[8] = {simd::hsum(a0), simd::hsum(a1), simd::hsum(a2), simd::hsum(a3),
                    simd::hsum(b0), simd::hsum(b1), simd::hsum(b2), simd::hsum(b3)};
      for (; c < k; ++c) {
        const float v0 = L::load1(w, r0 + c), v1 = L::load1(w, r1 + c), v2 = L::load1(w, r2 + c),
                    v3 = L::load1(w, r3 + c);
        s[0] += xa[c] * v0;
        s[1] += xa[c] * v1;
        s[2] += xa[c] * v2;
        s[3] += xa[c] * v3;
        s[4] += xb[c] * v0;
        s[5] += xb[c] * v1;
        s[6] += xb[c] * v2;
        s[7] += xb[c] * v3;
      }
      for (int r = 0; r < 4; ++r) {
        y[i * ys + j + r] = s[r];
        y[(i + 1) * ys + j + r] = s[4 + r];
      }
    }
    for (; i < m; ++i) {
      const float* xr = x + i * xs;
      simd::V a0 = simd::zero(), a1 = simd::zero(), a2 = simd::zero(), a3 = simd::zero();
      size_t c = 0;
      for (; c + L8 <= k; c += L8) {
        const simd::V xv = simd::load(xr + c);
        a0 = simd::fma(L::load(w, r0 + c), xv, a0);
        a1 = simd::fma(L::load(w, r1 + c), xv, a1);
        a2 = simd::fma(L::load(w, r2 + c), xv, a2);
        a3 = simd::fma(L::load(w, r3 + c), xv, a3);
      }
      float s0 = simd::hsum(a0), s1 = simd::hsum(a1), s2 = simd::hsum(a2), s3 = simd::hsum(a3);
      for (; c < k; ++c) {
        s0 += xr[c] * L::load1(w, r0 + c);
        s1 += xr[c] * L::load1(w, r1 + c);
        s2 += xr[c] * L::load1(w, r2 + c);
        s3 += xr[c] * L::load1(w, r3 + c);
      }
      float* yr = y + i * ys + j;
      yr[0] = s0;
      yr[1] = s1;
      yr[2] = s2;
      yr[3] = s3;
    }
  }
  for (; j < n; ++j) {
    const size_t r0 = j * ws;
    for (size_t i = 0; i < m; ++i) {
      const float* xr = x + i * xs;
      simd::V a0 = simd::zero(), a1 = simd::zero();
      size_t c = 0;
      for (; c + 2 * L8 <= k; c += 2 * L8) {
        a0 = simd::fma(L::load(w, r0 + c), simd::load(xr + c), a0);
        a1 = simd::fma(L::load(w, r0 + c + L8), simd::load(xr + c + L8), a1);
      }
      for (; c + L8 <= k; c += L8) a0 = simd::fma(L::load(w, r0 + c), simd::load(xr + c), a0);
      float s = simd::hsum(simd::add(a0, a1));
      for (; c < k; ++c) s += xr[c] * L::load1(w, r0 + c);
      y[i * ys + j] = s;
    }
  }
}

// Decode (m <= 2) with wide outputs: walk the weight rows in order and
// accumulate into y, 512 columns (2 KiB of each row) at a time. Reading long
// contiguous row segments keeps DRAM streaming; the 64-column register tiles
// below jump a whole row stride every 256 bytes, which measured ~2x slower on
// matrices that do not fit the cache.
template <class L>
void gemm_io_rows(size_t m, size_t n, size_t k, const float* x, size_t xs, const void* w, size_t ws, float* y,
                  size_t ys) {
  constexpr size_t L8 = simd::kLanes;
  constexpr size_t kCols = 512;
  for (size_t j0 = 0; j0 < n; j0 += kCols) {
    const size_t cols = n - j0 < kCols ? n - j0 : kCols;
    const size_t vector_cols = cols / L8 * L8;
    for (size_t i = 0; i < m; ++i) {
      const float* xr = x + i * xs;
      float* yr = y + i * ys + j0;
      for (size_t j = 0; j < cols; ++j) yr[j] = 0.0f;
      size_t c = 0;
      for (; c + 4 <= k; c += 4) {
        const simd::V x0 = simd::set1(xr[c]), x1 = simd::set1(xr[c + 1]), x2 = simd::set1(xr[c + 2]),
                      x3 = simd::set1(xr[c + 3]);
        const size_t b0 = c * ws + j0, b1 = b0 + ws, b2 = b1 + ws, b3 = b2 + ws;
        for (size_t j = 0; j < vector_cols; j += L8) {
          simd::V acc = simd::load(yr + j);
          acc = simd::fma(L::load(w, b0 + j), x0, acc);
          acc = simd::fma(L::load(w, b1 + j), x1, acc);
          acc = simd::fma(L::load(w, b2 + j), x2, acc);
          acc = simd::fma(L::load(w, b3 + j), x3, acc);
          simd::store(yr + j, acc);
        }
        for (size_t j = vector_cols; j < cols; ++j) {
          yr[j] += xr[c] * L::load1(w, b0 + j) + xr[c + 1] * L::load1(w, b1 + j) + xr[c + 2] * L::load1(w, b2 + j) +
                   xr[c + 3] * L::load1(w, b3 + j);
        }
      }
      for (; c < k; ++c) {
        const simd::V xc = simd::set1(xr[c]);
        const size_t b0 = c * ws + j0;
        for (size_t j = 0; j < vector_cols; j += L8) simd::store(yr + j, simd::fma(L::load(w, b0 + j), xc, simd::load(yr + j)));
        for (size_t j = vector_cols; j < cols; ++j) yr[j] += xr[c] * L::load1(w, b0 + j);
      }
    }
  }
}

template <class L>
void gemm_io(size_t m, size_t n, size_t k, const float* x, size_t xs, const void* w, size_t ws, float* y,
             size_t ys) {
  if (m <= 2 && n >= 256) {
    gemm_io_rows<L>(m, n, k, x, xs, w, ws, y, ys);
    return;
  }
  constexpr size_t L8 = simd::kLanes;
  constexpr size_t kBlock = 4 * L8;
  size_t j = 0;
  // 32 columns x 2 x rows = 8 accumulators: each weight vector feeds two
  // FMAs; the k x 128 B column block stays in L2 while the x rows pass.
  for (; j + kBlock <= n; j += kBlock) {
    size_t i = 0;
    for (; i + 2 <= m; i += 2) {
      const float* xa = x + i * xs;
      const float* xb = xa + xs;
      simd::V a[4], b[4];
      for (int v = 0; v < 4; ++v) a[v] = b[v] = simd::zero();
      for (size_t c = 0; c < k; ++c) {
        const simd::V xva = simd::set1(xa[c]), xvb = simd::set1(xb[c]);
        const size_t base = c * ws + j;
        for (int v = 0; v < 4; ++v) {
          const simd::V wv = L::load(w, base + v * L8);
          a[v] = simd::fma(wv, xva, a[v]);
          b[v] = simd::fma(wv, xvb, b[v]);
        }
      }
      for (int v = 0; v < 4; ++v) {
        simd::store(y + i * ys + j + v * L8, a[v]);
        simd::store(y + (i + 1) * ys + j + v * L8, b[v]);
      }
    }
    for (; i < m; ++i) {
      const float* xr = x + i * xs;
      simd::V a[4];
      for (int v = 0; v < 4; ++v) a[v] = simd::zero();
      for (size_t c = 0; c < k; ++c) {
        const simd::V xb = simd::set1(xr[c]);
        const size_t base = c * ws + j;
        for (int v = 0; v < 4; ++v) a[v] = simd::fma(L::load(w, base + v * L8), xb, a[v]);
      }
      for (int v = 0; v < 4; ++v) simd::store(y + i * ys + j + v * L8, a[v]);
    }
  }
  for (; j + L8 <= n; j += L8) {
    for (size_t i = 0; i < m; ++i) {
      const float* xr = x + i * xs;
      simd::V a0 = simd::zero(), a1 = simd::zero();
      size_t c = 0;
      for (; c + 2 <= k; c += 2) {
        a0 = simd::fma(L::load(w, c * ws + j), simd::set1(xr[c]), a0);
        a1 = simd::fma(L::load(w, (c + 1) * ws + j), simd::set1(xr[c + 1]), a1);
      }
      if (c < k) a0 = simd::fma(L::load(w, c * ws + j), simd::set1(xr[c]), a0);
      simd::store(y + i * ys + j, simd::add(a0, a1));
    }
  }
  for (; j < n; ++j) {
    for (size_t i = 0; i < m; ++i) {
      const float* xr = x + i * xs;
      float s = 0.0f;
      for (size_t c = 0; c < k; ++c) s += xr[c] * L::load1(w, c * ws + j);
      y[i * ys + j] = s;
    }
  }
}
