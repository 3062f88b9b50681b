// AVX2+FMA+F16C quantized matrix products (compiled with -mavx2 -mfma -mf16c).
#include "backend/kernels/kernels.h"
#include "backend/kernels/quant_act.h"
#include "backend/kernels/quant_blocks.h"
#include "backend/kernels/quant_kernels.h"
#include "backend/kernels/quant_simd_x86.h"

namespace ws::kernels::quant_avx2 {
constexpr const char* kIsaName = "avx2";
#include "backend/kernels/quant_simd.inl"

const QuantKernelTable& table_unchecked() {
  static const QuantKernelTable table = {
      kIsaName,
      {
          {act_q8_row_bytes, quantize_act_q8, gemm<BlockQ4_0>},
          {act_q8_row_bytes, quantize_act_q8, gemm<BlockQ4_1>},
          {act_q8_row_bytes, quantize_act_q8, gemm<BlockQ5_0>},
          {act_q8_row_bytes, quantize_act_q8, gemm<BlockQ5_1>},
          {act_q8_row_bytes, quantize_act_q8, gemm<BlockQ8_0>},
          {act_q8k_row_bytes, quantize_act_q8k, gemm<BlockQ45_K<false>>},
          {act_q8k_row_bytes, quantize_act_q8k, gemm<BlockQ6_K>},
          {act_q8k_row_bytes, quantize_act_q8k, gemm<BlockQ45_K<true>>},
      },
  };
  return table;
}
}  // namespace ws::kernels::quant_avx2
