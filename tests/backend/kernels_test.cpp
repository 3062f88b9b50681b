// Every SIMD kernel against its scalar reference, on awkward sizes (tails of
// every loop) and all three weight dtypes.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "backend/kernels/kernels.h"
#include "require.h"
#include "test_util.h"

#if defined(__x86_64__) && !defined(__EMSCRIPTEN__)
#include <cpuid.h>
#endif

namespace ws::kernels {
namespace {

std::vector<const KernelTable*> simd_tables() {
  std::vector<const KernelTable*> tables;
  if (avx2_table()) tables.push_back(avx2_table());
  if (avx512_table()) tables.push_back(avx512_table());
  if (wasm_simd_table()) tables.push_back(wasm_simd_table());
  return tables;
}

// What the CPU says, asked independently of select.cpp: x86-64 with AVX2, FMA
// and F16C (CPUID leaf 1 ECX bits 12 and 29, leaf 7 EBX bit 5).
bool cpu_has_avx2_fma_f16c() {
#if defined(__x86_64__) && !defined(__EMSCRIPTEN__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
  const bool fma = (ecx & (1u << 12)) != 0, f16c = (ecx & (1u << 29)) != 0;
  unsigned eax7 = 0, ebx7 = 0, ecx7 = 0, edx7 = 0;
  if (!__get_cpuid_count(7, 0, &eax7, &ebx7, &ecx7, &edx7)) return false;
  return fma && f16c && (ebx7 & (1u << 5)) != 0;
#else
  return false;
#endif
}

// CPUID leaf 7 EBX bits 16 (F), 30 (BW), 31 (VL), and the OS saving ZMM
// state (XCR0 bits 5-7, with XMM/YMM bits 1-2).
bool cpu_has_avx512_f_bw_vl() {
#if defined(__x86_64__) && !defined(__EMSCRIPTEN__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  const bool isa = (ebx & (1u << 16)) && (ebx & (1u << 30)) && (ebx & (1u << 31));
  unsigned eax1 = 0, ebx1 = 0, ecx1 = 0, edx1 = 0;
  if (!isa || !__get_cpuid(1, &eax1, &ebx1, &ecx1, &edx1) || !(ecx1 & (1u << 27))) return false;  // OSXSAVE
  unsigned xcr0_lo = 0, xcr0_hi = 0;
  __asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  return (xcr0_lo & 0xe6) == 0xe6;
#else
  return false;
#endif
}

// Every table the build compiles and the CPU runs is there, so the loops
// below are not vacuous where they should not be.
TEST(Kernels, SimdTablesExistWhereTheCpuHasTheIsa) {
#if defined(__EMSCRIPTEN__) && defined(__wasm_simd128__)
  EXPECT_NE(wasm_simd_table(), nullptr) << "a -msimd128 build without the SIMD128 table";
#endif
#if defined(__x86_64__) && !defined(__EMSCRIPTEN__)
  if (cpu_has_avx2_fma_f16c()) {
    EXPECT_NE(avx2_table(), nullptr) << "CPUID has AVX2, FMA and F16C";
    if (cpu_has_avx512_f_bw_vl()) {
      EXPECT_NE(avx512_table(), nullptr) << "CPUID has AVX-512 F, BW and VL";
    }
  }
#endif
  if (simd_tables().empty()) {
    WS_SKIP_UNLESS_REQUIRED("WS_REQUIRE_ALL", "this CPU has no ISA with a SIMD kernel table");
  }
}

// Weights in `type`, as raw bytes; also returns the exactly widened values.
std::vector<uint8_t> encode_weights(const std::vector<float>& w, WeightType type, std::vector<float>& widened) {
  widened.resize(w.size());
  if (type == kF32) {
    widened = w;
    std::vector<uint8_t> bytes(w.size() * 4);
    std::memcpy(bytes.data(), w.data(), bytes.size());
    return bytes;
  }
  std::vector<uint16_t> h(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    h[i] = type == kF16 ? test::f32_to_f16_trunc(w[i]) : test::f32_to_bf16_trunc(w[i]);
    widened[i] = type == kF16 ? f16_to_f32(h[i]) : bf16_to_f32(h[i]);
  }
  std::vector<uint8_t> bytes(h.size() * 2);
  std::memcpy(bytes.data(), h.data(), bytes.size());
  return bytes;
}

TEST(Kernels, F16WideningIsExact) {
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_TRUE(std::isinf(f16_to_f32(0x7c00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7e00)));
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
}

TEST(Kernels, GemmMatchesScalarForEveryDtypeAndLayout) {
  const KernelTable& ref = scalar_table();
  const size_t ms[] = {1, 3, 5, 8, 19};  // prefill-sized batches too
  const size_t ns[] = {1, 3, 4, 9, 64, 75, 130, 300, 521};
  const size_t ks[] = {1, 7, 8, 17, 64, 100};
  // No table (a CPU without AVX2) is reported as skipped, never as passed.
  const std::vector<const KernelTable*> tables = simd_tables();
  if (tables.empty()) WS_SKIP_UNLESS_REQUIRED("WS_REQUIRE_ALL", "no SIMD kernel table on this build and CPU");
  for (const KernelTable* simd : tables) {
    for (int type = 0; type < kWeightTypes; ++type) {
      for (size_t m : ms) for (size_t n : ns) for (size_t k : ks) {
        const std::vector<float> x = test::random_floats(m * k, 1 + m * 7 + k);
        std::vector<float> widened;
        const std::vector<uint8_t> w = encode_weights(test::random_floats(n * k, 99 + n + k), WeightType(type), widened);
        for (int layout = 0; layout < 2; ++layout) {
          // oi: w is [n, k]; io: w is [k, n]. Same bytes, different meaning.
          std::vector<float> y_ref(m * n, -1.0f), y_simd(m * n, -2.0f);
          const GemmOiFn r = layout == 0 ? ref.gemm_oi[type] : ref.gemm_io[type];
          const GemmOiFn s = layout == 0 ? simd->gemm_oi[type] : simd->gemm_io[type];
          const size_t ws = layout == 0 ? k : n;
          r(m, n, k, x.data(), k, w.data(), ws, y_ref.data(), n);
          s(m, n, k, x.data(), k, w.data(), ws, y_simd.data(), n);
          for (size_t i = 0; i < m * n; ++i) {
            ASSERT_NEAR(y_simd[i], y_ref[i], 1e-5f * static_cast<float>(k) + 1e-6f)
                << simd->isa << " type " << type << " layout " << layout << " m=" << m << " n=" << n
                << " k=" << k << " i=" << i;
          }
        }
      }
    }
  }
}

// Prefill (m x rows in one call: rows go in pairs) and decode (one row at a
// time) must compute every output with the same FMA chain: the rows of one
// call equal the m one-row calls bit for bit, so a prompt's logits do not
// depend on how it was batched (src/backend/CMakeLists.txt: -ffp-contract=off
// keeps the compiler from fusing the scalar tails in one path and not another).
TEST(Kernels, GemmPrefillRowsEqualDecodeRowsBitForBit) {
  const std::vector<const KernelTable*> tables = simd_tables();
  if (tables.empty()) WS_SKIP_UNLESS_REQUIRED("WS_REQUIRE_ALL", "no SIMD kernel table on this build and CPU");
  for (const KernelTable* simd : tables) {
    for (int type = 0; type < kWeightTypes; ++type) {
      for (const size_t m : {8, 17, 24}) for (const size_t n : {3, 47, 48, 100}) for (const size_t k : {16, 33, 256}) {
        const size_t xs = k + 3, ys = n + 5;  // strided rows, as attention passes them
        const std::vector<float> x = test::random_floats(m * xs, 5 + m + k);
        std::vector<float> widened;
        const std::vector<uint8_t> w = encode_weights(test::random_floats(n * k, 7 + n + k), WeightType(type), widened);
        std::vector<float> batched(m * ys, -1.0f), single(m * ys, -1.0f);
        simd->gemm_oi[type](m, n, k, x.data(), xs, w.data(), k, batched.data(), ys);
        for (size_t i = 0; i < m; ++i) {
          simd->gemm_oi[type](1, n, k, x.data() + i * xs, xs, w.data(), k, single.data() + i * ys, ys);
        }
        for (size_t i = 0; i < m; ++i) {
          for (size_t j = 0; j < n; ++j) {
            ASSERT_EQ(batched[i * ys + j], single[i * ys + j]) << simd->isa << " type " << type << " m=" << m
                                                               << " n=" << n << " k=" << k << " row " << i << " col " << j;
          }
        }
      }
    }
  }
}

TEST(Kernels, GemmHonoursStrides) {
  // Attention uses strided rows (one kv head out of several): check a
  // sub-matrix product against the scalar kernel on the same strides.
  const std::vector<const KernelTable*> tables = simd_tables();
  if (tables.empty()) WS_SKIP_UNLESS_REQUIRED("WS_REQUIRE_ALL", "no SIMD kernel table on this build and CPU");
  for (const KernelTable* simd : tables) {
    const size_t m = 2, n = 33, k = 64, xs = 80, ws = 192, ys = 40;
    const std::vector<float> x = test::random_floats(m * xs, 3);
    const std::vector<float> w = test::random_floats(n * ws + k * ws, 4);
    for (int layout = 0; layout < 2; ++layout) {
      std::vector<float> a(m * ys, 7.0f), b(m * ys, 7.0f);
      (layout ? scalar_table().gemm_io : scalar_table().gemm_oi)[kF32](m, layout ? ys - 7 : n, k, x.data(), xs, w.data() + 5, ws, a.data(), ys);
      (layout ? simd->gemm_io : simd->gemm_oi)[kF32](m, layout ? ys - 7 : n, k, x.data(), xs, w.data() + 5, ws, b.data(), ys);
      for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-4f) << "layout " << layout << " i=" << i;
    }
  }
}

TEST(Kernels, RowKernelsMatchScalar) {
  const KernelTable& ref = scalar_table();
  const std::vector<const KernelTable*> tables = simd_tables();
  if (tables.empty()) WS_SKIP_UNLESS_REQUIRED("WS_REQUIRE_ALL", "no SIMD kernel table on this build and CPU");
  for (const KernelTable* simd : tables) {
    for (size_t n : {1, 7, 8, 9, 16, 33, 768, 1000}) {
      const std::vector<float> x = test::random_floats(n, 10 + n, 4.0f);
      const std::vector<float> g = test::random_floats(n, 20 + n);
      const std::vector<float> b = test::random_floats(n, 30 + n);
      std::vector<float> a(n), s(n);
      auto expect_close = [&](const char* what, float tol) {
        for (size_t i = 0; i < n; ++i)
          ASSERT_NEAR(s[i], a[i], tol * (1.0f + std::fabs(a[i]))) << what << " n=" << n << " i=" << i;
      };
      ref.layer_norm(x.data(), n, g.data(), b.data(), 1e-5f, a.data());
      simd->layer_norm(x.data(), n, g.data(), b.data(), 1e-5f, s.data());
      expect_close("layer_norm", 1e-5f);
      ref.rms_norm(x.data(), n, g.data(), 0.0f, 1e-6f, a.data());
      simd->rms_norm(x.data(), n, g.data(), 0.0f, 1e-6f, s.data());
      expect_close("rms_norm", 1e-5f);
      ref.rms_norm(x.data(), n, g.data(), 1.0f, 1e-6f, a.data());
      simd->rms_norm(x.data(), n, g.data(), 1.0f, 1e-6f, s.data());
      expect_close("rms_norm (1 + w)", 1e-5f);
      a = x;
      s = x;
      ref.softmax(a.data(), n);
      simd->softmax(s.data(), n);
      expect_close("softmax", 1e-5f);
      a = x;
      s = x;
      ref.gelu_new(a.data(), n);
      simd->gelu_new(s.data(), n);
      expect_close("gelu_new", 1e-5f);
      ref.silu_mul(x.data(), g.data(), n, a.data());
      simd->silu_mul(x.data(), g.data(), n, s.data());
      expect_close("silu_mul", 1e-5f);
      ref.add(x.data(), g.data(), n, a.data());
      simd->add(x.data(), g.data(), n, s.data());
      expect_close("add", 0.0f);
    }
  }
}

TEST(Kernels, ActivationsAtExtremes) {
  const std::vector<const KernelTable*> tables = simd_tables();
  if (tables.empty()) WS_SKIP_UNLESS_REQUIRED("WS_REQUIRE_ALL", "no SIMD kernel table on this build and CPU");
  for (const KernelTable* simd : tables) {
    std::vector<float> x = {-100.f, -30.f, -10.f, -1e-3f, 0.f, 1e-3f, 10.f, 30.f, 100.f};
    std::vector<float> a = x, s = x;
    scalar_table().gelu_new(a.data(), a.size());
    simd->gelu_new(s.data(), s.size());
    for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(s[i], a[i], 1e-5f * (1 + std::fabs(a[i]))) << x[i];
    std::vector<float> one(x.size(), 1.0f), sa(x.size()), ss(x.size());
    scalar_table().silu_mul(x.data(), one.data(), x.size(), sa.data());
    simd->silu_mul(x.data(), one.data(), x.size(), ss.data());
    for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(ss[i], sa[i], 1e-5f * (1 + std::fabs(sa[i]))) << x[i];
    std::vector<float> big = {1000.f, -1000.f, 999.f, 0.f, 1.f, 2.f, 3.f, 4.f, 5.f};
    simd->softmax(big.data(), big.size());
    EXPECT_NEAR(big[0], 1.0f / (1.0f + std::exp(-1.0f)), 1e-6f);
    EXPECT_NEAR(big[2], 1.0f / (1.0f + std::exp(1.0f)), 1e-6f);
    EXPECT_EQ(big[1], 0.0f);
  }
}

}  // namespace
}  // namespace ws::kernels
