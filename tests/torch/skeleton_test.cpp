// The meta skeleton allocates nothing; materialisation gives every tensor
// host storage that the loader's destination writes into.
#include <gtest/gtest.h>

#include "model/model.h"
#include "source/memory_stats.h"
#include "torch/ws_torch.h"

namespace ws::test {
namespace {

// Llama-2-7B's config.json (the shapes that matter).
const char* kLlama7bConfig = R"({
  "model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_act": "silu",
  "vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
  "num_attention_heads": 32, "num_key_value_heads": 32, "max_position_embeddings": 4096,
  "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
  "bos_token_id": 1, "eos_token_id": 2})";

std::vector<ManifestEntry> manifest_of(const char* config_json, WeightDType dtype) {
  Result<ModelConfig> config = parse_model_config(config_json);
  EXPECT_TRUE(config.is_ok()) << config.error().to_string();
  std::unique_ptr<Backend> backend = make_manifest_only_backend();
  Result<std::unique_ptr<Model>> model = build_model(*config, *backend, dtype);
  EXPECT_TRUE(model.is_ok()) << model.error().to_string();
  return (*model)->manifest();
}

TEST(TorchSkeleton, SevenBillionParameterLlamaOnTheMetaDeviceAllocatesNothing) {
  const uint64_t rss_before = current_rss_bytes();
  const std::vector<ManifestEntry> manifest = manifest_of(kLlama7bConfig, WeightDType::BF16);
  ASSERT_EQ(manifest.size(), 2u + 32u * 9u + 1u);  // embed, norm, lm_head + 9 per layer
  Result<std::unique_ptr<TorchSkeleton>> skeleton = TorchSkeleton::create(manifest);
  ASSERT_TRUE(skeleton.is_ok()) << skeleton.error().to_string();
  const uint64_t rss_after = current_rss_bytes();

  uint64_t declared = 0;
  for (size_t i = 0; i < (*skeleton)->size(); ++i) {
    EXPECT_TRUE((*skeleton)->is_meta(i)) << manifest[i].name;
    EXPECT_EQ((*skeleton)->host_bytes(i), nullptr);
    EXPECT_EQ((*skeleton)->manifest()[i].destination, nullptr);
    declared += (*skeleton)->bytes(i);
  }
  EXPECT_GT(declared, 13'000'000'000ull);  // 6.7e9 bf16 parameters
  EXPECT_EQ((*skeleton)->materialized_bytes(), 0u);
  EXPECT_LT(rss_after, rss_before + (16ull << 20)) << "RSS grew by " << (rss_after - rss_before) << " bytes";
}

TEST(TorchSkeleton, MaterializeOnCpuGivesEachTensorHostStorageAsItsDestination) {
  const char* tiny = R"({"model_type": "llama", "vocab_size": 64, "hidden_size": 16, "intermediate_size": 32,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 32,
    "hidden_act": "silu"})";
  const std::vector<ManifestEntry> manifest = manifest_of(tiny, WeightDType::F16);
  Result<std::unique_ptr<TorchSkeleton>> skeleton = TorchSkeleton::create(manifest);
  ASSERT_TRUE(skeleton.is_ok());
  ASSERT_TRUE((*skeleton)->materialize(TorchDevice{}).is_ok());
  uint64_t total = 0;
  for (size_t i = 0; i < (*skeleton)->size(); ++i) {
    const ManifestEntry& entry = (*skeleton)->manifest()[i];
    EXPECT_FALSE((*skeleton)->is_meta(i));
    ASSERT_NE(entry.destination, nullptr);
    EXPECT_EQ(entry.destination->host_data(), (*skeleton)->host_bytes(i)) << entry.name;
    EXPECT_EQ(entry.dtype, manifest[i].dtype);
    EXPECT_EQ(entry.shape, manifest[i].shape);
    total += (*skeleton)->bytes(i);
  }
  EXPECT_EQ((*skeleton)->materialized_bytes(), total);
}

TEST(TorchSkeleton, DtypesTorchLacksAreHeldAsBytes) {
  std::vector<ManifestEntry> entries = {{"q", DType::Q4_0, {2, 64}, nullptr}, {"u", DType::U16, {3}, nullptr}};
  Result<std::unique_ptr<TorchSkeleton>> skeleton = TorchSkeleton::create(entries);
  ASSERT_TRUE(skeleton.is_ok()) << skeleton.error().to_string();
  EXPECT_EQ((*skeleton)->bytes(0), dtype_storage_bytes(DType::Q4_0, 128));
  EXPECT_EQ((*skeleton)->bytes(1), 6u);
  ASSERT_TRUE((*skeleton)->materialize(TorchDevice{}).is_ok());
  EXPECT_NE((*skeleton)->host_bytes(0), nullptr);
}

// This build has no CUDA destination: asking for one is a typed error, never a
// silent CPU fallback. Where a GPU is present the test says why it skips.
TEST(TorchCuda, MaterializeOnCudaIsATypedErrorWhereCudaIsUnavailable) {
  if (torch_cuda_available()) GTEST_SKIP() << "CUDA is available here (tests/torch/cuda_test.cpp covers it)";
  std::vector<ManifestEntry> entries = {{"w", DType::F32, {4}, nullptr}};
  Result<std::unique_ptr<TorchSkeleton>> skeleton = TorchSkeleton::create(entries);
  ASSERT_TRUE(skeleton.is_ok());
  Status status = (*skeleton)->materialize(TorchDevice{true, 0});
  ASSERT_FALSE(status.is_ok());
  // Unsupported: a build without -DWS_CUDA=ON; Device: no CUDA LibTorch or GPU.
  EXPECT_TRUE(status.error().kind == ErrorKind::Unsupported || status.error().kind == ErrorKind::Device)
      << status.error().to_string();
  EXPECT_TRUE((*skeleton)->is_meta(0));  // nothing half-made
}

}  // namespace
}  // namespace ws::test
