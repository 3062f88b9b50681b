// config.json -> ModelConfig. Field names follow transformers' config classes
// (GPT2Config, LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config,
// GemmaConfig, Gemma2Config, Gemma3TextConfig, Phi3Config) and their defaults,
// in both the transformers 4 spelling (rope_theta, rope_scaling) and 5's
// (rope_parameters, layer_types).
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "format/gguf.h"
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

// transformers' rope init: inv_freq = 1 / theta^(2i/d) in f32 over the
// rotary dims, then the optional scaling `params` (rope_scaling, or one
// rope_parameters set): "linear" divides by factor; "llama3" as in
// _compute_llama3_parameters; "longrope"/"su" (Phi-3) divides by
// short_factor here and fills rope_long_inv_freq with long_factor, as
// _compute_longrope_parameters.
Status rope_frequencies(const json& config, const json* params, float theta, ModelConfig& out,
                        std::vector<float>& inv_freq, bool allow_longrope) {
  const size_t half = out.rotary_dim / 2;
  std::vector<float> base(half);
  for (size_t i = 0; i < half; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(out.rotary_dim);
    base[i] = std::pow(theta, exponent);
  }
  inv_freq.resize(half);
  for (size_t i = 0; i < half; ++i) inv_freq[i] = 1.0f / base[i];
  if (params == nullptr || params->is_null()) return Status::ok();
  if (!params->is_object()) return config_error("\"rope_scaling\" must be an object or null");
  const std::string type = get_string(*params, "rope_type", get_string(*params, "type", "default"));
  if (type == "default") return Status::ok();
  if (type == "linear") {
    WS_ASSIGN_OR_RETURN(const float factor, get_float(*params, "factor", 1.0f));
    for (float& f : inv_freq) f /= factor;
    return Status::ok();
  }
  if (type == "llama3") {
    WS_ASSIGN_OR_RETURN(const float factor, get_float(*params, "factor", 1.0f));
    WS_ASSIGN_OR_RETURN(const float low, get_float(*params, "low_freq_factor", 1.0f));
    WS_ASSIGN_OR_RETURN(const float high, get_float(*params, "high_freq_factor", 4.0f));
    WS_ASSIGN_OR_RETURN(const float original, get_float(*params, "original_max_position_embeddings", 8192.0f));
    if (high <= low) return config_error("rope_scaling: high_freq_factor must exceed low_freq_factor");
    const float low_wavelen = original / low, high_wavelen = original / high;
    for (float& f : inv_freq) {
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
  if ((type == "longrope" || type == "su") && allow_longrope) {
    WS_ASSIGN_OR_RETURN(const size_t top_level,
                        get_size(config, "original_max_position_embeddings", out.max_positions));
    WS_ASSIGN_OR_RETURN(const size_t original, get_size(*params, "original_max_position_embeddings", top_level));
    std::vector<float> factors[2];
    const char* keys[2] = {"short_factor", "long_factor"};
    for (int k = 0; k < 2; ++k) {
      auto it = params->find(keys[k]);
      if (it == params->end() || !it->is_array() || it->size() != half) {
        return config_error(std::string("rope_scaling: \"") + keys[k] + "\" must be an array of " +
                            std::to_string(half) + " numbers");
      }
      for (const json& v : *it) {
        if (!v.is_number() || !(v.get<double>() > 0)) return config_error(std::string("rope_scaling: ") + keys[k]);
        factors[k].push_back(v.get<float>());
      }
    }
    for (size_t i = 0; i < half; ++i) inv_freq[i] = 1.0f / (factors[0][i] * base[i]);
    out.rope_long_inv_freq.resize(half);
    for (size_t i = 0; i < half; ++i) out.rope_long_inv_freq[i] = 1.0f / (factors[1][i] * base[i]);
    out.rope_original_max_positions = original;
    // factor: given, else max_position_embeddings / original (Phi-3's rule).
    const double factor = params->contains("factor") && (*params)["factor"].is_number()
                              ? (*params)["factor"].get<double>()
                              : static_cast<double>(out.max_positions) / static_cast<double>(original);
    auto attention = params->find("attention_factor");
    if (attention != params->end() && attention->is_number()) {
      out.rope_attention_factor = attention->get<float>();
    } else {
      out.rope_attention_factor =
          factor <= 1.0 ? 1.0f
                        : static_cast<float>(std::sqrt(1.0 + std::log(factor) / std::log(static_cast<double>(original))));
    }
    return Status::ok();
  }
  return make_error(ErrorKind::Unsupported, "config.json: rope scaling type \"" + type +
                                                "\" (supported: linear, llama3, longrope)");
}

// The rope of every layer: transformers 5 writes "rope_parameters" (one set,
// or one per layer type), earlier ones "rope_theta" + "rope_scaling" (and
// Gemma 3 "rope_local_base_freq" for its sliding layers).
Status rope_setup(const json& config, ModelConfig& out, float default_theta, float default_local_theta) {
  float partial = 1.0f;
  auto rp = config.find("rope_parameters");
  const bool per_type = rp != config.end() && rp->is_object() &&
                        (rp->contains("full_attention") || rp->contains("sliding_attention"));
  const json* global = nullptr;
  const json* local = nullptr;
  if (rp != config.end() && rp->is_object()) {
    global = per_type ? (rp->contains("full_attention") ? &(*rp)["full_attention"] : nullptr) : &*rp;
    local = per_type && rp->contains("sliding_attention") ? &(*rp)["sliding_attention"] : nullptr;
  } else {
    auto scaling = config.find("rope_scaling");
    if (scaling != config.end()) global = &*scaling;
  }
  WS_ASSIGN_OR_RETURN(partial, get_float(config, "partial_rotary_factor", 1.0f));
  if (global && global->is_object()) {
    WS_ASSIGN_OR_RETURN(partial, get_float(*global, "partial_rotary_factor", partial));
  }
  if (partial > 1.0f) return config_error("partial_rotary_factor must be at most 1");
  out.rotary_dim = static_cast<size_t>(static_cast<float>(out.head_dim) * partial);
  if (out.rotary_dim == 0 || out.rotary_dim % 2 != 0) return config_error("the rotary dimension must be even and positive");
  WS_ASSIGN_OR_RETURN(out.rope_theta, get_float(config, "rope_theta", default_theta));
  if (global && global->is_object()) {
    WS_ASSIGN_OR_RETURN(out.rope_theta, get_float(*global, "rope_theta", out.rope_theta));
  }
  WS_TRY(rope_frequencies(config, global, out.rope_theta, out, out.rope_inv_freq, true));
  if (default_local_theta > 0) {
    WS_ASSIGN_OR_RETURN(float local_theta, get_float(config, "rope_local_base_freq", default_local_theta));
    if (local && local->is_object()) {
      WS_ASSIGN_OR_RETURN(local_theta, get_float(*local, "rope_theta", local_theta));
    }
    WS_TRY(rope_frequencies(config, local, local_theta, out, out.rope_local_inv_freq, false));
  }
  return Status::ok();
}

// Which layers attend within the window: "layer_types" when config.json has
// it (transformers 5 writes it), else each family's rule.
Status sliding_layers(const json& config, ModelConfig& out) {
  out.layer_sliding.assign(out.layers, false);
  auto window = config.find("sliding_window");
  const bool use = out.model_type == "qwen2" || out.model_type == "qwen3" ? get_bool(config, "use_sliding_window", false)
                                                                           : true;
  if (!use || window == config.end() || !window->is_number_integer() || window->get<int64_t>() <= 0) return Status::ok();
  out.sliding_window = static_cast<size_t>(window->get<int64_t>());
  auto types = config.find("layer_types");
  if (types != config.end() && types->is_array()) {
    if (types->size() != out.layers) return config_error("\"layer_types\" must have num_hidden_layers entries");
    for (size_t i = 0; i < out.layers; ++i) {
      const json& t = (*types)[i];
      if (!t.is_string() || (t != "sliding_attention" && t != "full_attention")) {
        return make_error(ErrorKind::Unsupported, "config.json: layer_types entry " + echo(t) +
                                                      " (supported: sliding_attention, full_attention)");
      }
      out.layer_sliding[i] = t == "sliding_attention";
    }
    return Status::ok();
  }
  WS_ASSIGN_OR_RETURN(const size_t max_window_layers, get_size(config, "max_window_layers", 28, kMaxLayers));
  WS_ASSIGN_OR_RETURN(const size_t pattern, get_size(config, "sliding_window_pattern", 6, kMaxLayers));
  for (size_t i = 0; i < out.layers; ++i) {
    if (out.model_type == "qwen2" || out.model_type == "qwen3") {
      out.layer_sliding[i] = i >= max_window_layers;
    } else if (out.model_type == "gemma2") {
      out.layer_sliding[i] = i % 2 == 0;
    } else if (out.model_type == "gemma3_text") {
      out.layer_sliding[i] = (i + 1) % pattern != 0;
    } else {
      out.layer_sliding[i] = true;  // mistral, phi3: every layer
    }
  }
  return Status::ok();
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

bool is_gemma(const std::string& type) {
  return type == "gemma" || type == "gemma2" || type == "gemma3_text";
}

// Optional positive float: 0 when absent or null.
Result<float> get_optional_float(const json& config, const char* key) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return 0.0f;
  return get_float(config, key, 0.0f);
}

// Llama and the families written as switches on its definition: Mistral,
// Qwen2/3, Gemma 1/2/3 (text), Phi-3.
Status parse_llama_family(const json& config, ModelConfig& out) {
  out.architecture = Architecture::Llama;
  const std::string& type = out.model_type;
  const bool gemma = is_gemma(type);
  WS_ASSIGN_OR_RETURN(out.vocab_size, get_size(config, "vocab_size"));
  WS_ASSIGN_OR_RETURN(out.hidden_size, get_size(config, "hidden_size"));
  WS_ASSIGN_OR_RETURN(out.layers, get_size(config, "num_hidden_layers", 0, kMaxLayers));
  WS_ASSIGN_OR_RETURN(out.heads, get_size(config, "num_attention_heads", 0, kMaxHeads));
  WS_ASSIGN_OR_RETURN(out.kv_heads, get_size(config, "num_key_value_heads", out.heads, kMaxHeads));
  WS_ASSIGN_OR_RETURN(out.intermediate_size, get_size(config, "intermediate_size"));
  WS_ASSIGN_OR_RETURN(out.max_positions, get_size(config, "max_position_embeddings", 2048));
  WS_ASSIGN_OR_RETURN(out.norm_eps, get_float(config, "rms_norm_eps", 1e-6f));
  if (out.hidden_size % out.heads != 0 && config.find("head_dim") == config.end()) {
    return config_error("hidden_size must be a multiple of num_attention_heads");
  }
  WS_ASSIGN_OR_RETURN(out.head_dim, get_size(config, "head_dim", out.hidden_size / out.heads, kMaxHeadDim));
  if (out.head_dim % 2 != 0) return config_error("head_dim must be even for rotary embeddings");
  if (out.heads % out.kv_heads != 0) return config_error("num_attention_heads must be a multiple of num_key_value_heads");
  // Gemma ties its head by default (GemmaConfig tie_word_embeddings=True).
  out.tie_word_embeddings = get_bool(config, "tie_word_embeddings", gemma);
  const bool attention_bias = get_bool(config, "attention_bias", false);
  out.qkv_bias = type == "qwen2" || attention_bias;
  out.o_bias = type != "qwen2" && attention_bias;
  out.mlp_bias = get_bool(config, "mlp_bias", false);
  out.qk_norm = type == "qwen3" || type == "gemma3_text";
  out.fused_projections = type == "phi3";
  if (out.fused_projections) out.qkv_bias = out.o_bias = out.mlp_bias = false;  // Phi3's Linear layers have none
  if (gemma) {
    out.embedding_scale = std::sqrt(static_cast<float>(out.hidden_size));
    // A Gemma GGUF's norms already hold 1 + w (format/gguf.h).
    out.norm_weight_offset = get_bool(config, kNormWeightsPlusOne, false) ? 0.0f : 1.0f;
    out.sandwich_norms = type != "gemma";
  }
  // Gemma names it hidden_activation (hidden_act in old configs, which
  // transformers overrides with gelu_pytorch_tanh).
  const std::string activation =
      gemma ? get_string(config, "hidden_activation", "gelu_pytorch_tanh") : get_string(config, "hidden_act", "silu");
  if (activation == "silu") {
    out.mlp_activation = MlpActivation::Silu;
  } else if (activation == "gelu_pytorch_tanh" || (gemma && activation == "gelu")) {
    out.mlp_activation = MlpActivation::GeluTanh;
  } else {
    return make_error(ErrorKind::Unsupported,
                      "config.json: hidden activation \"" + activation + "\" (supported: silu, gelu_pytorch_tanh)");
  }
  if (type == "gemma2" || type == "gemma3_text") {
    WS_ASSIGN_OR_RETURN(const float scalar, get_float(config, "query_pre_attn_scalar", 256.0f));
    out.attention_scale = 1.0f / std::sqrt(scalar);
    WS_ASSIGN_OR_RETURN(out.attn_logit_softcap, get_optional_float(config, "attn_logit_softcapping"));
    WS_ASSIGN_OR_RETURN(out.final_logit_softcap, get_optional_float(config, "final_logit_softcapping"));
  }
  if (type == "gemma3_text" && get_bool(config, "use_bidirectional_attention", false)) {
    return make_error(ErrorKind::Unsupported, "config.json: use_bidirectional_attention (not a causal LM)");
  }
  WS_TRY(sliding_layers(config, out));
  const bool gemma3 = type == "gemma3_text";
  return rope_setup(config, out, gemma3 ? 1000000.0f : 10000.0f, gemma3 ? 10000.0f : 0.0f);
}

}  // namespace

const char* supported_model_types() {
  return "gpt2, llama, mistral, qwen2, qwen3, gemma, gemma2, gemma3_text, phi3";
}

Result<ModelConfig> parse_model_config(std::string_view config_json) {
  WS_ASSIGN_OR_RETURN(const json config, detail::parse_json_strict(config_json, ErrorKind::InvalidConfig, "config.json"));
  if (!config.is_object()) return config_error("not a JSON object");
  ModelConfig out;
  out.model_type = get_string(config, "model_type", "");
  if (out.model_type == "gpt2") {
    WS_TRY(parse_gpt2(config, out));
  } else if (out.model_type == "llama" || out.model_type == "mistral" || out.model_type == "qwen2" ||
             out.model_type == "qwen3" || is_gemma(out.model_type) || out.model_type == "phi3") {
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

std::optional<DType> weight_dtype_storage(WeightDType dtype) {
  switch (dtype) {
    case WeightDType::Keep: return std::nullopt;
    case WeightDType::F32: return DType::F32;
    case WeightDType::F16: return DType::F16;
    case WeightDType::BF16: return DType::BF16;
    case WeightDType::Q8_0: return DType::Q8_0;
    case WeightDType::Q4_0: return DType::Q4_0;
    case WeightDType::Q4_1: return DType::Q4_1;
    case WeightDType::Q5_0: return DType::Q5_0;
    case WeightDType::Q5_1: return DType::Q5_1;
    case WeightDType::Q4_K: return DType::Q4_K;
    case WeightDType::Q5_K: return DType::Q5_K;
    case WeightDType::Q6_K: return DType::Q6_K;
  }
  return std::nullopt;
}

}  // namespace ws
