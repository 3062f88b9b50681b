// WebAssembly SIMD128 quantized matrix products (compiled with -msimd128).
#include "backend/kernels/kernels.h"
#include "backend/kernels/quant_act.h"
#include "backend/kernels/quant_blocks.h"
#include "backend/kernels/quant_kernels.h"
#include "backend/kernels/quant_simd_wasm.h"

namespace ws::kernels::quant_wasm_simd {
constexpr const char* kIsaName = "wasm-simd128";
#include "backend/kernels/quant_simd.inl"
}  // namespace ws::kernels::quant_wasm_simd
