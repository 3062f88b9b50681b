// The layouts are those of src/load/dequant.cpp (ggml-common.h); each
// function below is that file's loop written over a [blocks, bytes] tensor.
#include "torch/aten_dequant.h"

namespace ws::detail {

namespace {

// Bytes [offset, offset + count) of every block, as int32 [blocks, count].
at::Tensor bytes_at(const at::Tensor& b, int64_t offset, int64_t count) {
  return b.narrow(1, offset, count).to(at::kInt);
}

// The f16 at `offset` of every block, as float [blocks, 1] (exact).
at::Tensor half_at(const at::Tensor& b, int64_t offset) {
  return b.narrow(1, offset, 2).contiguous().view(at::kHalf).to(at::kFloat);
}

// Bits 0..n-1 of each row's little-endian word made of `bytes` (int32 [blocks, k]), as int32 [blocks, n].
at::Tensor bits_of(const at::Tensor& bytes, int64_t n) {
  const at::Tensor index = at::arange(n, bytes.options());
  const at::Tensor byte = bytes.index_select(1, at::bitwise_right_shift(index, 3));
  return at::bitwise_and(at::bitwise_right_shift(byte, at::bitwise_and(index, 7)), 1);
}

// The 16 packed bytes of a 32-element block: low nibbles are elements 0..15, high ones 16..31.
at::Tensor nibbles32(const at::Tensor& qs) {
  return at::cat({at::bitwise_and(qs, 15), at::bitwise_right_shift(qs, 4)}, 1);
}

at::Tensor q8_0(const at::Tensor& b) {
  const at::Tensor qs = b.narrow(1, 2, 32).contiguous().view(at::kChar).to(at::kFloat);
  return qs * half_at(b, 0);
}

at::Tensor q4_0(const at::Tensor& b) { return (nibbles32(bytes_at(b, 2, 16)) - 8).to(at::kFloat) * half_at(b, 0); }

at::Tensor q4_1(const at::Tensor& b) {
  return nibbles32(bytes_at(b, 4, 16)).to(at::kFloat) * half_at(b, 0) + half_at(b, 2);
}

at::Tensor q5_0(const at::Tensor& b) {
  const at::Tensor high = at::bitwise_left_shift(bits_of(bytes_at(b, 2, 4), 32), 4);
  return (at::bitwise_or(nibbles32(bytes_at(b, 6, 16)), high) - 16).to(at::kFloat) * half_at(b, 0);
}

at::Tensor q5_1(const at::Tensor& b) {
  const at::Tensor high = at::bitwise_left_shift(bits_of(bytes_at(b, 4, 4), 32), 4);
  return at::bitwise_or(nibbles32(bytes_at(b, 8, 16)), high).to(at::kFloat) * half_at(b, 0) + half_at(b, 2);
}

// The 8 six-bit scales and mins of a K block's 12 bytes (scale_min_k4), as float [blocks, 8] each.
void k_scales(const at::Tensor& b, at::Tensor& scales, at::Tensor& mins) {
  const at::Tensor q = bytes_at(b, 4, 12);
  const at::Tensor q0 = q.narrow(1, 0, 4), q4 = q.narrow(1, 4, 4), q8 = q.narrow(1, 8, 4);
  const at::Tensor top_of_q0 = at::bitwise_left_shift(at::bitwise_right_shift(q0, 6), 4);
  const at::Tensor top_of_q4 = at::bitwise_left_shift(at::bitwise_right_shift(q4, 6), 4);
  scales = at::cat({at::bitwise_and(q0, 63), at::bitwise_or(at::bitwise_and(q8, 15), top_of_q0)}, 1).to(at::kFloat);
  mins = at::cat({at::bitwise_and(q4, 63), at::bitwise_or(at::bitwise_right_shift(q8, 4), top_of_q4)}, 1)
             .to(at::kFloat);
}

// Sub-block s of a Q4_K/Q5_K block is the low (even s) or high (odd s)
// nibbles of the 32 bytes of chunk s/2: int32 [blocks, 8, 32].
at::Tensor k_nibbles(const at::Tensor& qs) {
  const at::Tensor chunks = qs.reshape({qs.size(0), 4, 1, 32});
  return at::cat({at::bitwise_and(chunks, 15), at::bitwise_right_shift(chunks, 4)}, 2).reshape({qs.size(0), 8, 32});
}

// d * scale, dmin * min per sub-block, then d1 * q - m1 per element: [blocks, 256].
at::Tensor k_scaled(const at::Tensor& b, const at::Tensor& q) {
  at::Tensor scales, mins;
  k_scales(b, scales, mins);
  const at::Tensor d = half_at(b, 0) * scales, m = half_at(b, 2) * mins;
  return (d.unsqueeze(2) * q.to(at::kFloat) - m.unsqueeze(2)).reshape({b.size(0), 256});
}

at::Tensor q4_k(const at::Tensor& b) { return k_scaled(b, k_nibbles(bytes_at(b, 16, 128))); }

// Q5_K: sub-block s takes bit s of qh[l] as the fifth bit of its element l.
at::Tensor q5_k(const at::Tensor& b) {
  const at::Tensor qh = bytes_at(b, 16, 32).unsqueeze(1);  // [blocks, 1, 32]
  const at::Tensor sub_block = at::arange(8, qh.options()).view({1, 8, 1});
  const at::Tensor high = at::bitwise_left_shift(at::bitwise_and(at::bitwise_right_shift(qh, sub_block), 1), 4);
  return k_scaled(b, k_nibbles(bytes_at(b, 48, 128)) + high);
}

// Q6_K: two halves of 128; in half h, element 32k + l takes a nibble of
// ql[64h + l] (k even) or ql[64h + 32 + l] (k odd), low nibble for k < 2,
// and bits 2k, 2k+1 of qh[32h + l]; its scale is sc[8h + 2k + l/16].
at::Tensor q6_k(const at::Tensor& b) {
  const int64_t n = b.size(0);
  const at::Tensor ql = bytes_at(b, 0, 128).reshape({n, 2, 2, 32});  // [block, half, first/second 32, l]
  const at::Tensor qh = bytes_at(b, 128, 64).reshape({n, 2, 1, 32});
  const at::Tensor low = at::cat({at::bitwise_and(ql, 15), at::bitwise_right_shift(ql, 4)}, 2);  // k = 0..3
  const at::Tensor shift = at::arange(0, 8, 2, qh.options()).view({1, 1, 4, 1});
  const at::Tensor high = at::bitwise_left_shift(at::bitwise_and(at::bitwise_right_shift(qh, shift), 3), 4);
  const at::Tensor q = (at::bitwise_or(low, high) - 32).to(at::kFloat);  // [n, 2, 4, 32]
  const at::Tensor sc = b.narrow(1, 192, 16).contiguous().view(at::kChar).to(at::kFloat).reshape({n, 2, 4, 2});
  const at::Tensor scale = (half_at(b, 208).view({n, 1, 1, 1}) * sc).repeat_interleave(16, 3);
  return (scale * q).reshape({n, 256});
}

}  // namespace

at::Tensor dequantize_blocks_aten(DType dtype, const at::Tensor& blocks) {
  const int64_t block_bytes = static_cast<int64_t>(dtype_block_bytes(dtype));
  const at::Tensor b = blocks.reshape({-1, block_bytes});
  switch (dtype) {
    case DType::Q8_0: return q8_0(b);
    case DType::Q4_0: return q4_0(b);
    case DType::Q4_1: return q4_1(b);
    case DType::Q5_0: return q5_0(b);
    case DType::Q5_1: return q5_1(b);
    case DType::Q4_K: return q4_k(b);
    case DType::Q5_K: return q5_k(b);
    case DType::Q6_K: return q6_k(b);
    default: return at::Tensor();  // not a block type: callers check dtype_is_quantized
  }
}

}  // namespace ws::detail
