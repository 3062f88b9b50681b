// The ATen dequantizer (what a CUDA device runs on a quantized weight)
// against the reference loops of src/load/dequant.cpp, bit for bit, for
// every ggml block type, on blocks our quantizer wrote from random floats
// and on raw random bytes (any byte pattern is a block, scales included).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "load/dequant.h"
#include "load/quantize.h"
#include "torch/aten_dequant.h"

namespace ws {
namespace {

const DType kBlockTypes[] = {DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q5_0,
                             DType::Q5_1, DType::Q4_K, DType::Q5_K, DType::Q6_K};

// Bit-compares the two dequantizers on `bytes` (a whole number of blocks).
void expect_identical(DType dtype, std::vector<uint8_t> bytes) {
  const uint64_t blocks = bytes.size() / dtype_block_bytes(dtype);
  std::vector<float> expected(blocks * dtype_block_elements(dtype));
  detail::dequantize_blocks(dtype, bytes.data(), expected.data(), blocks);
  const at::Tensor input = at::from_blob(bytes.data(), {static_cast<int64_t>(bytes.size())}, at::kByte);
  const at::Tensor got = detail::dequantize_blocks_aten(dtype, input).contiguous();
  ASSERT_EQ(got.scalar_type(), at::kFloat);
  ASSERT_EQ(static_cast<size_t>(got.numel()), expected.size());
  size_t differing = 0, first = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const float g = got.data_ptr<float>()[i];
    if (std::memcmp(&g, &expected[i], sizeof g) != 0 && !(g != g && expected[i] != expected[i])) {
      if (differing++ == 0) first = i;
    }
  }
  EXPECT_EQ(differing, 0u) << dtype_name(dtype) << ": first difference at element " << first << ": "
                           << got.data_ptr<float>()[first] << " vs " << expected[first];
}

TEST(AtenDequant, MatchesTheReferenceOnQuantizedFloats) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  for (DType dtype : kBlockTypes) {
    SCOPED_TRACE(dtype_name(dtype));
    const uint64_t blocks = 37;
    std::vector<float> values(blocks * dtype_block_elements(dtype));
    for (float& v : values) v = normal(rng);
    std::vector<uint8_t> bytes(blocks * dtype_block_bytes(dtype));
    detail::quantize_blocks(dtype, values.data(), bytes.data(), blocks);
    expect_identical(dtype, std::move(bytes));
  }
}

TEST(AtenDequant, MatchesTheReferenceOnRandomBytes) {
  std::mt19937 rng(11);
  for (DType dtype : kBlockTypes) {
    SCOPED_TRACE(dtype_name(dtype));
    std::vector<uint8_t> bytes(53 * dtype_block_bytes(dtype));
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
    expect_identical(dtype, std::move(bytes));
  }
}

}  // namespace
}  // namespace ws
