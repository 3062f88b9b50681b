// WebAssembly SIMD128 matrix products (compiled with -msimd128).
#include "backend/kernels/kernels.h"
#include "backend/kernels/simd_wasm.h"

namespace ws::kernels::wasm_simd {
#include "backend/kernels/gemm_simd.inl"

GemmOiFn gemm_oi_table[kWeightTypes] = {gemm_oi<LoadF32>, gemm_oi<LoadF16>, gemm_oi<LoadBF16>};
GemmIoFn gemm_io_table[kWeightTypes] = {gemm_io<LoadF32>, gemm_io<LoadF16>, gemm_io<LoadBF16>};
}  // namespace ws::kernels::wasm_simd
