// config.json parsing, the manifest built from config alone, and one error
// per kind for checkpoints that do not fit the model.
#include <gtest/gtest.h>

#include <chrono>

#include <nlohmann/json.hpp>

#include "model_fixture.h"

namespace ws::test {
namespace {

const char* kGpt2Config = R"({"model_type": "gpt2", "vocab_size": 50, "n_embd": 16, "n_layer": 2,
  "n_head": 2, "n_positions": 32, "eos_token_id": 7})";
const char* kLlamaConfig = R"({"model_type": "llama", "vocab_size": 50, "hidden_size": 16,
  "intermediate_size": 24, "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2,
  "max_position_embeddings": 32, "tie_word_embeddings": false, "eos_token_id": [2, 3]})";

std::unique_ptr<Backend> backend() { return std::move(make_portable_backend({1, false})).value(); }

TEST(Config, Gpt2Fields) {
  Result<ModelConfig> c = parse_model_config(kGpt2Config);
  ASSERT_TRUE(c.is_ok()) << c.error().to_string();
  EXPECT_EQ(c->architecture, Architecture::Gpt2);
  EXPECT_EQ(c->head_dim, 8u);
  EXPECT_EQ(c->intermediate_size, 64u);
  EXPECT_EQ(c->max_positions, 32u);
  EXPECT_TRUE(c->tie_word_embeddings);
  EXPECT_EQ(c->eos_token_ids, std::vector<int32_t>{7});
}

// A value nested 100k deep: a typed error from the parser, not a stack
// overflow when the value is echoed into a message.
TEST(Config, Nested100kDeepIsInvalidConfig) {
  const std::string config = R"({"model_type": "llama", "hidden_size": )" + std::string(100'000, '[') +
                             std::string(100'000, ']') + "}";
  Result<ModelConfig> c = parse_model_config(config);
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.error().kind, ErrorKind::InvalidConfig);
  EXPECT_NE(c.error().message.find("nests deeper than"), std::string::npos) << c.error().message;
}

// A wrong value is echoed, but never more than a line of it.
TEST(Config, EchoedValuesAreShort) {
  const std::string config = R"({"model_type": "llama", "hidden_size": [)" + std::string(1'000'000, '1') + "]}";
  Result<ModelConfig> c = parse_model_config(config);
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.error().kind, ErrorKind::InvalidConfig);
  EXPECT_LT(c.error().message.size(), 200u) << c.error().message.substr(0, 300);
}

// Sizes are capped before anything is derived from them: a head_dim of 2^40
// used to allocate 2^39 RoPE frequencies (4 TB) before any shape was checked.
TEST(Config, HugeSizesAreRejectedBeforeAllocating) {
  for (const char* field : {"head_dim", "num_hidden_layers", "hidden_size", "vocab_size", "max_position_embeddings",
                            "intermediate_size", "num_attention_heads"}) {
    nlohmann::json config = nlohmann::json::parse(kLlamaConfig);
    config[field] = uint64_t{1} << 40;
    Result<ModelConfig> c = parse_model_config(config.dump());
    ASSERT_FALSE(c.is_ok()) << field;
    EXPECT_EQ(c.error().kind, ErrorKind::InvalidConfig) << c.error().to_string();
    EXPECT_NE(c.error().message.find(std::string(field) + "\" must be a positive integer up to"), std::string::npos)
        << c.error().to_string();
  }
}

TEST(Config, LlamaFieldsAndRope) {
  Result<ModelConfig> c = parse_model_config(kLlamaConfig);
  ASSERT_TRUE(c.is_ok()) << c.error().to_string();
  EXPECT_EQ(c->architecture, Architecture::Llama);
  EXPECT_EQ(c->kv_heads, 2u);
  EXPECT_EQ(c->head_dim, 4u);
  EXPECT_FALSE(c->tie_word_embeddings);
  EXPECT_EQ(c->eos_token_ids, (std::vector<int32_t>{2, 3}));
  ASSERT_EQ(c->rope_inv_freq.size(), 2u);
  EXPECT_FLOAT_EQ(c->rope_inv_freq[0], 1.0f);
  EXPECT_FLOAT_EQ(c->rope_inv_freq[1], 0.01f);  // 10000^(-2/4)
}

TEST(Config, UnknownModelTypeNamesTheSupportedOnes) {
  Result<ModelConfig> c = parse_model_config(R"({"model_type": "bert"})");
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.error().kind, ErrorKind::Unsupported);
  EXPECT_NE(c.error().message.find("bert"), std::string::npos);
  EXPECT_NE(c.error().message.find("gpt2, llama, mistral, qwen2"), std::string::npos);
}

TEST(Config, MalformedAndImpossibleConfigs) {
  EXPECT_EQ(parse_model_config("{not json").error().kind, ErrorKind::InvalidConfig);
  EXPECT_EQ(parse_model_config("[1, 2]").error().kind, ErrorKind::InvalidConfig);
  Result<ModelConfig> missing = parse_model_config(R"({"model_type": "llama", "vocab_size": 5})");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::InvalidConfig);
  EXPECT_NE(missing.error().message.find("hidden_size"), std::string::npos);
  Result<ModelConfig> groups = parse_model_config(R"({"model_type": "llama", "vocab_size": 5, "hidden_size": 12,
    "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 3, "num_key_value_heads": 2})");
  EXPECT_EQ(groups.error().kind, ErrorKind::InvalidConfig);
  Result<ModelConfig> negative = parse_model_config(R"({"model_type": "gpt2", "n_embd": -4})");
  EXPECT_EQ(negative.error().kind, ErrorKind::InvalidConfig);
  Result<ModelConfig> scaling = parse_model_config(R"({"model_type": "llama", "vocab_size": 5, "hidden_size": 8,
    "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "rope_scaling": {"type": "yarn", "factor": 2}})");
  EXPECT_EQ(scaling.error().kind, ErrorKind::Unsupported);
}

TEST(Config, WeightDTypeNames) {
  EXPECT_EQ(*parse_weight_dtype("keep"), WeightDType::Keep);
  EXPECT_EQ(*parse_weight_dtype("bf16"), WeightDType::BF16);
  EXPECT_EQ(parse_weight_dtype("fp8").error().kind, ErrorKind::InvalidArgument);
}

TEST(Manifest, Gpt2FromConfigAlone) {
  auto b = backend();
  Result<std::unique_ptr<Model>> model = build_model(*parse_model_config(kGpt2Config), *b, WeightDType::F16);
  ASSERT_TRUE(model.is_ok());
  const auto& manifest = (*model)->manifest();
  ASSERT_EQ(manifest.size(), 2u + 12u * 2 + 2u);
  EXPECT_EQ(manifest[0].name, "transformer.wte.weight");
  bool found = false;
  for (const ManifestEntry& e : manifest) {
    EXPECT_NE(e.destination, nullptr);
    if (e.name == "transformer.h.1.attn.c_attn.weight") {
      found = true;
      EXPECT_EQ(e.shape, (std::vector<uint64_t>{16, 48}));  // Conv1D: [in, out]
      EXPECT_EQ(e.dtype, DType::F16);
    }
    if (e.shape.size() == 1) {
      EXPECT_EQ(e.dtype, DType::F32) << e.name;
    }
  }
  EXPECT_TRUE(found);
}

TEST(Manifest, LlamaUntiedHasLmHeadAndGqaShapes) {
  auto b = backend();
  Result<std::unique_ptr<Model>> model = build_model(*parse_model_config(kLlamaConfig), *b);
  ASSERT_TRUE(model.is_ok());
  const auto& manifest = (*model)->manifest();
  EXPECT_EQ(manifest.back().name, "lm_head.weight");
  for (const ManifestEntry& e : manifest) {
    if (e.name == "model.layers.0.self_attn.k_proj.weight") {
      EXPECT_EQ(e.shape, (std::vector<uint64_t>{8, 16}));
    }
    if (e.name == "model.layers.0.self_attn.q_proj.weight") {
      EXPECT_EQ(e.shape, (std::vector<uint64_t>{16, 16}));
    }
  }
}

TEST(CheckpointMismatch, WrongArchitectureListsMissingAndUnexpectedTogether) {
  Result<std::unique_ptr<ModelSource>> source = ModelSource::open(fixture_dir("gpt2"));
  ASSERT_TRUE(source.is_ok()) << source.error().to_string();
  auto b = backend();
  // build_model itself reports it (before allocating what config.json sizes).
  auto model = build_model(*parse_model_config(kLlamaConfig), *b, WeightDType::Keep, &(*source)->checkpoint());
  Status status = model.is_ok() ? (*model)->check_checkpoint((*source)->checkpoint()) : model.status();
  ASSERT_FALSE(status.is_ok());
  EXPECT_EQ(status.error().kind, ErrorKind::MissingTensor);
  EXPECT_NE(status.error().message.find("model.embed_tokens.weight"), std::string::npos);
  EXPECT_NE(status.error().message.find("unexpected tensors"), std::string::npos);
  EXPECT_NE(status.error().message.find("transformer.h.0."), std::string::npos);
}

TEST(CheckpointMismatch, ShapeMismatchNamesTheTensor) {
  Result<std::unique_ptr<ModelSource>> source = ModelSource::open(fixture_dir("llama_gqa"));
  ASSERT_TRUE(source.is_ok()) << source.error().to_string();
  Result<std::string> text = (*source)->read_text("config.json");
  ASSERT_TRUE(text.is_ok());
  Result<ModelConfig> config = parse_model_config(*text);
  ASSERT_TRUE(config.is_ok());
  config->intermediate_size += 8;
  auto b = backend();
  auto model = build_model(*config, *b, WeightDType::Keep, &(*source)->checkpoint());
  Status status = model.is_ok() ? (*model)->check_checkpoint((*source)->checkpoint()) : model.status();
  ASSERT_FALSE(status.is_ok());
  EXPECT_EQ(status.error().kind, ErrorKind::ShapeMismatch);
  EXPECT_NE(status.error().message.find("model.layers.0.mlp.gate_proj.weight"), std::string::npos);
}

// Sizes from config.json that disagree with the checkpoint are reported
// before anything sized by them is allocated: 4096 layers with 2^24-wide MLPs
// would ask for petabytes (one 1 GB buffer per matrix) first.
TEST(CheckpointMismatch, HugeConfigSizesAreCheckedBeforeAllocating) {
  Result<std::unique_ptr<ModelSource>> source = ModelSource::open(fixture_dir("llama_gqa"));
  ASSERT_TRUE(source.is_ok()) << source.error().to_string();
  Result<ModelConfig> config = parse_model_config(*(*source)->read_text("config.json"));
  ASSERT_TRUE(config.is_ok());
  config->intermediate_size = size_t{1} << 24;
  config->layers = 4096;
  auto b = backend();
  const auto start = std::chrono::steady_clock::now();
  auto model = build_model(*config, *b, WeightDType::F32, &(*source)->checkpoint());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_FALSE(model.is_ok());
  EXPECT_TRUE(model.error().kind == ErrorKind::ShapeMismatch || model.error().kind == ErrorKind::MissingTensor)
      << model.error().to_string();
  EXPECT_NE(model.error().message.find("model.layers.0.mlp.gate_proj.weight"), std::string::npos);
  EXPECT_LT(seconds, 5.0);
}

TEST(CheckpointMismatch, OldGpt2BuffersAreToleratedStrayTensorsAreNot) {
  // gpt2_no_prefix carries attn.bias / attn.masked_bias buffers: tolerated.
  Result<LoadedModel> loaded = load_model(fixture_dir("gpt2_no_prefix"), WeightDType::Keep);
  ASSERT_TRUE(loaded.is_ok()) << loaded.error().to_string();
  EXPECT_TRUE(loaded->model->tolerates_extra_tensor("h.0.attn.masked_bias"));
  EXPECT_FALSE(loaded->model->tolerates_extra_tensor("h.0.attn.c_attn.extra"));
}

TEST(Forward, RejectsBadIdsPositionsAndCaches) {
  auto b = backend();
  auto model = build_model(*parse_model_config(kLlamaConfig), *b);
  ASSERT_TRUE(model.is_ok());
  EXPECT_EQ((*model)->make_cache(0).error().kind, ErrorKind::InvalidArgument);
  EXPECT_EQ((*model)->make_cache(33).error().kind, ErrorKind::InvalidArgument);
  Result<KVCache> cache = (*model)->make_cache(4);
  ASSERT_TRUE(cache.is_ok());
  std::vector<float> logits(50);
  const int32_t bad_id = 50, ok_id = 1, position = 0, bad_position = 4;
  EXPECT_EQ((*model)->forward(&bad_id, &position, 1, *cache, logits.data()).error().kind, ErrorKind::InvalidArgument);
  EXPECT_EQ((*model)->forward(&ok_id, &bad_position, 1, *cache, logits.data()).error().kind,
            ErrorKind::InvalidArgument);
}

}  // namespace
}  // namespace ws::test
