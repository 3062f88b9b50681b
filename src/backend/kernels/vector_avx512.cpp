// AVX-512 row kernels: vector_simd.inl's bodies on 16-lane vectors.
#include <cmath>

#include "backend/kernels/kernels.h"
#include "backend/kernels/simd_avx512.h"

namespace ws::kernels::avx512 {
#include "backend/kernels/vector_simd.inl"

extern GemmOiFn gemm_oi_table[kWeightTypes];
extern GemmIoFn gemm_io_table[kWeightTypes];

// Only called by select.cpp after it checked the CPU.
const KernelTable& table_unchecked() {
  static const KernelTable table = make_table("avx512", gemm_oi_table, gemm_io_table);
  return table;
}
}  // namespace ws::kernels::avx512
