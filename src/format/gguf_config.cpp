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

// The architectures read from GGUF: llama.cpp's name, transformers' model
// type and class. Gemma's GGUFs store every RMSNorm weight plus one
// (convert_hf_to_gguf.py folds Gemma's (1 + w) into the weight, and
// transformers' GGUF loader subtracts it again): the synthesized config says
// so with kNormWeightsPlusOne, and the model then scales by w alone.
struct GgufArch {
  const char* gguf;
  const char* model_type;
  const char* hf_class;
};
constexpr GgufArch kArchs[] = {
    {"llama", "llama", "LlamaForCausalLM"},        {"qwen2", "qwen2", "Qwen2ForCausalLM"},
    {"qwen3", "qwen3", "Qwen3ForCausalLM"},        {"gemma", "gemma", "GemmaForCausalLM"},
    {"gemma2", "gemma2", "Gemma2ForCausalLM"},     {"gemma3", "gemma3_text", "Gemma3ForCausalLM"},
    {"phi3", "phi3", "Phi3ForCausalLM"},
};

Result<std::string> gguf_config_json(const GgufHeader& header, std::string_view file_name) {
  const std::string arch = header.get_string("general.architecture").value_or("");
  const GgufArch* known = nullptr;
  for (const GgufArch& a : kArchs) {
    if (arch == a.gguf) known = &a;
  }
  if (!known) {
    return make_error(ErrorKind::Unsupported, std::string(file_name) + ": general.architecture \"" + arch +
                                                  "\" (supported: llama, qwen2, qwen3, gemma, gemma2, gemma3, phi3)");
  }
  const bool gemma = arch.rfind("gemma", 0) == 0;
  if (arch == "phi3" && (has_tensor(header, "rope_factors_long.weight") || has_tensor(header, "rope_factors_short.weight"))) {
    // The LongRoPE factors are tensors in the data section, not metadata.
    return make_error(ErrorKind::Unsupported, std::string(file_name) +
                                                  ": a Phi-3 GGUF with LongRoPE factors (rope_factors_long/short "
                                                  "tensors: the 128k-context variants); its 4k variants load");
  }
  std::string missing;
  auto need_uint = [&](const char* key) -> uint64_t {
    std::optional<uint64_t> v = header.get_uint(arch + "." + key);
    if (!v) missing += (missing.empty() ? "" : ", ") + arch + "." + key;
    return v.value_or(0);
  };
  auto optional_float = [&](const char* key) { return header.get_float(arch + "." + key); };
  json config = json::object();
  config["architectures"] = json::array({known->hf_class});
  config["model_type"] = known->model_type;
  config[gemma ? "hidden_activation" : "hidden_act"] = gemma ? "gelu_pytorch_tanh" : "silu";
  const uint64_t hidden = need_uint("embedding_length");
  config["hidden_size"] = hidden;
  config["intermediate_size"] = need_uint("feed_forward_length");
  const uint64_t layers = need_uint("block_count");
  config["num_hidden_layers"] = layers;
  config["max_position_embeddings"] = need_uint("context_length");
  const uint64_t heads = need_uint("attention.head_count");
  config["num_attention_heads"] = heads;
  config["num_key_value_heads"] = header.get_uint(arch + ".attention.head_count_kv").value_or(heads);
  if (!missing.empty()) {
    return make_error(ErrorKind::InvalidConfig, std::string(file_name) + ": cannot make config.json without " + missing);
  }
  if (heads == 0) return make_error(ErrorKind::InvalidConfig, std::string(file_name) + ": attention.head_count is 0");
  const uint64_t head_dim = header.get_uint(arch + ".attention.key_length").value_or(hidden / heads);
  if (header.get_uint(arch + ".attention.key_length")) config["head_dim"] = head_dim;
  config["rms_norm_eps"] = optional_float("attention.layer_norm_rms_epsilon").value_or(1e-6);
  config["rope_theta"] = optional_float("rope.freq_base").value_or(arch == "gemma3" ? 1000000.0 : 10000.0);
  const std::optional<std::string> scaling = header.get_string(arch + ".rope.scaling.type");
  if (scaling && *scaling == "linear") {
    config["rope_scaling"] = {{"type", "linear"}, {"factor", optional_float("rope.scaling.factor").value_or(1.0)}};
  }
  if (std::optional<uint64_t> window = header.get_uint(arch + ".attention.sliding_window")) {
    config["sliding_window"] = *window;
  }
  if (gemma) {
    config[kNormWeightsPlusOne] = true;
    // llama.cpp scales queries by 1/sqrt(head_dim), or by 1/sqrt(hidden/heads)
    // for the 27B models (46 layers for Gemma 2, 62 for Gemma 3): what their
    // query_pre_attn_scalar says in transformers' configs.
    const bool big = (arch == "gemma2" && layers == 46) || (arch == "gemma3" && layers == 62);
    if (arch != "gemma") config["query_pre_attn_scalar"] = big ? hidden / heads : head_dim;
  }
  if (arch == "gemma2") {
    if (auto cap = optional_float("attn_logit_softcapping")) config["attn_logit_softcapping"] = *cap;
    if (auto cap = optional_float("final_logit_softcapping")) config["final_logit_softcapping"] = *cap;
  }
  if (arch == "gemma3") {
    // llama.cpp: every 6th layer global unless the file says otherwise (a
    // period, or one bool per layer, true = sliding); local layers at base
    // rope.freq_base_swa, else 10000.
    const GgufValue* pattern = header.find(arch + ".attention.sliding_window_pattern");
    if (pattern && pattern->is_array() && pattern->element_type == GgufType::BOOL) {
      if (pattern->integers.size() != layers) {
        return make_error(ErrorKind::InvalidConfig, std::string(file_name) + ": " + arch +
                                                        ".attention.sliding_window_pattern needs one entry per layer");
      }
      json types = json::array();
      for (uint64_t sliding : pattern->integers) types.push_back(sliding ? "sliding_attention" : "full_attention");
      config["layer_types"] = types;
    } else {
      config["sliding_window_pattern"] = header.get_uint(arch + ".attention.sliding_window_pattern").value_or(6);
    }
    config["rope_local_base_freq"] = optional_float("rope.freq_base_swa").value_or(10000.0);
  }
  if (arch == "phi3") {
    if (std::optional<uint64_t> rotary = header.get_uint(arch + ".rope.dimension_count")) {
      if (head_dim > 0 && *rotary != head_dim) config["partial_rotary_factor"] = static_cast<double>(*rotary) / head_dim;
    }
    if (!config.contains("sliding_window")) config["sliding_window"] = nullptr;
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
