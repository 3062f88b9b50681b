// Picks the kernel table for the running CPU once. WS_KERNELS_AVX2 is defined
// by CMake when the AVX2 files are compiled in (x86-64 builds only).
#include "backend/kernels/kernels.h"

namespace ws::kernels {

#if defined(WS_KERNELS_AVX2)
namespace avx2 {
const KernelTable& table_unchecked();
}
#endif

const KernelTable* avx2_table() {
#if defined(WS_KERNELS_AVX2)
  static const bool supported = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                                __builtin_cpu_supports("f16c");
  return supported ? &avx2::table_unchecked() : nullptr;
#else
  return nullptr;
#endif
}

const KernelTable& best_table() {
  static const KernelTable* best = avx2_table() ? avx2_table() : &scalar_table();
  return *best;
}

}  // namespace ws::kernels
