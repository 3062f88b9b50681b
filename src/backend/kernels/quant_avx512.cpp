// AVX-512 quantized matrix products (compiled with -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512vnni): the
// AVX2 bodies with vpdpbusd/vpdpwssd dot products on 256-bit EVEX registers.
#include "backend/kernels/kernels.h"
#include "backend/kernels/quant_act.h"
#include "backend/kernels/quant_blocks.h"
#include "backend/kernels/quant_kernels.h"
#include "backend/kernels/quant_simd_x86.h"

namespace ws::kernels::quant_avx512 {
constexpr const char* kIsaName = "avx512-vnni";
#include "backend/kernels/quant_simd.inl"
}  // namespace ws::kernels::quant_avx512
