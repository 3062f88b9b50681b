// Quantized matrix products: weights stay in ggml's block layout (the bytes a
// GGUF file stores, or what the loader quantized them to) and are never
// dequantized into a float copy. As in ggml, each activation row is quantized
// once per op into the 8-bit block format its weight type pairs with (Q8_0,
// Q8_1 or Q8_K style; the layout is private to the kernels), then every
// output is a sum of integer block dot products times the blocks' scales.
//
// One table per ISA (scalar reference, AVX2, AVX-512 (+VNNI), WASM SIMD128),
// picked once at start-up like kernels.h. Kernels are single-threaded; the
// backend splits the n outputs over its thread pool and quantizes the
// activations once, before the split (even part sizes where it can: decode
// takes weight rows two at a time; an odd part is correct, a little slower).
// Measured throughput per format and ISA: bench/RESULTS-quant-kernels.md.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ws::kernels {

// The ggml block types, in ws::DType order from Q4_0 (format.h).
enum QuantType { kQ4_0, kQ4_1, kQ5_0, kQ5_1, kQ8_0, kQ4_K, kQ6_K, kQ5_K, kQuantTypes };

struct QuantGemm {
  // Bytes of one quantized activation row of k values (k a multiple of the
  // weight type's block elements).
  size_t (*act_row_bytes)(size_t k);
  // Quantizes one activation row x[0..k) into `out` (act_row_bytes(k) bytes,
  // 4-byte aligned: the row holds f32 scales). Every table of a build uses
  // the same layout (quant_act.h), so any table's gemm reads any table's rows.
  void (*quantize_act)(const float* x, size_t k, void* out);
  // y[i*ys + j] = sum over c < k of x_i[c] * W_j[c], for i < m, j < n, where
  // x_i is activation row i quantized at xq + i * act_row_bytes(k) and W_j is
  // weight row j (k values, k / block_elements blocks) at w + j * w_row_bytes.
  // Activation rows follow each other in xq (stride act_row_bytes(k), a
  // multiple of 4). Any m; m <= 4 rows share each pass over the weights.
  void (*gemm)(size_t m, size_t n, size_t k, const void* xq, const void* w, size_t w_row_bytes, float* y,
               size_t ys);
};

// The same product over weights in the 16-row packed layout (quant_pack.h):
// `groups` groups of 16 rows starting at w (a group boundary), giving outputs
// y[i*ys + j] for j < 16 * groups. Activation rows as in QuantGemm::gemm.
using PackedGemmFn = void (*)(size_t m, size_t groups, size_t k, const void* xq, const void* w, float* y,
                              size_t ys);

struct QuantKernelTable {
  const char* isa;
  QuantGemm types[kQuantTypes];
  // Per type, nullptr where this table has no packed kernel (the backend then
  // keeps that type in the ggml layout): AVX-512 has Q4_0 and Q8_0, AVX2 Q4_0.
  PackedGemmFn packed[kQuantTypes] = {};
};

const QuantKernelTable& quant_scalar_table();
// nullptr when the ISA was not compiled in or the running CPU lacks it.
// AVX2 needs AVX2+FMA+F16C; AVX-512 needs F, BW, VL and VNNI (a CPU with
// AVX-512 but no VNNI gets the AVX2 table).
const QuantKernelTable* quant_avx2_table();
const QuantKernelTable* quant_avx512_table();
const QuantKernelTable* quant_wasm_simd_table();
// The best table for this CPU (cached after the first call).
const QuantKernelTable& quant_best_table();

}  // namespace ws::kernels
