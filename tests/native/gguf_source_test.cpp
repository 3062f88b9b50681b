// A .gguf file as a ModelSource: Hugging Face names, synthesized side files,
// q/k rows back in Hugging Face order, tensors equal to what the independent
// gguf package (and transformers' GGUF helper) give.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "model/model.h"
#include "source/model_source.h"
#include "tokenizer/tokenizer.h"
#include "util/sha256.h"

namespace ws {
namespace {

const std::string kDir = std::string(WS_FIXTURES_DIR) + "/gguf";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Bound {
  std::vector<ManifestEntry> manifest;
  std::vector<HostBuffer> buffers;
};

// Loads the named tensors (all when empty) as F32.
Result<Bound> load_f32(ModelSource& source, std::vector<std::string> names = {}) {
  const Checkpoint& checkpoint = source.checkpoint();
  if (names.empty()) {
    for (const TensorInfo& t : checkpoint.tensors) names.push_back(t.name);
  }
  Bound b;
  b.buffers.reserve(names.size());
  for (const std::string& name : names) {
    const TensorInfo* t = checkpoint.find(name);
    if (!t) return make_error(ErrorKind::MissingTensor, name);
    WS_ASSIGN_OR_RETURN(HostBuffer buffer, HostBuffer::allocate(t->numel() * 4));
    b.buffers.push_back(std::move(buffer));
    b.manifest.push_back({name, DType::F32, t->shape, &b.buffers.back()});
  }
  PlanOptions options;
  options.staging_bytes = 1 << 16;
  WS_ASSIGN_OR_RETURN(LoadPlan plan, plan_load(checkpoint, b.manifest, options));
  WS_ASSIGN_OR_RETURN(std::unique_ptr<LoadExecutor> executor, LoadExecutor::create(plan, b.manifest));
  WS_TRY(source.load(*executor));
  return b;
}

TEST(GgufSource, TinyLlamaTensorsMatchHuggingFace) {
  auto source = ModelSource::open(kDir + "/tiny-llama.gguf");
  ASSERT_TRUE(source.is_ok()) << source.error().to_string();
  nlohmann::json expected = nlohmann::json::parse(read_file(kDir + "/tiny-llama/expected.json"), nullptr, false);
  ASSERT_FALSE(expected.is_discarded());
  std::vector<std::string> names;
  for (const auto& n : expected["tensors"]) names.push_back(n.get<std::string>());
  ASSERT_EQ(names.size(), (*source)->checkpoint().tensors.size());
  Result<Bound> bound = load_f32(**source, names);
  ASSERT_TRUE(bound.is_ok()) << bound.error().to_string();
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string ref = read_file(kDir + "/tiny-llama/ref/" + names[i] + ".f32");
    ASSERT_EQ(ref.size(), bound->buffers[i].bytes()) << names[i];
    EXPECT_EQ(std::memcmp(ref.data(), bound->buffers[i].data(), ref.size()), 0) << names[i] << " differs";
  }
}

TEST(GgufSource, SynthesizesConfigAndTokenizer) {
  auto source = ModelSource::open(kDir + "/tiny-llama.gguf");
  ASSERT_TRUE(source.is_ok()) << source.error().to_string();
  Result<std::string> config_text = (*source)->read_text("config.json");
  ASSERT_TRUE(config_text.is_ok());
  Result<ModelConfig> config = parse_model_config(*config_text);
  ASSERT_TRUE(config.is_ok()) << config.error().to_string() << "\n" << *config_text;
  EXPECT_EQ(config->model_type, "llama");
  EXPECT_EQ(config->hidden_size, 64u);
  EXPECT_EQ(config->layers, 2u);
  EXPECT_EQ(config->heads, 4u);
  EXPECT_EQ(config->kv_heads, 2u);
  EXPECT_EQ(config->intermediate_size, 96u);
  EXPECT_EQ(config->max_positions, 256u);
  EXPECT_EQ(config->rope_theta, 100000.0f);
  EXPECT_EQ(config->norm_eps, 1e-5f);
  EXPECT_TRUE(config->tie_word_embeddings);
  EXPECT_EQ(config->bos_token_id, 1);

  Result<std::string> tokenizer_text = (*source)->read_text("tokenizer.json");
  ASSERT_TRUE(tokenizer_text.is_ok());
  Result<Tokenizer> tokenizer = Tokenizer::from_json(*tokenizer_text);
  ASSERT_TRUE(tokenizer.is_ok()) << tokenizer.error().to_string();
  EXPECT_EQ(tokenizer->vocab_size(), config->vocab_size);
  // "hello the": merges h e, l l, ll o, Ġ t, Ġt he.
  const std::vector<int32_t> ids = tokenizer->encode("hello the");
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(tokenizer->token_text(ids[0]), "he");
  EXPECT_EQ(tokenizer->token_text(ids[1]), "llo");
  EXPECT_EQ(tokenizer->token_text(ids[2]), "Ġthe");
  EXPECT_EQ(tokenizer->decode(ids), "hello the");
  EXPECT_TRUE(tokenizer->is_special(*tokenizer->token_id("<|im_end|>")));

  Result<std::string> tokenizer_config = (*source)->read_text("tokenizer_config.json");
  ASSERT_TRUE(tokenizer_config.is_ok());
  nlohmann::json tc = nlohmann::json::parse(*tokenizer_config, nullptr, false);
  EXPECT_EQ(tc.value("eos_token", ""), "<|im_end|>");
  EXPECT_NE(tc.value("chat_template", "").find("im_start"), std::string::npos);
  EXPECT_TRUE(apply_special_tokens_config(*tokenizer, *tokenizer_config, *config_text).is_ok());
  EXPECT_EQ(tokenizer->eos_id(), 2);
}

// The model layer builds from the synthesized config and loads the GGUF in one
// plan (tied embeddings, no lm_head in the file).
TEST(GgufSource, ModelPlansAgainstGguf) {
  auto source = ModelSource::open(kDir + "/tiny-llama.gguf");
  ASSERT_TRUE(source.is_ok());
  Result<ModelConfig> config = parse_model_config(*(*source)->read_text("config.json"));
  ASSERT_TRUE(config.is_ok());
  auto backend = make_portable_backend();
  ASSERT_TRUE(backend.is_ok());
  auto model = build_model(*config, **backend, WeightDType::Keep, &(*source)->checkpoint());
  ASSERT_TRUE(model.is_ok()) << model.error().to_string();
  Result<LoadPlan> plan = plan_model_load(**model, (*source)->checkpoint());
  ASSERT_TRUE(plan.is_ok()) << plan.error().to_string();
  auto executor = LoadExecutor::create(*plan, (*model)->manifest());
  ASSERT_TRUE(executor.is_ok());
  ASSERT_TRUE((*source)->load(**executor).is_ok());
}

TEST(GgufSource, SmolLM2TensorsMatchGgufPackage) {
  const std::string path = WS_SMOLLM2_GGUF;
  const std::string expected_text = read_file(kDir + "/smollm2/expected.json");
  if (expected_text.empty() || read_file(path).empty()) {
    GTEST_SKIP() << "SmolLM2 GGUF not present (run .ci/setup.d/30-smollm2.sh): " << path;
  }
  auto source = ModelSource::open(path);
  ASSERT_TRUE(source.is_ok()) << source.error().to_string();
  nlohmann::json expected = nlohmann::json::parse(expected_text, nullptr, false);
  std::vector<std::string> names;
  for (auto it = expected.begin(); it != expected.end(); ++it) names.push_back(it.key());
  Result<Bound> bound = load_f32(**source, names);
  ASSERT_TRUE(bound.is_ok()) << bound.error().to_string();
  for (size_t i = 0; i < names.size(); ++i) {
    Sha256 hash;
    hash.update(bound->buffers[i].data(), (*source)->checkpoint().find(names[i])->numel() * 4);
    EXPECT_EQ(hash.finish_hex(), expected[names[i]].get<std::string>()) << names[i];
  }
  Result<ModelConfig> config = parse_model_config(*(*source)->read_text("config.json"));
  ASSERT_TRUE(config.is_ok()) << config.error().to_string();
  EXPECT_EQ(config->vocab_size, 49152u);
  EXPECT_EQ(config->layers, 30u);
  EXPECT_EQ(config->kv_heads, 3u);
  EXPECT_TRUE(config->tie_word_embeddings);
}

}  // namespace
}  // namespace ws
