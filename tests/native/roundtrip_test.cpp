// Files written by the real safetensors package load to the same bytes; float
// conversions agree bit for bit with torch's.
#include <gtest/gtest.h>

#include "native/test_support.h"

namespace ws {
namespace {

// Compares a load with expected.json[section]. With a target dtype, float
// tensors are compared with torch's conversion of the same bytes.
void expect_matches_reference(const std::string& section, const std::string& location, std::optional<DType> target,
                              uint64_t staging_bytes) {
  const nlohmann::json expected = test::expected_hashes()[section];
  auto loaded = test::load_and_hash(location, target, staging_bytes);
  ASSERT_TRUE(loaded.is_ok()) << loaded.error().to_string();
  ASSERT_EQ(loaded->size(), expected.size());
  for (auto it = expected.begin(); it != expected.end(); ++it) {
    const test::LoadedTensor& got = loaded->at(it.key());
    const auto& converted = it.value()["converted"];
    std::string want = it.value()["sha256"];
    if (target && !converted.empty()) want = converted[dtype_name(*target)];
    EXPECT_EQ(got.sha256, want) << it.key() << " as " << dtype_name(got.dtype);
  }
}

TEST(RoundTrip, SingleFileEveryDtypeKeep) {
  expect_matches_reference("single", test::fixtures("safetensors/single"), std::nullopt, 16 << 20);
}

TEST(RoundTrip, SingleFileNamedDirectly) {
  expect_matches_reference("single", test::fixtures("safetensors/single/model.safetensors"), std::nullopt, 16 << 20);
}

TEST(RoundTrip, ShardedKeep) {
  expect_matches_reference("sharded", test::fixtures("safetensors/sharded"), std::nullopt, 16 << 20);
}

TEST(RoundTrip, ConversionsMatchTorchBitForBit) {
  for (DType target : {DType::F32, DType::F16, DType::BF16}) {
    for (uint64_t staging : {uint64_t(64), uint64_t(4096), uint64_t(16 << 20)}) {
      SCOPED_TRACE(std::string(dtype_name(target)) + " staging " + std::to_string(staging));
      expect_matches_reference("single", test::fixtures("safetensors/single"), target, staging);
      expect_matches_reference("sharded", test::fixtures("safetensors/sharded"), target, staging);
    }
  }
}

}  // namespace
}  // namespace ws
