// Which dtype each parameter is held in (the quantized mix), and admission:
// a load that cannot fit fails before anything is allocated, saying what fits.
#include <gtest/gtest.h>

#include "model/admission.h"
#include "model_fixture.h"

namespace ws::test {
namespace {

// hidden 512 = two 256-blocks; intermediate 96 = three 32-blocks, not a 256-block.
const char* kLlamaConfig = R"({"model_type": "llama", "vocab_size": 64, "hidden_size": 512,
  "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 8, "num_key_value_heads": 4,
  "max_position_embeddings": 4096, "tie_word_embeddings": false})";

std::unique_ptr<Backend> backend() { return std::move(make_portable_backend({1, false})).value(); }

std::map<std::string, DType> dtypes_of(const std::vector<ManifestEntry>& manifest) {
  std::map<std::string, DType> out;
  for (const ManifestEntry& e : manifest) out[e.name] = e.dtype;
  return out;
}

TEST(WeightDType, ParsesEveryNameAndRoundTrips) {
  for (const char* name : {"keep", "f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k"}) {
    Result<WeightDType> d = parse_weight_dtype(name);
    ASSERT_TRUE(d.is_ok()) << name;
    EXPECT_STREQ(weight_dtype_name(*d), name);
  }
  Result<WeightDType> bad = parse_weight_dtype("q3_k");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::InvalidArgument);
  EXPECT_NE(bad.error().message.find("q6_k"), std::string::npos);
}

TEST(WeightDType, QuantizedMixFollowsLlamaCpp) {
  auto b = backend();
  const ModelConfig config = *parse_model_config(kLlamaConfig);
  Result<std::vector<ManifestEntry>> q4k = measure_model(config, *b, WeightDType::Q4_K);
  ASSERT_TRUE(q4k.is_ok()) << q4k.error().to_string();
  auto d = dtypes_of(*q4k);
  EXPECT_EQ(d["model.layers.0.self_attn.q_proj.weight"], DType::Q4_K);  // rows of 512 = 2 blocks
  EXPECT_EQ(d["model.layers.0.mlp.gate_proj.weight"], DType::Q4_K);     // [96, 512]
  EXPECT_EQ(d["model.layers.0.mlp.down_proj.weight"], DType::Q5_0);     // rows of 96: not a 256-block
  EXPECT_EQ(d["model.layers.0.input_layernorm.weight"], DType::F32);    // vectors stay f32
  EXPECT_EQ(d["model.embed_tokens.weight"], DType::Q4_K);
  EXPECT_EQ(d["lm_head.weight"], DType::Q6_K);                          // the head at 6 bits
  auto q8 = dtypes_of(*measure_model(config, *b, WeightDType::Q8_0));
  EXPECT_EQ(q8["lm_head.weight"], DType::Q8_0);
  EXPECT_EQ(q8["model.layers.1.mlp.down_proj.weight"], DType::Q8_0);
}

TEST(WeightDType, MeasureMatchesWhatBuildAllocates) {
  auto b = backend();
  const ModelConfig config = *parse_model_config(kLlamaConfig);
  for (WeightDType dtype : {WeightDType::F32, WeightDType::BF16, WeightDType::Q4_0, WeightDType::Q5_K}) {
    Result<std::unique_ptr<Model>> model = build_model(config, *b, dtype);
    ASSERT_TRUE(model.is_ok()) << model.error().to_string();
    Result<MemoryNeed> need = estimate_memory(config, *b, dtype, nullptr);
    ASSERT_TRUE(need.is_ok());
    EXPECT_EQ(need->weights, (*model)->weight_bytes()) << weight_dtype_name(dtype);
    auto measured = *measure_model(config, *b, dtype);
    ASSERT_EQ(measured.size(), (*model)->manifest().size());
    for (size_t i = 0; i < measured.size(); ++i) {
      EXPECT_EQ(measured[i].name, (*model)->manifest()[i].name);
      EXPECT_EQ(measured[i].dtype, (*model)->manifest()[i].dtype);
      EXPECT_EQ(measured[i].destination, nullptr);
    }
  }
}

TEST(Admission, KvCacheAndActivationsAreCounted) {
  auto b = backend();
  const ModelConfig config = *parse_model_config(kLlamaConfig);
  AdmissionOptions options;
  options.context = 1000;
  options.prefill_tokens = 10;
  options.staging_bytes = 1 << 20;
  MemoryNeed need = *estimate_memory(config, *b, WeightDType::F32, nullptr, options);
  EXPECT_EQ(need.kv_cache, 2u * 4 * 1000 * 2 * (4 * 64));  // keys + values, f32, 2 layers, 4 kv heads x 64
  EXPECT_EQ(need.staging, 1u << 20);
  EXPECT_GT(need.activations, 10u * 512 * 4);
  EXPECT_EQ(need.total(), need.weights + need.kv_cache + need.activations + need.staging);
}

TEST(Admission, RefusesWithWhatWouldFit) {
  auto b = backend();
  const ModelConfig config = *parse_model_config(kLlamaConfig);
  const MemoryNeed f32 = *estimate_memory(config, *b, WeightDType::F32, nullptr);
  const MemoryNeed q4 = *estimate_memory(config, *b, WeightDType::Q4_0, nullptr);
  ASSERT_LT(q4.total(), f32.total());
  EXPECT_TRUE(admit_model(config, *b, WeightDType::F32, nullptr, f32.total(), "test").is_ok());
  Status refused = admit_model(config, *b, WeightDType::F32, nullptr, q4.total(), "a test budget");
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::OutOfBudget);
  const std::string& m = refused.error().message;
  EXPECT_NE(m.find("a test budget"), std::string::npos) << m;
  EXPECT_NE(m.find("q4_0"), std::string::npos) << m;      // fits
  EXPECT_EQ(m.find("bf16 ("), std::string::npos) << m;    // does not
  Status nothing = admit_model(config, *b, WeightDType::F32, nullptr, 1000, "tiny");
  ASSERT_FALSE(nothing.is_ok());
  EXPECT_NE(nothing.error().message.find("no weight dtype fits"), std::string::npos);
}

TEST(Admission, HostileSizesSaturateInsteadOfWrapping) {
  auto b = backend();
  ModelConfig config = *parse_model_config(kLlamaConfig);
  config.layers = 1;
  config.max_positions = size_t{1} << 40;
  config.kv_heads = size_t{1} << 30;
  config.head_dim = size_t{1} << 30;
  AdmissionOptions options;
  options.context = size_t{1} << 40;
  // Shapes this large overflow the parameter sizes (an OutOfBudget from
  // measuring), and the KV cache product saturates: refused either way.
  Status refused = admit_model(config, *b, WeightDType::F32, nullptr, uint64_t{1} << 50, "test", options);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::OutOfBudget);
  // The total of saturated parts saturates too.
  MemoryNeed need;
  need.kv_cache = UINT64_MAX;
  need.weights = 5;
  EXPECT_EQ(need.total(), UINT64_MAX);
}

}  // namespace
}  // namespace ws::test
