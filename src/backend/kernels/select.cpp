// Picks the kernel table for the running CPU once. WS_KERNELS_AVX2 is defined
// by CMake when the AVX2 and AVX-512 files are compiled in (x86-64 builds only);
// WS_KERNELS_WASM_SIMD when the SIMD128 files are (Emscripten with -msimd128).
#include "backend/kernels/kernels.h"

#include <cstdlib>
#include <string_view>

#if defined(WS_KERNELS_AVX2)
#include <cpuid.h>
#endif

namespace ws::kernels {

#if defined(WS_KERNELS_AVX2)
namespace avx2 {
const KernelTable& table_unchecked();
}
namespace avx512 {
const KernelTable& table_unchecked();
}

// F16C from CPUID leaf 1 (ECX bit 29): clang 14's __builtin_cpu_supports does
// not know the "f16c" feature name, gcc's does; CPUID works with both.
bool cpu_has_f16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) != 0;
}
#endif

#if defined(WS_KERNELS_WASM_SIMD)
namespace wasm_simd {
const KernelTable& table();
}
#endif

const KernelTable* wasm_simd_table() {
#if defined(WS_KERNELS_WASM_SIMD)
  return &wasm_simd::table();
#else
  return nullptr;
#endif
}

const KernelTable* avx2_table() {
#if defined(WS_KERNELS_AVX2)
  static const bool supported = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c();
  return supported ? &avx2::table_unchecked() : nullptr;
#else
  return nullptr;
#endif
}

// AVX-512 F/BW/VL with FMA and F16C (the f16 loads use VCVTPH2PS).
const KernelTable* avx512_table() {
#if defined(WS_KERNELS_AVX2)
  static const bool supported = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                                __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma") && cpu_has_f16c();
  return supported ? &avx512::table_unchecked() : nullptr;
#else
  return nullptr;
#endif
}

// WS_KERNELS=scalar|avx2|avx512 picks a table by name where this CPU runs it
// (benchmarks compare ISAs on one binary); anything else is ignored.
const KernelTable* requested_table() {
  const char* name = std::getenv("WS_KERNELS");
  if (!name) return nullptr;
  const std::string_view want(name);
  if (want == "scalar") return &scalar_table();
  if (want == "avx2") return avx2_table();
  if (want == "avx512") return avx512_table();
  return nullptr;
}

const KernelTable& best_table() {
  static const KernelTable* best = requested_table()   ? requested_table()
                                   : avx512_table()    ? avx512_table()
                                   : avx2_table()      ? avx2_table()
                                   : wasm_simd_table() ? wasm_simd_table()
                                                       : &scalar_table();
  return *best;
}

}  // namespace ws::kernels
