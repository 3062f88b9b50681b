// The pieces of GGUF output that the end-to-end tests (convert_gguf_test.cpp)
// do not reach with their fixtures: tokenizer.json shapes of real models
// (Llama 3 / Qwen2 pre-tokenizers, chat templates as lists) and each error.
// Expected values come from llama.cpp's conventions (llama-vocab.cpp names,
// llama.h token types), not from our writer.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/gguf_export.h"

namespace ws::cli {
namespace {

using json = nlohmann::json;

const char* kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

ModelConfig config_with_vocab(size_t vocab) {
  ModelConfig config;
  config.vocab_size = vocab;
  return config;
}

json byte_level_tokenizer(json pre_tokenizer) {
  return {{"model", {{"type", "BPE"}, {"vocab", {{"a", 0}, {"b", 1}, {"ab", 2}}}, {"merges", {"a b"}}}},
          {"added_tokens", json::array({{{"id", 3}, {"content", "<|end|>"}, {"special", true}},
                                        {{"id", 4}, {"content", "<tool>"}, {"special", false}}})},
          {"pre_tokenizer", pre_tokenizer}};
}

json split_then_byte_level(const char* regex, bool trim_offsets) {
  return {{"type", "Sequence"},
          {"pretokenizers",
           {{{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}},
            {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", trim_offsets}, {"use_regex", false}}}}};
}

const GgufValue* find(const GgufMetadata& metadata, const std::string& key) {
  for (const auto& [k, v] : metadata) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::string pre_of(const json& pre_tokenizer) {
  Result<GgufMetadata> m = gguf_tokenizer_metadata(byte_level_tokenizer(pre_tokenizer).dump(), "", config_with_vocab(8));
  if (!m) return "error: " + m.error().message;
  const GgufValue* pre = find(*m, "tokenizer.ggml.pre");
  return pre ? pre->strings[0] : "missing";
}

TEST(GgufExport, PreTokenizerNamesAsLlamaCppKnowsThem) {
  EXPECT_EQ(pre_of({{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}),
            "gpt-2");
  EXPECT_EQ(pre_of(split_then_byte_level(kLlama3Regex, true)), "llama-bpe");
  // Qwen2's tokenizer.json has trim_offsets false, which does not change ids.
  EXPECT_EQ(pre_of(split_then_byte_level(kQwen2Regex, false)), "qwen2");
  EXPECT_EQ(pre_of({{"type", "Sequence"},
                    {"pretokenizers", {{{"type", "Digits"}, {"individual_digits", true}},
                                       {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                                        {"use_regex", true}}}}}),
            "smollm");
  // llama.cpp's byte-level pre-tokenizers never add a prefix space: refused, not written wrong.
  const std::string prefix =
      pre_of({{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}});
  EXPECT_NE(prefix.find("no llama.cpp name"), std::string::npos) << prefix;
  const std::string unknown = pre_of(split_then_byte_level("\\p{L}+", true));
  EXPECT_NE(unknown.find("no llama.cpp name"), std::string::npos) << unknown;
}

TEST(GgufExport, ByteLevelTokensTypesAndPadding) {
  const json tokenizer_config = {{"eos_token", {{"content", "<|end|>"}}},
                                 {"chat_template", json::array({{{"name", "tool_use"}, {"template", "T"}},
                                                                {{"name", "default"}, {"template", "D"}}})}};
  Result<GgufMetadata> m = gguf_tokenizer_metadata(
      byte_level_tokenizer({{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                            {"use_regex", true}}).dump(),
      tokenizer_config.dump(), config_with_vocab(7));
  ASSERT_TRUE(m.is_ok()) << m.error().to_string();
  EXPECT_EQ(find(*m, "tokenizer.ggml.model")->strings[0], "gpt2");
  EXPECT_EQ(find(*m, "tokenizer.ggml.tokens")->strings,
            (std::vector<std::string>{"a", "b", "ab", "<|end|>", "<tool>", "[PAD5]", "[PAD6]"}));
  // llama.h: NORMAL 1, CONTROL 3, USER_DEFINED 4, UNUSED 5.
  std::vector<int64_t> types;
  for (uint64_t t : find(*m, "tokenizer.ggml.token_type")->integers) types.push_back(static_cast<int64_t>(t));
  EXPECT_EQ(types, (std::vector<int64_t>{1, 1, 1, 3, 4, 5, 5}));
  EXPECT_EQ(find(*m, "tokenizer.ggml.merges")->strings, (std::vector<std::string>{"a b"}));
  EXPECT_EQ(find(*m, "tokenizer.ggml.eos_token_id")->integers[0], 3u);
  EXPECT_EQ(find(*m, "tokenizer.ggml.bos_token_id"), nullptr);
  EXPECT_EQ(find(*m, "tokenizer.ggml.add_space_prefix")->integers[0], 0u);
  EXPECT_EQ(find(*m, "tokenizer.chat_template")->strings[0], "D");
}

TEST(GgufExport, SentencePieceStyleScoresFollowTheMerges) {
  const json tokenizer = json::parse(R"({
    "model": {"type": "BPE", "byte_fallback": true, "unk_token": "<unk>",
              "vocab": {"<unk>": 0, "<0x41>": 1, "a": 2, "b": 3, "ab": 4, "abb": 5},
              "merges": [["a", "b"], ["ab", "b"]]},
    "normalizer": {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": "\u2581"},
        {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
    "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<unk>"}}]}
  })");
  Result<GgufMetadata> m = gguf_tokenizer_metadata(tokenizer.dump(), "", config_with_vocab(6));
  ASSERT_TRUE(m.is_ok()) << m.error().to_string();
  EXPECT_EQ(find(*m, "tokenizer.ggml.model")->strings[0], "llama");
  EXPECT_EQ(find(*m, "tokenizer.ggml.merges"), nullptr);
  std::vector<int64_t> types;
  for (uint64_t t : find(*m, "tokenizer.ggml.token_type")->integers) types.push_back(static_cast<int64_t>(t));
  EXPECT_EQ(types, (std::vector<int64_t>{2, 6, 1, 1, 1, 1}));  // UNKNOWN, BYTE, NORMAL...
  const std::vector<double>& scores = find(*m, "tokenizer.ggml.scores")->floats;
  ASSERT_EQ(scores.size(), 6u);
  EXPECT_GT(scores[4], scores[5]);  // "ab" (first merge) outranks "abb" (second)
  EXPECT_GT(scores[5], scores[2]);  // merged pieces outrank pieces no merge makes
  EXPECT_EQ(find(*m, "tokenizer.ggml.add_bos_token")->integers[0], 1u);
  EXPECT_EQ(find(*m, "tokenizer.ggml.add_space_prefix")->integers[0], 1u);
  EXPECT_EQ(find(*m, "tokenizer.ggml.unknown_token_id")->integers[0], 0u);
}

TEST(GgufExport, TokenizerErrors) {
  const ModelConfig config = config_with_vocab(4);
  auto kind = [&](const std::string& text) {
    Result<GgufMetadata> m = gguf_tokenizer_metadata(text, "", config);
    return m.is_ok() ? std::string("ok") : std::string(error_kind_name(m.error().kind));
  };
  EXPECT_EQ(kind("not json"), error_kind_name(ErrorKind::InvalidConfig));
  EXPECT_EQ(kind(R"({"model": {"type": "Unigram", "vocab": {}}})"), error_kind_name(ErrorKind::Unsupported));
  EXPECT_EQ(kind(R"({"model": {"type": "BPE", "vocab": {"a": 0}}, "pre_tokenizer": {"type": "Whitespace"}})"),
            error_kind_name(ErrorKind::Unsupported));
  // More ids than config.json's vocab_size: llama.cpp's embedding would not cover them.
  EXPECT_EQ(kind(byte_level_tokenizer({{"type", "ByteLevel"}}).dump()), error_kind_name(ErrorKind::InvalidConfig));
  EXPECT_EQ(kind(R"({"model": {"type": "BPE", "vocab": {"a": -1}}, "pre_tokenizer": {"type": "ByteLevel"}})"),
            error_kind_name(ErrorKind::InvalidConfig));
}

TEST(GgufExport, ModelMetadataAndRefusals) {
  const json llama = {{"model_type", "llama"}, {"vocab_size", 32}, {"hidden_size", 64}, {"intermediate_size", 96},
                      {"num_hidden_layers", 2}, {"num_attention_heads", 4}, {"num_key_value_heads", 2},
                      {"max_position_embeddings", 128}, {"rms_norm_eps", 1e-5}, {"rope_theta", 10000.0},
                      {"head_dim", 32}, {"rope_scaling", {{"type", "linear"}, {"factor", 2.0}}}};
  Result<GgufMetadata> m = gguf_model_metadata(llama.dump(), "tiny");
  ASSERT_TRUE(m.is_ok()) << m.error().to_string();
  EXPECT_EQ(find(*m, "general.architecture")->strings[0], "llama");
  EXPECT_EQ(find(*m, "llama.attention.head_count_kv")->integers[0], 2u);
  EXPECT_EQ(find(*m, "llama.rope.dimension_count")->integers[0], 32u);
  EXPECT_EQ(find(*m, "llama.attention.key_length")->integers[0], 32u);  // head_dim != hidden / heads
  EXPECT_EQ(find(*m, "llama.rope.scaling.type")->strings[0], "linear");
  EXPECT_EQ(find(*m, "llama.rope.scaling.factor")->floats[0], 2.0);

  json mistral = llama;
  mistral["model_type"] = "mistral";
  mistral.erase("rope_scaling");
  ASSERT_TRUE(gguf_model_metadata(mistral.dump(), "m").is_ok());
  EXPECT_EQ(find(*gguf_model_metadata(mistral.dump(), "m"), "general.architecture")->strings[0], "llama");
  EXPECT_EQ(find(*gguf_model_metadata(mistral.dump(), "m"), "llama.attention.sliding_window"), nullptr);
  // Its window is written (every layer slides), where src/format reads it back.
  mistral["sliding_window"] = 8;
  ASSERT_TRUE(gguf_model_metadata(mistral.dump(), "m").is_ok());
  EXPECT_EQ(find(*gguf_model_metadata(mistral.dump(), "m"), "llama.attention.sliding_window")->integers[0], 8u);

  json llama3 = llama;
  llama3["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                            {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 16}};
  Result<GgufMetadata> refused = gguf_model_metadata(llama3.dump(), "x");
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::Unsupported);

  // Families with their own llama.cpp architecture are refused, not written as "llama".
  for (const char* type : {"gemma", "gemma2", "gemma3_text", "phi3"}) {
    json other = llama;
    other["model_type"] = type;
    other.erase("rope_scaling");
    Result<GgufMetadata> not_llama = gguf_model_metadata(other.dump(), "x");
    ASSERT_FALSE(not_llama.is_ok()) << type;
    EXPECT_EQ(not_llama.error().kind, ErrorKind::Unsupported) << type;
    EXPECT_NE(not_llama.error().message.find(type), std::string::npos) << not_llama.error().message;
  }
}

TEST(GgufExport, TensorsWithoutALlamaCppNameAreNamed) {
  ModelConfig config;
  config.architecture = Architecture::Llama;
  config.model_type = "llama";
  config.heads = config.kv_heads = 2;
  Checkpoint checkpoint;
  for (const char* name : {"model.embed_tokens.weight", "model.layers.0.self_attn.rotary_emb.inv_freq",
                           "model.layers.0.adapter.weight", "vision_tower.weight"}) {
    TensorInfo t;
    t.name = name;
    t.dtype = DType::F32;
    t.shape = {4, 4};
    checkpoint.tensors.push_back(t);
  }
  Result<std::vector<GgufTensorMapping>> mappings = gguf_tensor_mappings(config, checkpoint);
  ASSERT_FALSE(mappings.is_ok());
  EXPECT_EQ(mappings.error().kind, ErrorKind::Unsupported);
  EXPECT_NE(mappings.error().message.find("model.layers.0.adapter.weight, vision_tower.weight"), std::string::npos)
      << mappings.error().message;
  checkpoint.tensors.resize(2);  // the rotary buffer is dropped, as convert_hf_to_gguf.py drops it
  mappings = gguf_tensor_mappings(config, checkpoint);
  ASSERT_TRUE(mappings.is_ok());
  ASSERT_EQ(mappings->size(), 1u);
  EXPECT_EQ((*mappings)[0].gguf_name, "token_embd.weight");
}

}  // namespace
}  // namespace ws::cli
