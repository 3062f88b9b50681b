// config.json and tokenizer_config.json synthesized from GGUF metadata, with
// the keys transformers itself reads when it loads a GGUF file
// (transformers/integrations/ggml.py, GGUF_CONFIG_MAPPING).
#include <nlohmann/json.hpp>

#include "format/gguf.h"

namespace ws {

namespace {

using json = nlohmann::json;

std::string dump(const json& value) { return value.dump(2, ' ', false, json::error_handler_t::replace) + "\n"; }

bool has_tensor(const GgufHeader& header, std::string_view name) {
  for (const GgufTensor& t : header.tensors) {
    if (t.name == name) return true;
  }
  return false;
}

}  // namespace

Result<std::string> gguf_config_json(const GgufHeader& header, std::string_view file_name) {
  const std::string arch = header.get_string("general.architecture").value_or("");
  const char* model_type = arch == "llama" ? "llama" : arch == "qwen2" ? "qwen2" : arch == "qwen3" ? "qwen3" : nullptr;
  if (!model_type) {
    return make_error(ErrorKind::Unsupported, std::string(file_name) + ": general.architecture \"" + arch +
                                                  "\" (supported: llama, qwen2, qwen3)");
  }
  std::string missing;
  auto need_uint = [&](const char* key) -> uint64_t {
    std::optional<uint64_t> v = header.get_uint(arch + "." + key);
    if (!v) missing += (missing.empty() ? "" : ", ") + arch + "." + key;
    return v.value_or(0);
  };
  json config = json::object();
  config["architectures"] = json::array(
      {arch == "llama" ? "LlamaForCausalLM" : arch == "qwen2" ? "Qwen2ForCausalLM" : "Qwen3ForCausalLM"});
  config["model_type"] = model_type;
  config["hidden_act"] = "silu";
  config["hidden_size"] = need_uint("embedding_length");
  config["intermediate_size"] = need_uint("feed_forward_length");
  config["num_hidden_layers"] = need_uint("block_count");
  config["max_position_embeddings"] = need_uint("context_length");
  const uint64_t heads = need_uint("attention.head_count");
  config["num_attention_heads"] = heads;
  config["num_key_value_heads"] = header.get_uint(arch + ".attention.head_count_kv").value_or(heads);
  if (!missing.empty()) {
    return make_error(ErrorKind::InvalidConfig, std::string(file_name) + ": cannot make config.json without " + missing);
  }
  if (std::optional<uint64_t> key_length = header.get_uint(arch + ".attention.key_length")) {
    config["head_dim"] = *key_length;
  }
  config["rms_norm_eps"] = header.get_float(arch + ".attention.layer_norm_rms_epsilon").value_or(1e-6);
  config["rope_theta"] = header.get_float(arch + ".rope.freq_base").value_or(10000.0);
  const std::optional<std::string> scaling = header.get_string(arch + ".rope.scaling.type");
  if (scaling && *scaling == "linear") {
    config["rope_scaling"] = {{"type", "linear"}, {"factor", header.get_float(arch + ".rope.scaling.factor").value_or(1.0)}};
  }
  const std::vector<std::string>* tokens = header.get_strings("tokenizer.ggml.tokens");
  std::optional<uint64_t> vocab = header.get_uint(arch + ".vocab_size");
  if (tokens) vocab = tokens->size();
  if (!vocab) {
    return make_error(ErrorKind::InvalidConfig, std::string(file_name) + ": no tokenizer.ggml.tokens or " + arch +
                                                    ".vocab_size to size the vocabulary");
  }
  config["vocab_size"] = *vocab;
  // llama.cpp writes no output.weight when the head shares the embedding.
  config["tie_word_embeddings"] = !has_tensor(header, "output.weight");
  if (std::optional<uint64_t> bos = header.get_uint("tokenizer.ggml.bos_token_id")) config["bos_token_id"] = *bos;
  if (std::optional<uint64_t> eos = header.get_uint("tokenizer.ggml.eos_token_id")) config["eos_token_id"] = *eos;
  config["torch_dtype"] = "float32";
  return dump(config);
}

Result<std::string> gguf_tokenizer_config_json(const GgufHeader& header, std::string_view file_name) {
  const std::vector<std::string>* tokens = header.get_strings("tokenizer.ggml.tokens");
  json config = json::object();
  auto token = [&](const char* key, const char* field) {
    std::optional<uint64_t> id = header.get_uint(std::string("tokenizer.ggml.") + key);
    if (id && tokens && *id < tokens->size()) config[field] = (*tokens)[*id];
  };
  token("bos_token_id", "bos_token");
  token("eos_token_id", "eos_token");
  token("unknown_token_id", "unk_token");
  token("padding_token_id", "pad_token");
  if (std::optional<bool> add_bos = header.get_bool("tokenizer.ggml.add_bos_token")) config["add_bos_token"] = *add_bos;
  if (std::optional<bool> add_eos = header.get_bool("tokenizer.ggml.add_eos_token")) config["add_eos_token"] = *add_eos;
  if (std::optional<std::string> context = header.get_string("general.architecture")) {
    if (std::optional<uint64_t> n = header.get_uint(*context + ".context_length")) config["model_max_length"] = *n;
  }
  if (std::optional<std::string> chat = header.get_string("tokenizer.chat_template")) config["chat_template"] = *chat;
  config["tokenizer_class"] = "PreTrainedTokenizerFast";
  return dump(config);
}

}  // namespace ws
