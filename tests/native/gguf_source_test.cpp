// A .gguf file as a ModelSource: Hugging Face names, synthesized side files,
// q/k rows back in Hugging Face order, tensors equal to what the independent
// gguf package (and transformers' GGUF helper) give.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "model/model.h"
#include "native/test_support.h"
#include "require.h"
#include "source/model_source.h"
#include "tokenizer/tokenizer.h"
#include "util/sha256.h"

namespace ws {
namespace {

const std::string kDir = std::string(WS_FIXTURES_DIR) + "/gguf";

using test::read_file;

struct Bound {
  std::vector<ManifestEntry> manifest;
  std::vector<HostBuffer> buffers;
};

// Loads the named tensors (all when empty) as `dtype`.
Result<Bound> load_as(ModelSource& source, DType dtype, std::vector<std::string> names = {},
                      const ParallelFill& readers = default_readers()) {
  const Checkpoint& checkpoint = source.checkpoint();
  if (names.empty()) {
    for (const TensorInfo& t : checkpoint.tensors) names.push_back(t.name);
  }
  Bound b;
  b.buffers.reserve(names.size());
  for (const std::string& name : names) {
    const TensorInfo* t = checkpoint.find(name);
    if (!t) return make_error(ErrorKind::MissingTensor, name);
    WS_ASSIGN_OR_RETURN(HostBuffer buffer, HostBuffer::allocate(dtype_storage_bytes(dtype, t->numel())));
    b.buffers.push_back(std::move(buffer));
    b.manifest.push_back({name, dtype, t->shape, &b.buffers.back()});
  }
  PlanOptions options;
  options.staging_bytes = 1 << 16;
  WS_ASSIGN_OR_RETURN(LoadPlan plan, plan_load(checkpoint, b.manifest, options));
  WS_ASSIGN_OR_RETURN(std::unique_ptr<LoadExecutor> executor, LoadExecutor::create(plan, b.manifest));
  WS_TRY(source.load(*executor, readers));
  return b;
}
Result<Bound> load_f32(ModelSource& source, std::vector<std::string> names = {}) {
  return load_as(source, DType::F32, std::move(names));
}

std::string sha256(const uint8_t* data, uint64_t len) {
  Sha256 hash;
  hash.update(data, len);
  return hash.finish_hex();
}

// `weightstream convert` then a load of the directory gives the same bytes as
// loading the GGUF directly (`dtype` for both).
void expect_convert_round_trip(const std::string& gguf, const std::string& out_dir, const char* dtype_flag,
                               DType dtype) {
  std::system(("rm -rf '" + out_dir + "'").c_str());
  const std::string command = std::string(WS_CLI) + " convert '" + gguf + "' '" + out_dir + "' --dtype " + dtype_flag +
                              " --batch-mib 1 > /dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  auto direct = ModelSource::open(gguf);
  auto converted = ModelSource::open(out_dir);
  ASSERT_TRUE(direct.is_ok() && converted.is_ok());
  ASSERT_EQ((*converted)->checkpoint().tensors.size(), (*direct)->checkpoint().tensors.size());
  Result<Bound> a = load_as(**direct, dtype);
  ASSERT_TRUE(a.is_ok()) << a.error().to_string();
  std::vector<std::string> names;
  for (const ManifestEntry& e : a->manifest) names.push_back(e.name);
  Result<Bound> b = load_as(**converted, dtype, names);
  ASSERT_TRUE(b.is_ok()) << b.error().to_string();
  for (size_t i = 0; i < names.size(); ++i) {
    const uint64_t bytes = dtype_storage_bytes(dtype, (*direct)->checkpoint().find(names[i])->numel());
    EXPECT_EQ(sha256(a->buffers[i].data(), bytes), sha256(b->buffers[i].data(), bytes)) << names[i];
  }
  for (const char* file : {"config.json", "tokenizer.json", "tokenizer_config.json"}) {
    EXPECT_EQ(*(*direct)->read_text(file), *(*converted)->read_text(file)) << file;
  }
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

// Several readers (small pieces: cut inside block windows and between the
// dequantising ones) give the single reader's bytes, blocks kept or widened.
TEST(GgufSource, ParallelReadersGiveTheSingleReadersBytes) {
  for (const char* file : {"/tiny-llama.gguf", "/quants.gguf"}) {
    for (DType dtype : {DType::F32, DType::BF16}) {
      auto one = ModelSource::open(kDir + file);
      auto four = ModelSource::open(kDir + file);
      ASSERT_TRUE(one.is_ok() && four.is_ok());
      ParallelFill single;
      single.readers = 1;
      ParallelFill parallel;
      parallel.readers = 4;
      parallel.piece_bytes = 200;
      parallel.staging_bytes = 4 << 16;
      Result<Bound> a = load_as(**one, dtype, {}, single);
      Result<Bound> b = load_as(**four, dtype, {}, parallel);
      ASSERT_TRUE(a.is_ok()) << a.error().to_string();
      ASSERT_TRUE(b.is_ok()) << b.error().to_string();
      for (size_t i = 0; i < a->buffers.size(); ++i) {
        EXPECT_EQ(sha256(a->buffers[i].data(), a->buffers[i].bytes()), sha256(b->buffers[i].data(), b->buffers[i].bytes()))
            << file << " " << a->manifest[i].name;
      }
    }
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

TEST(GgufSource, ConvertToSafetensorsRoundTrips) {
  expect_convert_round_trip(kDir + "/tiny-llama.gguf", kDir + "/tiny-llama-converted", "f32", DType::F32);
  expect_convert_round_trip(kDir + "/tiny-llama.gguf", kDir + "/tiny-llama-converted-bf16", "bf16", DType::BF16);
}

// Over HTTP (with a dropped connection to resume from), a GGUF loads to the
// same bytes as from disk, and its side files are synthesized the same way.
TEST(GgufSource, LoadsOverHttp) {
  test::RangeServer server(kDir, {"--drop-after", "5000"});
  ASSERT_NE(server.port(), 0);
  auto local = test::load_and_hash(kDir + "/tiny-llama.gguf", DType::F32, 4096);
  auto remote = test::load_and_hash(server.url("tiny-llama.gguf"), DType::F32, 4096);
  ASSERT_TRUE(local.is_ok() && remote.is_ok()) << (remote ? local.error() : remote.error()).to_string();
  ASSERT_EQ(local->size(), remote->size());
  for (const auto& [name, tensor] : *local) EXPECT_EQ(tensor.sha256, remote->at(name).sha256) << name;
  auto source = ModelSource::open(server.url("tiny-llama.gguf"));
  ASSERT_TRUE(source.is_ok());
  auto direct = ModelSource::open(kDir + "/tiny-llama.gguf");
  EXPECT_EQ(*(*source)->read_text("config.json"), *(*direct)->read_text("config.json"));
}

TEST(GgufSource, SmolLM2ConvertRoundTrips) {
  const std::string path = WS_SMOLLM2_GGUF;
  if (read_file(path).empty()) {
    WS_SKIP_UNLESS_REQUIRED("WS_REQUIRE_ALL", "SmolLM2 GGUF not present (run .ci/setup.d/30-smollm2.sh): " + path);
  }
  expect_convert_round_trip(path, kDir + "/smollm2-converted", "bf16", DType::BF16);
  std::system(("rm -rf '" + kDir + "/smollm2-converted'").c_str());
}

TEST(GgufSource, SmolLM2TensorsMatchGgufPackage) {
  const std::string path = WS_SMOLLM2_GGUF;
  const std::string expected_text = read_file(kDir + "/smollm2/expected.json");
  if (expected_text.empty() || read_file(path).empty()) {
    WS_SKIP_UNLESS_REQUIRED("WS_REQUIRE_ALL", "SmolLM2 GGUF not present (run .ci/setup.d/30-smollm2.sh): " + path);
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

// The tokenizer.json synthesised from SmolLM2's GGUF metadata, run by our
// tokenizer, against transformers' own GGUF tokenizer loading on the parity
// corpus (tests/tools/make_gguf_tokenizer_reference.py, which states the two
// places transformers 4.44.2 departs from the GGUF and corrects them).
TEST(GgufSource, SmolLM2TokenizerMatchesTransformersGgufLoading) {
  const std::string path = WS_SMOLLM2_GGUF;
  const std::string reference_text = read_file(kDir + "/smollm2/tokenizer_reference.json");
  if (reference_text.empty()) {
    WS_SKIP_UNLESS_REQUIRED("WS_REQUIRE_ALL", "no SmolLM2 tokenizer reference (the model is absent: " + path + ")");
  }
  auto source = ModelSource::open(path);
  ASSERT_TRUE(source.is_ok()) << source.error().to_string();
  Result<std::string> tokenizer_text = (*source)->read_text("tokenizer.json");
  ASSERT_TRUE(tokenizer_text.is_ok()) << tokenizer_text.error().to_string();
  Result<Tokenizer> tokenizer = Tokenizer::from_json(*tokenizer_text);
  ASSERT_TRUE(tokenizer.is_ok()) << tokenizer.error().to_string();
  const nlohmann::json reference = nlohmann::json::parse(reference_text, nullptr, false);
  ASSERT_FALSE(reference.is_discarded());
  ASSERT_GE(reference["cases"].size(), 200u);
  size_t equal = 0;
  for (const nlohmann::json& c : reference["cases"]) {
    const std::string text = c["text"];
    const std::vector<int32_t> expected = c["ids"].get<std::vector<int32_t>>();
    const std::vector<int32_t> ids = tokenizer->encode(text, /*add_special_tokens=*/false);
    EXPECT_EQ(ids, expected) << nlohmann::json(text).dump();
    equal += ids == expected;
  }
  std::cout << equal << " of " << reference["cases"].size() << " strings tokenized as transformers "
            << reference["transformers"].get<std::string>() << " does from the GGUF\n";
}

}  // namespace
}  // namespace ws
