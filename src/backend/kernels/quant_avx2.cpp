// AVX2+FMA+F16C quantized matrix products (compiled with -mavx2 -mfma -mf16c).
#include "backend/kernels/kernels.h"
#include "backend/kernels/quant_act.h"
#include "backend/kernels/quant_blocks.h"
#include "backend/kernels/quant_kernels.h"
#include "backend/kernels/quant_simd_x86.h"

namespace ws::kernels::quant_avx2 {
constexpr const char* kIsaName = "avx2";
#include "backend/kernels/quant_simd.inl"
}  // namespace ws::kernels::quant_avx2
