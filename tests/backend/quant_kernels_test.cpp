// The quantized matrix products (src/backend/kernels/quant_*):
//  (a) the scalar reference against an independent one: the weight blocks
//      dequantized by the loader's ggml-exact dequantisation
//      (ws::detail::dequantize_blocks), multiplied in double with
//        - the dequantized activation row: equal up to float rounding, and
//        - the original f32 activations: equal up to the activation
//          quantization error, bounded below;
//  (b) every SIMD table the CPU can run against the scalar reference, tight;
//  (c) a table the CPU cannot run is skipped by name, and the AVX2 / AVX-512
//      tables must exist wherever /proc/cpuinfo lists their flags;
//  (d) the 16-row packed layout (quant_pack.h): packing then unpacking gives
//      the ggml bytes back, and the packed kernels give the scalar
//      reference's bits on the unpacked matrix (same integer sums, same float
//      steps in the same order).
//
// Tolerances, per output y = sum_c w_c x_c (w~, x~ the dequantized values):
//  - float rounding: every kernel sums exact integer block products, scales
//    each with at most 3 roundings and accumulates nb block terms in float,
//    so |y - sum w~ x~| <= (nb + 4) eps S with S = sum |w~_c x~_c|;
//    two kernels differ by at most twice that.
//  - activation quantization: x~_c = d_b q_c with q_c = round(x_c / d_b), so
//    |x_c - x~_c| <= d_b / 2 (times 1 + 1e-4 for the rounding of 1 / d_b), and
//    |sum w~ x~ - sum w~ x| <= sum_c |w~_c| d_b(c) / 2.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "backend/kernels/quant_act.h"
#include "backend/kernels/quant_blocks.h"
#include "backend/kernels/quant_kernels.h"
#include "backend/kernels/quant_pack.h"
#include "load/dequant.h"
#include "test_util.h"
#if defined(__wasm_simd128__)
#include "backend/kernels/quant_simd_wasm.h"
#endif

namespace ws::kernels {
namespace {

const char* kTypeNames[kQuantTypes] = {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q6_K", "Q5_K"};

DType dtype_of(int type) { return static_cast<DType>(static_cast<int>(DType::Q4_0) + type); }
bool is_k(int type) { return quant::kBlockElements[type] == 256; }

void put_half(uint8_t* p, float v) {
  const uint16_t h = test::f32_to_f16_trunc(v);
  std::memcpy(p, &h, 2);
}

// n rows of k/block random blocks: random bytes for the quantized values and
// the K-quant scales, finite f16 scales of either sign (d in [2^-10, 2^-4]).
std::vector<uint8_t> random_blocks(int type, size_t n, size_t k, uint32_t seed) {
  const size_t bytes = n * (k / quant::kBlockElements[type]) * quant::kBlockBytes[type];
  std::vector<uint8_t> w(bytes);
  std::mt19937 rng(seed);
  for (auto& b : w) b = static_cast<uint8_t>(rng());
  std::uniform_real_distribution<float> mag(-10.0f, -4.0f);
  auto scale = [&]() { return std::exp2(mag(rng)) * (rng() & 1 ? 1.0f : -1.0f); };
  for (size_t off = 0; off < bytes; off += quant::kBlockBytes[type]) {
    uint8_t* b = w.data() + off;
    switch (type) {
      case kQ4_0: case kQ5_0: case kQ8_0: put_half(b, scale()); break;
      case kQ4_1: case kQ5_1: case kQ4_K: case kQ5_K: put_half(b, scale()); put_half(b + 2, scale()); break;
      case kQ6_K: put_half(b + 208, scale()); break;
      default: break;
    }
  }
  return w;
}

std::vector<float> dequantize(int type, const std::vector<uint8_t>& w, size_t n, size_t k) {
  std::vector<float> out(n * k);
  ws::detail::dequantize_blocks(dtype_of(type), w.data(), out.data(), n * k / quant::kBlockElements[type]);
  return out;
}

struct Quantized {
  std::vector<uint32_t> storage;  // 4-byte aligned bytes
  size_t row_bytes = 0;
  const void* row(size_t i) const { return reinterpret_cast<const uint8_t*>(storage.data()) + i * row_bytes; }
};

Quantized quantize_rows(const QuantGemm& g, const std::vector<float>& x, size_t m, size_t k) {
  Quantized q;
  q.row_bytes = g.act_row_bytes(k);
  q.storage.assign((m * q.row_bytes + 3) / 4 + 1, 0);
  for (size_t i = 0; i < m; ++i) g.quantize_act(x.data() + i * k, k, reinterpret_cast<uint8_t*>(q.storage.data()) + i * q.row_bytes);
  return q;
}

std::vector<float> dequantize_rows(int type, const Quantized& q, size_t m, size_t k) {
  std::vector<float> out(m * k);
  for (size_t i = 0; i < m; ++i) {
    if (is_k(type)) quant::dequantize_act_q8k(q.row(i), k, out.data() + i * k);
    else quant::dequantize_act_q8(q.row(i), k, out.data() + i * k);
  }
  return out;
}

// The block scale d of activation element c of row i.
float act_scale(int type, const Quantized& q, size_t i, size_t k, size_t c) {
  return is_k(type) ? quant::act_q8k_view(q.row(i), k).d[c / 256] : quant::act_q8_view(q.row(i), k).d[c / 32];
}

size_t blocks_per_row(int type, size_t k) { return k / quant::kBlockElements[type]; }

// Activations with some large entries, so block scales vary across a row.
std::vector<float> activations(size_t m, size_t k, uint32_t seed) {
  std::vector<float> x = test::random_floats(m * k, seed);
  std::mt19937 rng(seed + 1);
  for (size_t i = 0; i < x.size(); i += 1 + rng() % 61) x[i] *= 8.0f;
  return x;
}

TEST(QuantKernels, ScalarMatchesDequantizedDoubleMatmul) {
  const QuantKernelTable& scalar = quant_scalar_table();
  const std::vector<size_t> ks_32 = {256, 288, 768, 4096}, ks_256 = {256, 768, 4096};
  const size_t ms[] = {1, 2, 3, 4, 5, 7};
  const size_t n = 13;
  for (int type = 0; type < kQuantTypes; ++type) {
    for (size_t k : is_k(type) ? ks_256 : ks_32) {
      const std::vector<uint8_t> w = random_blocks(type, n, k, 7 + type * 31 + static_cast<uint32_t>(k));
      const std::vector<float> wd = dequantize(type, w, n, k);
      for (size_t m : ms) {
        const std::vector<float> x = activations(m, k, 100 + static_cast<uint32_t>(m * k) + type);
        const QuantGemm& g = scalar.types[type];
        const Quantized xq = quantize_rows(g, x, m, k);
        const std::vector<float> xd = dequantize_rows(type, xq, m, k);
        std::vector<float> y(m * n, NAN);
        g.gemm(m, n, k, xq.row(0), w.data(), w.size() / n, y.data(), n);
        for (size_t i = 0; i < m; ++i) {
          for (size_t j = 0; j < n; ++j) {
            double exact_q = 0, exact = 0, mass = 0, quant_bound = 0;
            for (size_t c = 0; c < k; ++c) {
              const double wv = wd[j * k + c];
              exact_q += wv * xd[i * k + c];
              exact += wv * x[i * k + c];
              mass += std::fabs(wv * xd[i * k + c]);
              quant_bound += std::fabs(wv) * act_scale(type, xq, i, k, c) * 0.5 * (1 + 1e-4);
            }
            const double rounding = (blocks_per_row(type, k) + 4) * FLT_EPSILON * mass + 1e-30;
            const double yv = y[i * n + j];
            ASSERT_NEAR(yv, exact_q, rounding) << kTypeNames[type] << " m=" << m << " k=" << k << " i=" << i << " j=" << j;
            ASSERT_NEAR(yv, exact, quant_bound + rounding) << kTypeNames[type] << " m=" << m << " k=" << k;
          }
        }
      }
    }
  }
}

// The bound on the activation error above is not vacuous: on these sizes the
// quantized product is within 2% of the float one, relative to sum |w| |x|.
TEST(QuantKernels, ActivationQuantizationErrorIsSmall) {
  const size_t m = 2, n = 5, k = 1024;
  for (int type = 0; type < kQuantTypes; ++type) {
    const std::vector<uint8_t> w = random_blocks(type, n, k, 3 + type);
    const std::vector<float> wd = dequantize(type, w, n, k);
    const std::vector<float> x = activations(m, k, 55);
    const QuantGemm& g = quant_scalar_table().types[type];
    const Quantized xq = quantize_rows(g, x, m, k);
    std::vector<float> y(m * n);
    g.gemm(m, n, k, xq.row(0), w.data(), w.size() / n, y.data(), n);
    for (size_t i = 0; i < m; ++i) {
      for (size_t j = 0; j < n; ++j) {
        double exact = 0, l1 = 0;
        for (size_t c = 0; c < k; ++c) {
          exact += static_cast<double>(wd[j * k + c]) * x[i * k + c];
          l1 += std::fabs(static_cast<double>(wd[j * k + c]) * x[i * k + c]);
        }
        EXPECT_LT(std::fabs(y[i * n + j] - exact), 0.02 * l1) << kTypeNames[type];
      }
    }
  }
}

TEST(QuantKernels, ActivationRowsRoundTrip) {
  const size_t k = 512;
  std::vector<float> x = activations(1, k, 9);
  for (size_t c = 32; c < 64; ++c) x[c] = 0.0f;  // an all-zero block: scale 0, values 0
  for (int k_type = 0; k_type < 2; ++k_type) {
    const QuantGemm& g = quant_scalar_table().types[k_type ? kQ4_K : kQ4_0];
    const Quantized q = quantize_rows(g, x, 1, k);
    const std::vector<float> xd = dequantize_rows(k_type ? kQ4_K : kQ4_0, q, 1, k);
    for (size_t c = 0; c < k; ++c) {
      ASSERT_LE(std::fabs(xd[c] - x[c]), act_scale(k_type ? kQ4_K : kQ4_0, q, 0, k, c) * 0.50005f) << c;
    }
    for (size_t c = 32; c < 64; ++c) EXPECT_EQ(xd[c], 0.0f);
    if (!k_type) {
      const quant::ActQ8 a = quant::act_q8_view(q.row(0), k);
      for (size_t b = 0; b < k / 32; ++b) {
        int32_t s = 0;
        for (size_t c = 0; c < 32; ++c) s += a.qs[b * 32 + c];
        EXPECT_EQ(a.sum[b], s);
        EXPECT_EQ(a.s[b], a.d[b] * static_cast<float>(s));
      }
    } else {
      const quant::ActQ8K a = quant::act_q8k_view(q.row(0), k);
      for (size_t g16 = 0; g16 < k / 16; ++g16) {
        int32_t s = 0;
        for (size_t c = 0; c < 16; ++c) s += a.qs[g16 * 16 + c];
        EXPECT_EQ(a.bsums[g16], s);
      }
    }
  }
}

// CPU flags as the kernel reports them in /proc/cpuinfo (empty where there is
// none: the wasm build, other systems). Read independently of CPUID code.
std::set<std::string> cpu_flags() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  std::set<std::string> flags;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    std::string f;
    while (words >> f) flags.insert(f);
    break;
  }
  return flags;
}

bool has_all(const std::set<std::string>& flags, std::initializer_list<const char*> names) {
  for (const char* n : names) if (!flags.count(n)) return false;
  return true;
}

void compare_with_scalar(const QuantKernelTable& simd) {
  const QuantKernelTable& scalar = quant_scalar_table();
  // Odd block counts (k = 288, 800: 9 and 25 blocks of 32) reach the tails of
  // kernels that take blocks in pairs.
  const std::vector<size_t> ks_32 = {256, 288, 800, 1280, 4096}, ks_256 = {256, 512, 1280, 4096};
  // n = 131 at k = 4096 spans several of the ~256 KiB weight chunks that
  // prefill (m > 4) walks (60 to 225 rows, depending on the format).
  for (int type = 0; type < kQuantTypes; ++type) {
    for (size_t k : is_k(type) ? ks_256 : ks_32) {
      std::vector<size_t> ns = {1, 2, 3, 7, 19};
      if (k == 4096) ns.push_back(131);
      for (size_t n : ns) {
        const std::vector<uint8_t> w = random_blocks(type, n, k, 11 + type * 7 + static_cast<uint32_t>(n * k));
        const std::vector<float> wd = dequantize(type, w, n, k);
        for (size_t m = 1; m <= 7; ++m) {
          const std::vector<float> x = activations(m, k, 500 + static_cast<uint32_t>(m + k + n));
          const Quantized xq = quantize_rows(scalar.types[type], x, m, k);
          const Quantized xq_simd = quantize_rows(simd.types[type], x, m, k);
          ASSERT_EQ(xq_simd.row_bytes, xq.row_bytes);
          ASSERT_EQ(0, std::memcmp(xq_simd.row(0), xq.row(0), m * xq.row_bytes)) << simd.isa << " " << kTypeNames[type];
          const std::vector<float> xd = dequantize_rows(type, xq, m, k);
          // y with a row stride wider than n: the kernels must not touch the gap.
          const size_t ys = n + 3;
          std::vector<float> y_ref(m * ys, -7.0f), y_simd(m * ys, -7.0f);
          scalar.types[type].gemm(m, n, k, xq.row(0), w.data(), w.size() / n, y_ref.data(), ys);
          simd.types[type].gemm(m, n, k, xq.row(0), w.data(), w.size() / n, y_simd.data(), ys);
          for (size_t i = 0; i < m; ++i) {
            for (size_t j = 0; j < ys; ++j) {
              if (j >= n) {
                ASSERT_EQ(y_simd[i * ys + j], -7.0f) << simd.isa << " wrote past n";
                continue;
              }
              double mass = 0;
              for (size_t c = 0; c < k; ++c) mass += std::fabs(static_cast<double>(wd[j * k + c]) * xd[i * k + c]);
              const double tol = 2 * (blocks_per_row(type, k) + 4) * FLT_EPSILON * mass + 1e-30;
              ASSERT_NEAR(y_simd[i * ys + j], y_ref[i * ys + j], tol)
                  << simd.isa << " " << kTypeNames[type] << " m=" << m << " n=" << n << " k=" << k << " i=" << i
                  << " j=" << j;
            }
          }
        }
      }
    }
  }
}

// Blocks at the edges of every integer path: all quantized bits set or all
// clear, Q8_0 values -128/127, Q6_K scales -128, activations at +-127.
void compare_extremes(const QuantKernelTable& simd) {
  const size_t m = 3, n = 4, k = 768;
  std::vector<float> x(m * k);
  for (size_t c = 0; c < x.size(); ++c) x[c] = (c / 3) % 2 ? 1.0f : -1.0f;  // all qs = +-127
  for (int type = 0; type < kQuantTypes; ++type) {
    for (uint8_t fill : {uint8_t{0x00}, uint8_t{0xFF}, uint8_t{0x80}, uint8_t{0x7F}}) {
      std::vector<uint8_t> w = random_blocks(type, n, k, 1);
      const size_t bb = quant::kBlockBytes[type];
      for (size_t off = 0; off < w.size(); off += bb) {
        // Keep the f16 scales written by random_blocks, overwrite the rest.
        for (size_t i = 0; i < bb; ++i) {
          const bool scale_byte = (type == kQ6_K) ? i >= 208 : (i < (type == kQ4_1 || type == kQ5_1 || is_k(type) ? 4u : 2u));
          if (!scale_byte) w[off + i] = fill;
        }
      }
      const Quantized xq = quantize_rows(quant_scalar_table().types[type], x, m, k);
      std::vector<float> y_ref(m * n), y_simd(m * n);
      quant_scalar_table().types[type].gemm(m, n, k, xq.row(0), w.data(), w.size() / n, y_ref.data(), n);
      simd.types[type].gemm(m, n, k, xq.row(0), w.data(), w.size() / n, y_simd.data(), n);
      for (size_t i = 0; i < m * n; ++i) {
        ASSERT_NEAR(y_simd[i], y_ref[i], 1e-4 * (std::fabs(y_ref[i]) + 1e-3))
            << simd.isa << " " << kTypeNames[type] << " fill " << int(fill) << " i=" << i;
      }
    }
  }
}

// The activation quantizer rounds x / d to nearest, ties to even (as
// std::nearbyint does), clamps to +-127, and sums the block: checked on
// exact ties (amax 127 makes d = 1) and on random rows against a plain
// nearbyint reference.
TEST(QuantKernels, ActivationRoundingIsNearestEven) {
  std::vector<float> x(64);
  for (size_t c = 0; c < 32; ++c) x[c] = static_cast<float>(c) - 15.5f;  // ties -15.5 .. 15.5
  x[31] = 127.0f;
  const std::vector<float> r = activations(1, 32, 77);
  for (size_t c = 0; c < 32; ++c) x[32 + c] = r[c];
  std::vector<uint32_t> row(quant::act_q8_row_bytes(64) / 4 + 1);
  quant::quantize_act_q8(x.data(), 64, row.data());
  const quant::ActQ8 a = quant::act_q8_view(row.data(), 64);
  for (size_t b = 0; b < 2; ++b) {
    float amax = 0;
    for (size_t c = 0; c < 32; ++c) amax = std::max(amax, std::fabs(x[32 * b + c]));
    const float d = amax / 127.0f, id = 1.0f / d;
    ASSERT_EQ(a.d[b], d);
    int32_t sum = 0;
    for (size_t c = 0; c < 32; ++c) {
      const float want = std::fmin(127.0f, std::fmax(-127.0f, std::nearbyint(x[32 * b + c] * id)));
      ASSERT_EQ(a.qs[32 * b + c], static_cast<int8_t>(want)) << "block " << b << " c " << c << " x " << x[32 * b + c];
      sum += a.qs[32 * b + c];
    }
    EXPECT_EQ(a.sum[b], sum);
  }
  EXPECT_EQ(a.qs[0], -16);  // -15.5 -> -16 (even)
  EXPECT_EQ(a.qs[1], -14);  // -14.5 -> -14
  EXPECT_EQ(a.qs[15], 0);   // -0.5 -> 0
  EXPECT_EQ(a.qs[16], 0);   // 0.5 -> 0
  EXPECT_EQ(a.qs[17], 2);   // 1.5 -> 2
}

TEST(QuantPack, UnpackRestoresTheGgmlBytes) {
  for (int type : {kQ4_0, kQ8_0}) {
    for (size_t k : {32u, 288u, 2048u}) {
      const size_t n = 53;  // 3 whole groups and 5 rows left in the ggml layout
      const std::vector<uint8_t> w = random_blocks(type, n, k, 3 + static_cast<uint32_t>(k));
      std::vector<uint8_t> p = w;
      quant::pack_groups(static_cast<QuantType>(type), p.data(), k, 0, 1);
      quant::pack_groups(static_cast<QuantType>(type), p.data(), k, 1, n / quant::kPackRows);
      EXPECT_NE(p, w) << kTypeNames[type];
      const size_t tail = (n / quant::kPackRows) * quant::kPackRows * (w.size() / n);
      EXPECT_TRUE(std::equal(p.begin() + tail, p.end(), w.begin() + tail)) << "rows after the last group unchanged";
      quant::unpack_groups(static_cast<QuantType>(type), p.data(), k, 0, n / quant::kPackRows);
      EXPECT_EQ(p, w) << kTypeNames[type] << " k=" << k;
    }
  }
}

// A packed kernel against the scalar reference on the ggml bytes: equal bits.
void compare_packed_with_scalar(const QuantKernelTable& simd) {
  const QuantKernelTable& scalar = quant_scalar_table();
  int tested = 0;
  for (int type : {kQ4_0, kQ8_0}) {
    if (!simd.packed[type]) continue;
    ++tested;
    for (size_t k : {32u, 256u, 288u, 800u, 4096u}) {
      for (size_t groups : {1u, 2u, 5u}) {
        const size_t n = groups * quant::kPackRows;
        std::vector<uint8_t> w = random_blocks(type, n, k, 71 + type + static_cast<uint32_t>(n * k));
        if (k == 32) {  // extremes: all bits set / clear, Q8_0's -128 and 127
          const size_t bb = quant::kBlockBytes[type];
          for (size_t off = 0; off < w.size(); off += bb) std::memset(w.data() + off + 2, (off / bb) % 2 ? 0xFF : 0x80, bb - 2);
        }
        std::vector<uint8_t> p = w;
        quant::pack_groups(static_cast<QuantType>(type), p.data(), k, 0, groups);
        for (size_t m : {1u, 2u, 3u, 4u, 5u, 9u}) {
          std::vector<float> x = activations(m, k, 900 + static_cast<uint32_t>(m + k));
          if (k == 32) for (size_t c = 0; c < x.size(); ++c) x[c] = c % 2 ? 1.0f : -1.0f;  // qs = +-127
          const Quantized xq = quantize_rows(scalar.types[type], x, m, k);
          const size_t ys = n + 5;
          std::vector<float> y_ref(m * ys, -7.0f), y_packed(m * ys, -7.0f);
          scalar.types[type].gemm(m, n, k, xq.row(0), w.data(), w.size() / n, y_ref.data(), ys);
          simd.packed[type](m, groups, k, xq.row(0), p.data(), y_packed.data(), ys);
          ASSERT_EQ(0, std::memcmp(y_ref.data(), y_packed.data(), y_ref.size() * sizeof(float)))
              << simd.isa << " " << kTypeNames[type] << " m=" << m << " n=" << n << " k=" << k;
        }
      }
    }
  }
  EXPECT_GT(tested, 0) << simd.isa << " has no packed kernel";
}

// Each ISA's test exists only in builds that can hold its table (x86-64
// natively, SIMD128 under Emscripten), so no build reports a structural skip;
// a CPU that lacks an ISA the build has is a skip that names it.
#if defined(__x86_64__)
TEST(QuantKernels, Avx2MatchesScalar) {
  const std::set<std::string> flags = cpu_flags();
  if (has_all(flags, {"avx2", "fma", "f16c"})) {
    ASSERT_NE(quant_avx2_table(), nullptr) << "CPU has AVX2+FMA+F16C";
  }
  if (!quant_avx2_table()) GTEST_SKIP() << "AVX2 table not available (not compiled in, or CPU lacks AVX2/FMA/F16C)";
  compare_with_scalar(*quant_avx2_table());
  compare_extremes(*quant_avx2_table());
}

TEST(QuantKernels, Avx2PackedMatchesScalarBits) {
  if (!quant_avx2_table()) GTEST_SKIP() << "AVX2 table not available (not compiled in, or CPU lacks AVX2/FMA/F16C)";
  ASSERT_EQ(quant_avx2_table()->packed[kQ8_0], nullptr) << "vpmaddubsw would saturate packed Q8_0";
  compare_packed_with_scalar(*quant_avx2_table());
}

TEST(QuantKernels, Avx512MatchesScalar) {
  const std::set<std::string> flags = cpu_flags();
  if (has_all(flags, {"avx512f", "avx512bw", "avx512vl", "avx512_vnni", "fma", "f16c"})) {
    ASSERT_NE(quant_avx512_table(), nullptr) << "CPU has AVX-512 F/BW/VL/VNNI";
  }
  if (!quant_avx512_table()) GTEST_SKIP() << "AVX-512 VNNI table not available (not compiled in, or CPU lacks AVX-512 F/BW/VL/VNNI)";
  compare_with_scalar(*quant_avx512_table());
  compare_extremes(*quant_avx512_table());
}

TEST(QuantKernels, Avx512PackedMatchesScalarBits) {
  if (!quant_avx512_table()) GTEST_SKIP() << "AVX-512 VNNI table not available (not compiled in, or CPU lacks AVX-512 F/BW/VL/VNNI)";
  compare_packed_with_scalar(*quant_avx512_table());
}
#endif

#if defined(__wasm_simd128__)
TEST(QuantKernels, WasmSimdMatchesScalar) {
  ASSERT_NE(quant_wasm_simd_table(), nullptr) << "a -msimd128 build has the SIMD128 table";
  compare_with_scalar(*quant_wasm_simd_table());
  compare_extremes(*quant_wasm_simd_table());
}

// The SIMD128 kernels' branch-free f16 scale conversion, on every bit pattern.
TEST(QuantKernels, WasmHalfConversionIsExact) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const uint16_t bits = static_cast<uint16_t>(h);
    uint8_t bytes[2];
    std::memcpy(bytes, &bits, 2);
    const float got = qsimd::half(bytes), want = f16_to_f32(bits);
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(got)) << h;
    } else {
      ASSERT_EQ(0, std::memcmp(&got, &want, 4)) << h;
    }
  }
}
#endif

TEST(QuantKernels, BestTableIsTheWidestAvailable) {
  const QuantKernelTable& best = quant_best_table();
  if (quant_avx512_table()) EXPECT_EQ(&best, quant_avx512_table());
  else if (quant_avx2_table()) EXPECT_EQ(&best, quant_avx2_table());
  else if (quant_wasm_simd_table()) EXPECT_EQ(&best, quant_wasm_simd_table());
  else EXPECT_EQ(&best, &quant_scalar_table());
}

}  // namespace
}  // namespace ws::kernels
