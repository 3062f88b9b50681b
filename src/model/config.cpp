// config.json -> ModelConfig. Field names follow transformers' config classes
// (GPT2Config, LlamaConfig, MistralConfig, Qwen2Config) and their defaults.
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "format/json_strict.h"
#include "model/model.h"

namespace ws {
namespace {

using json = nlohmann::json;

Error config_error(const std::string& message) { return make_error(ErrorKind::InvalidConfig, "config.json: " + message); }

// A value echoed into a message: compact, never more than 64 characters (a
// 3 MB array must not become a 3 MB error message).
std::string echo(const json& value) {
  std::string text = detail::dump_json(value);
  if (text.size() > 64) text = text.substr(0, 61) + "...";
  return text;
}

// The largest value each size may take. Well above any real model (vocab:
// 256k, hidden: 16k, layers: 126, head_dim: 256) and small enough that
// nothing derived from one before the checkpoint's shapes are checked (the
// parameter list, RoPE frequencies) can cost more than a few MB.
constexpr int64_t kMaxConfigSize = int64_t{1} << 24;
constexpr int64_t kMaxLayers = 4096;
constexpr int64_t kMaxHeads = 4096;
constexpr int64_t kMaxHeadDim = 1 << 16;

// A positive integer field; `fallback` when absent or null (0 = required).
Result<size_t> get_size(const json& config, const char* key, size_t fallback = 0,
                        int64_t max = kMaxConfigSize) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) {
    if (fallback == 0) return config_error(std::string("missing \"") + key + "\"");
    return fallback;
  }
  if (!it->is_number_integer() || it->get<int64_t>() <= 0 || it->get<int64_t>() > max) {
    return config_error(std::string("\"") + key + "\" must be a positive integer up to " + std::to_string(max) +
                        ", got " + echo(*it));
  }
  return static_cast<size_t>(it->get<int64_t>());
}

Result<float> get_float(const json& config, const char* key, float fallback) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return fallback;
  if (!it->is_number()) return config_error(std::string("\"") + key + "\" must be a number, got " + echo(*it));
  const double value = it->get<double>();
  if (!std::isfinite(value) || value <= 0) return config_error(std::string("\"") + key + "\" must be positive, got " + echo(*it));
  return static_cast<float>(value);
}

bool get_bool(const json& config, const char* key, bool fallback) {
  auto it = config.find(key);
  return it != config.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

std::string get_string(const json& config, const char* key, const std::string& fallback) {
  auto it = config.find(key);
  return it != config.end() && it->is_string() ? it->get<std::string>() : fallback;
}

std::vector<int32_t> get_ids(const json& config, const char* key) {
  std::vector<int32_t> ids;
  auto it = config.find(key);
  if (it == config.end()) return ids;
  auto push = [&](const json& v) {
    if (v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() < (int64_t{1} << 31)) {
      ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
    }
  };
  if (it->is_array()) {
    for (const json& v : *it) push(v);
  } else {
    push(*it);
  }
  return ids;
}

// transformers' rope init: inv_freq = 1 / theta^(2i/d) in f32, then the
// optional rope_scaling ("linear" divides by factor; "llama3" as in
// _compute_llama3_parameters).
Status rope_frequencies(const json& config, ModelConfig& out) {
  const size_t half = out.head_dim / 2;
  out.rope_inv_freq.resize(half);
  for (size_t i = 0; i < half; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(out.head_dim);
    out.rope_inv_freq[i] = 1.0f / std::pow(out.rope_theta, exponent);
  }
  auto it = config.find("rope_scaling");
  if (it == config.end() || it->is_null()) return Status::ok();
  if (!it->is_object()) return config_error("\"rope_scaling\" must be an object or null");
  const std::string type = get_string(*it, "rope_type", get_string(*it, "type", ""));
  WS_ASSIGN_OR_RETURN(const float factor, get_float(*it, "factor", 1.0f));
  if (type == "default") return Status::ok();
  if (type == "linear") {
    for (float& f : out.rope_inv_freq) f /= factor;
    return Status::ok();
  }
  if (type == "llama3") {
    WS_ASSIGN_OR_RETURN(const float low, get_float(*it, "low_freq_factor", 1.0f));
    WS_ASSIGN_OR_RETURN(const float high, get_float(*it, "high_freq_factor", 4.0f));
    WS_ASSIGN_OR_RETURN(const float original, get_float(*it, "original_max_position_embeddings", 8192.0f));
    if (high <= low) return config_error("rope_scaling: high_freq_factor must exceed low_freq_factor");
    const float low_wavelen = original / low, high_wavelen = original / high;
    for (float& f : out.rope_inv_freq) {
      const float wavelen = 2.0f * 3.14159265358979323846f / f;
      if (wavelen < high_wavelen) continue;
      if (wavelen > low_wavelen) {
        f /= factor;
      } else {
        const float smooth = (original / wavelen - low) / (high - low);
        f = (1.0f - smooth) * f / factor + smooth * f;
      }
    }
    return Status::ok();
  }
  return make_error(ErrorKind::Unsupported, "config.json: rope_scaling type \"" + type +
                                                "\" (supported: linear, llama3)");
}

Status parse_gpt2(const json& config, ModelConfig& out) {
  out.architecture = Architecture::Gpt2;
  WS_ASSIGN_OR_RETURN(out.vocab_size, get_size(config, "vocab_size", 50257));
  WS_ASSIGN_OR_RETURN(out.hidden_size, get_size(config, "n_embd", 768));
  WS_ASSIGN_OR_RETURN(out.layers, get_size(config, "n_layer", 12, kMaxLayers));
  WS_ASSIGN_OR_RETURN(out.heads, get_size(config, "n_head", 12, kMaxHeads));
  WS_ASSIGN_OR_RETURN(out.max_positions, get_size(config, "n_positions", 1024));
  WS_ASSIGN_OR_RETURN(out.intermediate_size, get_size(config, "n_inner", 4 * out.hidden_size));
  WS_ASSIGN_OR_RETURN(out.norm_eps, get_float(config, "layer_norm_epsilon", 1e-5f));
  out.kv_heads = out.heads;
  if (out.hidden_size % out.heads != 0) return config_error("n_embd must be a multiple of n_head");
  out.head_dim = out.hidden_size / out.heads;
  out.tie_word_embeddings = true;  // GPT2LMHeadModel always ties lm_head to wte
  const std::string activation = get_string(config, "activation_function", "gelu_new");
  if (activation != "gelu_new" && activation != "gelu_pytorch_tanh") {
    return make_error(ErrorKind::Unsupported, "config.json: gpt2 activation_function \"" + activation +
                                                  "\" (supported: gelu_new, gelu_pytorch_tanh)");
  }
  if (get_bool(config, "scale_attn_by_inverse_layer_idx", false)) {
    return make_error(ErrorKind::Unsupported, "config.json: scale_attn_by_inverse_layer_idx");
  }
  if (!get_bool(config, "scale_attn_weights", true)) {
    return make_error(ErrorKind::Unsupported, "config.json: scale_attn_weights = false");
  }
  return Status::ok();
}

Status parse_llama_family(const json& config, ModelConfig& out) {
  out.architecture = Architecture::Llama;
  WS_ASSIGN_OR_RETURN(out.vocab_size, get_size(config, "vocab_size"));
  WS_ASSIGN_OR_RETURN(out.hidden_size, get_size(config, "hidden_size"));
  WS_ASSIGN_OR_RETURN(out.layers, get_size(config, "num_hidden_layers", 0, kMaxLayers));
  WS_ASSIGN_OR_RETURN(out.heads, get_size(config, "num_attention_heads", 0, kMaxHeads));
  WS_ASSIGN_OR_RETURN(out.kv_heads, get_size(config, "num_key_value_heads", out.heads, kMaxHeads));
  WS_ASSIGN_OR_RETURN(out.intermediate_size, get_size(config, "intermediate_size"));
  WS_ASSIGN_OR_RETURN(out.max_positions, get_size(config, "max_position_embeddings", 2048));
  WS_ASSIGN_OR_RETURN(out.norm_eps, get_float(config, "rms_norm_eps", 1e-6f));
  WS_ASSIGN_OR_RETURN(out.rope_theta, get_float(config, "rope_theta", 10000.0f));
  if (out.hidden_size % out.heads != 0 && config.find("head_dim") == config.end()) {
    return config_error("hidden_size must be a multiple of num_attention_heads");
  }
  WS_ASSIGN_OR_RETURN(out.head_dim, get_size(config, "head_dim", out.hidden_size / out.heads, kMaxHeadDim));
  if (out.head_dim % 2 != 0) return config_error("head_dim must be even for rotary embeddings");
  if (out.heads % out.kv_heads != 0) return config_error("num_attention_heads must be a multiple of num_key_value_heads");
  out.tie_word_embeddings = get_bool(config, "tie_word_embeddings", false);
  const bool attention_bias = get_bool(config, "attention_bias", false);
  out.qkv_bias = out.model_type == "qwen2" || attention_bias;
  out.o_bias = out.model_type != "qwen2" && attention_bias;
  out.mlp_bias = get_bool(config, "mlp_bias", false);
  const std::string activation = get_string(config, "hidden_act", "silu");
  if (activation != "silu") {
    return make_error(ErrorKind::Unsupported, "config.json: hidden_act \"" + activation + "\" (supported: silu)");
  }
  if (out.model_type == "mistral" || (out.model_type == "qwen2" && get_bool(config, "use_sliding_window", false))) {
    auto window = config.find("sliding_window");
    if (window != config.end() && window->is_number_integer() && window->get<int64_t>() > 0) {
      out.sliding_window = static_cast<size_t>(window->get<int64_t>());
    }
  }
  return rope_frequencies(config, out);
}

}  // namespace

const char* supported_model_types() { return "gpt2, llama, mistral, qwen2"; }

Result<ModelConfig> parse_model_config(std::string_view config_json) {
  WS_ASSIGN_OR_RETURN(const json config, detail::parse_json_strict(config_json, ErrorKind::InvalidConfig, "config.json"));
  if (!config.is_object()) return config_error("not a JSON object");
  ModelConfig out;
  out.model_type = get_string(config, "model_type", "");
  if (out.model_type == "gpt2") {
    WS_TRY(parse_gpt2(config, out));
  } else if (out.model_type == "llama" || out.model_type == "mistral" || out.model_type == "qwen2") {
    WS_TRY(parse_llama_family(config, out));
  } else {
    return make_error(ErrorKind::Unsupported, "config.json: model_type \"" + out.model_type +
                                                  "\" is not supported (supported: " + supported_model_types() + ")");
  }
  const std::vector<int32_t> bos = get_ids(config, "bos_token_id");
  if (!bos.empty()) out.bos_token_id = bos[0];
  out.eos_token_ids = get_ids(config, "eos_token_id");
  return out;
}

namespace {
constexpr std::pair<WeightDType, const char*> kWeightDTypeNames[] = {
    {WeightDType::Keep, "keep"}, {WeightDType::F32, "f32"},   {WeightDType::F16, "f16"},
    {WeightDType::BF16, "bf16"}, {WeightDType::Q8_0, "q8_0"}, {WeightDType::Q4_0, "q4_0"},
    {WeightDType::Q4_1, "q4_1"}, {WeightDType::Q5_0, "q5_0"}, {WeightDType::Q5_1, "q5_1"},
    {WeightDType::Q4_K, "q4_k"}, {WeightDType::Q5_K, "q5_k"}, {WeightDType::Q6_K, "q6_k"},
};
}  // namespace

const char* weight_dtype_names() { return "keep, f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k"; }

const char* weight_dtype_name(WeightDType dtype) {
  for (const auto& [value, name] : kWeightDTypeNames) {
    if (value == dtype) return name;
  }
  return "?";
}

Result<WeightDType> parse_weight_dtype(std::string_view text) {
  for (const auto& [value, name] : kWeightDTypeNames) {
    if (text == name) return value;
  }
  return make_error(ErrorKind::InvalidArgument,
                    "weight dtype \"" + std::string(text) + "\" (expected one of " + weight_dtype_names() + ")");
}

}  // namespace ws
