// Picks the quantized kernel table for the running CPU once: AVX-512 (with
// VNNI) > AVX2 > WASM SIMD128 > scalar. WS_KERNELS_AVX2 / WS_KERNELS_AVX512 /
// WS_KERNELS_WASM_SIMD are defined by CMake when those files are compiled in.
#include "backend/kernels/quant_kernels.h"

#if defined(WS_KERNELS_AVX2) || defined(WS_KERNELS_AVX512)
#include <cpuid.h>
#endif

namespace ws::kernels {

#if defined(WS_KERNELS_AVX2)
bool cpu_has_f16c();  // select.cpp
namespace quant_avx2 {
const QuantKernelTable& table_unchecked();
}
#endif
#if defined(WS_KERNELS_AVX512)
namespace quant_avx512 {
const QuantKernelTable& table_unchecked();
}

// AVX-512 F, BW, VL and VNNI from CPUID leaf 7, and the OS saving the opmask
// and upper zmm state (XCR0 bits 1, 2, 5, 6, 7): the kernels use EVEX-encoded
// 256-bit instructions, which fault without that state enabled.
static bool cpu_has_avx512_vnni() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || (ecx & (1u << 27)) == 0) return false;  // OSXSAVE
  unsigned xcr0_lo = 0, xcr0_hi = 0;
  __asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  if ((xcr0_lo & 0xE6u) != 0xE6u) return false;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  const bool f = ebx & (1u << 16), bw = ebx & (1u << 30), vl = ebx & (1u << 31), vnni = ecx & (1u << 11);
  return f && bw && vl && vnni && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif
#if defined(WS_KERNELS_WASM_SIMD)
namespace quant_wasm_simd {
const QuantKernelTable& table_unchecked();
}
#endif

const QuantKernelTable* quant_avx2_table() {
#if defined(WS_KERNELS_AVX2)
  static const bool supported = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c();
  return supported ? &quant_avx2::table_unchecked() : nullptr;
#else
  return nullptr;
#endif
}

const QuantKernelTable* quant_avx512_table() {
#if defined(WS_KERNELS_AVX512)
  static const bool supported = cpu_has_avx512_vnni() && cpu_has_f16c();
  return supported ? &quant_avx512::table_unchecked() : nullptr;
#else
  return nullptr;
#endif
}

const QuantKernelTable* quant_wasm_simd_table() {
#if defined(WS_KERNELS_WASM_SIMD)
  return &quant_wasm_simd::table_unchecked();
#else
  return nullptr;
#endif
}

const QuantKernelTable& quant_best_table() {
  static const QuantKernelTable* best = quant_avx512_table()      ? quant_avx512_table()
                                        : quant_avx2_table()      ? quant_avx2_table()
                                        : quant_wasm_simd_table() ? quant_wasm_simd_table()
                                                                  : &quant_scalar_table();
  return *best;
}

}  // namespace ws::kernels
