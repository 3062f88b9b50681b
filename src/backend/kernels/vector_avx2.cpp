// AVX2+FMA row kernels (compiled with -mavx2 -mfma -mf16c).
#include <cmath>

#include "backend/kernels/kernels.h"
#include "backend/kernels/simd_avx2.h"

namespace ws::kernels::avx2 {
#include "backend/kernels/vector_simd.inl"

extern GemmOiFn gemm_oi_table[kWeightTypes];
extern GemmIoFn gemm_io_table[kWeightTypes];

// Only called by select.cpp after it checked the CPU.
const KernelTable& table_unchecked() {
  static const KernelTable table = make_table("avx2+fma", gemm_oi_table, gemm_io_table);
  return table;
}
}  // namespace ws::kernels::avx2
