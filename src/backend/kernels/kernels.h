// Microkernels of the portable backend, XNNPACK style: one table of function
// pointers per ISA (scalar reference, AVX2+FMA, AVX-512, WASM SIMD128), picked
// once at start-up. Kernels are single-threaded; ops.cpp splits work.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ws::kernels {

// Weight element type of a matrix product; activations are always f32.
enum WeightType { kF32 = 0, kF16 = 1, kBF16 = 2, kWeightTypes = 3 };

// "oi": weights stored [outputs, k] (nn.Linear):
//   y[i*ys + j] = sum_c x[i*xs + c] * w[j*ws + c]     i < m, j < n, c < k
using GemmOiFn = void (*)(size_t m, size_t n, size_t k, const float* x, size_t xs, const void* w,
                          size_t ws, float* y, size_t ys);
// "io": weights stored [k, outputs] (Conv1D, and V in attention):
//   y[i*ys + j] = sum_c x[i*xs + c] * w[c*ws + j]
using GemmIoFn = GemmOiFn;

struct KernelTable {
  const char* isa;
  GemmOiFn gemm_oi[kWeightTypes];
  GemmIoFn gemm_io[kWeightTypes];
  void (*layer_norm)(const float* x, size_t dim, const float* gamma, const float* beta, float eps, float* y);
  void (*rms_norm)(const float* x, size_t dim, const float* gamma, float gamma_offset, float eps, float* y);
  void (*softmax)(float* x, size_t n);
  void (*gelu_new)(float* x, size_t n);
  void (*silu_mul)(const float* gate, const float* up, size_t n, float* out);
  void (*add)(const float* a, const float* b, size_t n, float* out);
};

const KernelTable& scalar_table();
// nullptr when the ISA was not compiled in or the running CPU lacks it.
const KernelTable* avx2_table();
const KernelTable* avx512_table();
// The WebAssembly SIMD128 table (builds compiled with -msimd128), else nullptr.
const KernelTable* wasm_simd_table();
// The best table for this CPU (cached after the first call).
const KernelTable& best_table();

// Element helpers shared by the scalar kernels (IEEE binary16 and bfloat16).
float f16_to_f32(uint16_t h);
static inline float bf16_to_f32(uint16_t b) {
  uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  __builtin_memcpy(&f, &bits, 4);
  return f;
}

}  // namespace ws::kernels
