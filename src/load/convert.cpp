// Float conversions between F32, F16 and BF16, dequantisation of the ggml
// block types to any of them, and quantisation of any of them to the block
// types. Widening is exact; narrowing
// rounds to nearest, ties to even (what torch, numpy and safetensors' own
// converters do); NaN stays a (quiet) NaN, infinities stay infinite.
#include <algorithm>
#include <cstring>

#include "load/dequant.h"
#include "load/float_bits.h"
#include "load/load.h"
#include "load/quantize.h"

namespace ws {

namespace {

using namespace fp;

bool is_convertible_float(DType d) { return d == DType::F32 || d == DType::F16 || d == DType::BF16; }

template <class Load, class Store>
void convert_loop(const uint8_t* in, uint8_t* out, uint64_t count, size_t in_size, size_t out_size, Load load,
                  Store store) {
  for (uint64_t i = 0; i < count; ++i) store(out + i * out_size, load(in + i * in_size));
}

float load_element(DType d, const uint8_t* p) {
  if (d == DType::F32) {
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
  uint16_t h;
  std::memcpy(&h, p, 2);
  return d == DType::F16 ? half_to_float(h) : bfloat_to_float(h);
}

void store_element(DType d, uint8_t* p, float f) {
  if (d == DType::F32) {
    std::memcpy(p, &f, 4);
    return;
  }
  const uint16_t h = d == DType::F16 ? float_to_half(f) : float_to_bfloat(f);
  std::memcpy(p, &h, 2);
}

// Block types pass through a small f32 buffer on the stack, 256 elements (one
// K-quant block, eight 32-element blocks) at a time: the loader's memory bound
// stays the staging buffer.
void dequantize_elements(DType from, const uint8_t* in, DType to, uint8_t* out, uint64_t count) {
  constexpr uint64_t kChunk = 256;
  float chunk[kChunk];
  const uint64_t block_elements = dtype_block_elements(from), block_bytes = dtype_block_bytes(from);
  const uint64_t blocks_per_chunk = kChunk / block_elements;
  const size_t out_size = dtype_size(to);
  for (uint64_t done = 0; done < count; done += blocks_per_chunk * block_elements) {
    const uint64_t blocks = std::min(blocks_per_chunk, (count - done) / block_elements);
    detail::dequantize_blocks(from, in + done / block_elements * block_bytes, chunk, blocks);
    const uint64_t n = blocks * block_elements;
    if (to == DType::F32) {
      std::memcpy(out + done * 4, chunk, n * 4);
    } else {
      for (uint64_t i = 0; i < n; ++i) store_element(to, out + (done + i) * out_size, chunk[i]);
    }
  }
}

// The other way: F32/F16/BF16 widened exactly to f32 in the same stack chunk,
// then quantised a whole number of destination blocks at a time.
void quantize_elements(DType from, const uint8_t* in, DType to, uint8_t* out, uint64_t count) {
  constexpr uint64_t kChunk = 256;
  float chunk[kChunk];
  const uint64_t block_elements = dtype_block_elements(to), block_bytes = dtype_block_bytes(to);
  const uint64_t per_chunk = kChunk / block_elements * block_elements;
  const size_t in_size = dtype_size(from);
  for (uint64_t done = 0; done < count; done += per_chunk) {
    const uint64_t n = std::min(per_chunk, count - done) / block_elements * block_elements;
    if (n == 0) break;  // a partial block: the plan never asks for one
    if (from == DType::F32) {
      std::memcpy(chunk, in + done * 4, n * 4);
    } else {
      for (uint64_t i = 0; i < n; ++i) chunk[i] = load_element(from, in + (done + i) * in_size);
    }
    detail::quantize_blocks(to, chunk, out + done / block_elements * block_bytes, n / block_elements);
  }
}

// Block type to another block type (a GGUF's Q4_1 asked as q8_0): 256
// elements at a time, dequantised into the stack chunk exactly as the gguf
// package does, then quantised (both block sizes divide 256).
void requantize_elements(DType from, const uint8_t* in, DType to, uint8_t* out, uint64_t count) {
  constexpr uint64_t kChunk = 256;
  float chunk[kChunk];
  const uint64_t from_elements = dtype_block_elements(from), from_bytes = dtype_block_bytes(from);
  const uint64_t to_elements = dtype_block_elements(to), to_bytes = dtype_block_bytes(to);
  for (uint64_t done = 0; done < count; done += kChunk) {
    const uint64_t n = std::min(kChunk, count - done);
    if (n % from_elements != 0 || n % to_elements != 0) break;  // the plan cuts on both block sizes
    detail::dequantize_blocks(from, in + done / from_elements * from_bytes, chunk, n / from_elements);
    detail::quantize_blocks(to, chunk, out + done / to_elements * to_bytes, n / to_elements);
  }
}

}  // namespace

bool can_convert(DType from, DType to) {
  if (from == to) return true;
  if (dtype_is_quantized(from) && dtype_is_quantized(to)) return detail::can_quantize_to(to);
  if (dtype_is_quantized(from)) return is_convertible_float(to);
  if (dtype_is_quantized(to)) return is_convertible_float(from) && detail::can_quantize_to(to);
  return is_convertible_float(from) && is_convertible_float(to);
}

void convert_elements(DType from, const uint8_t* in, DType to, uint8_t* out, uint64_t count) {
  if (from == to) {
    std::memcpy(out, in, dtype_storage_bytes(from, count));
    return;
  }
  if (dtype_is_quantized(from) && dtype_is_quantized(to)) return requantize_elements(from, in, to, out, count);
  if (dtype_is_quantized(from)) return dequantize_elements(from, in, to, out, count);
  if (dtype_is_quantized(to)) return quantize_elements(from, in, to, out, count);
  // One loop per pair keeps the inner loop free of dtype branches (and lets
  // the compiler vectorise the BF16 shifts).
  auto f32_load = [](const uint8_t* p) { return load_element(DType::F32, p); };
  auto f16_load = [](const uint8_t* p) { return load_element(DType::F16, p); };
  auto bf16_load = [](const uint8_t* p) { return load_element(DType::BF16, p); };
  auto f32_store = [](uint8_t* p, float f) { store_element(DType::F32, p, f); };
  auto f16_store = [](uint8_t* p, float f) { store_element(DType::F16, p, f); };
  auto bf16_store = [](uint8_t* p, float f) { store_element(DType::BF16, p, f); };
  const size_t is = dtype_size(from), os = dtype_size(to);
  if (from == DType::F32 && to == DType::F16) return convert_loop(in, out, count, is, os, f32_load, f16_store);
  if (from == DType::F32 && to == DType::BF16) return convert_loop(in, out, count, is, os, f32_load, bf16_store);
  if (from == DType::F16 && to == DType::F32) return convert_loop(in, out, count, is, os, f16_load, f32_store);
  if (from == DType::F16 && to == DType::BF16) return convert_loop(in, out, count, is, os, f16_load, bf16_store);
  if (from == DType::BF16 && to == DType::F32) return convert_loop(in, out, count, is, os, bf16_load, f32_store);
  if (from == DType::BF16 && to == DType::F16) return convert_loop(in, out, count, is, os, bf16_load, f16_store);
}

}  // namespace ws
