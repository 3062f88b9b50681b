// AVX-512 matrix products: gemm_simd.inl's bodies on 16-lane vectors
// (compiled with -mavx512f -mavx512bw -mavx512vl -mfma -mf16c).
#include "backend/kernels/kernels.h"
#include "backend/kernels/simd_avx512.h"

namespace ws::kernels::avx512 {
#include "backend/kernels/gemm_simd.inl"

GemmOiFn gemm_oi_table[kWeightTypes] = {gemm_oi<LoadF32>, gemm_oi<LoadF16>, gemm_oi<LoadBF16>};
GemmIoFn gemm_io_table[kWeightTypes] = {gemm_io<LoadF32>, gemm_io<LoadF16>, gemm_io<LoadBF16>};
}  // namespace ws::kernels::avx512
