// WebAssembly SIMD128 row kernels (compiled with -msimd128).
#include <cmath>

#include "backend/kernels/kernels.h"
#include "backend/kernels/simd_wasm.h"

namespace ws::kernels::wasm_simd {
#include "backend/kernels/vector_simd.inl"

extern GemmOiFn gemm_oi_table[kWeightTypes];
extern GemmIoFn gemm_io_table[kWeightTypes];

// A wasm module either validates with SIMD128 or does not load at all, so
// there is nothing to check at run time.
const KernelTable& table() {
  static const KernelTable table = make_table("wasm-simd128", gemm_oi_table, gemm_io_table);
  return table;
}
}  // namespace ws::kernels::wasm_simd
