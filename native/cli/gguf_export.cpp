// Architecture metadata and tensor names for GGUF output, as
// convert_hf_to_gguf.py writes them (GPT2Model, LlamaModel, Qwen2Model, Qwen3Model).
#include "cli/gguf_export.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "format/gguf.h"

namespace ws::cli {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

const char* gguf_architecture(const ModelConfig& config) {
  if (config.architecture == Architecture::Gpt2) return "gpt2";
  if (config.model_type == "qwen2" || config.model_type == "qwen3") return config.model_type.c_str();
  return "llama";
}

// GPT-2 names (with or without the "transformer." prefix) -> llama.cpp's.
struct Gpt2Rename {
  const char* hf;
  const char* gguf;
  bool conv1d;  // a Conv1D weight, stored [in, out]
};
constexpr Gpt2Rename kGpt2Block[] = {
    {"ln_1.weight", "attn_norm.weight", false},          {"ln_1.bias", "attn_norm.bias", false},
    {"attn.c_attn.weight", "attn_qkv.weight", true},     {"attn.c_attn.bias", "attn_qkv.bias", false},
    {"attn.c_proj.weight", "attn_output.weight", true},  {"attn.c_proj.bias", "attn_output.bias", false},
    {"ln_2.weight", "ffn_norm.weight", false},           {"ln_2.bias", "ffn_norm.bias", false},
    {"mlp.c_fc.weight", "ffn_up.weight", true},          {"mlp.c_fc.bias", "ffn_up.bias", false},
    {"mlp.c_proj.weight", "ffn_down.weight", true},      {"mlp.c_proj.bias", "ffn_down.bias", false},
};
constexpr Gpt2Rename kGpt2Top[] = {
    {"wte.weight", "token_embd.weight", false},
    {"wpe.weight", "position_embd.weight", false},
    {"ln_f.weight", "output_norm.weight", false},
    {"ln_f.bias", "output_norm.bias", false},
};

// The llama.cpp name of a GPT-2 tensor, or "" when it has none.
std::string gpt2_name(std::string_view name, bool& conv1d) {
  conv1d = false;
  if (name.rfind("transformer.", 0) == 0) name.remove_prefix(12);
  if (name.rfind("h.", 0) == 0) {
    const size_t dot = name.find('.', 2);
    if (dot == std::string_view::npos) return "";
    const std::string_view layer = name.substr(2, dot - 2), part = name.substr(dot + 1);
    if (layer.empty() || layer.find_first_not_of("0123456789") != std::string_view::npos) return "";
    for (const Gpt2Rename& r : kGpt2Block) {
      if (part == r.hf) {
        conv1d = r.conv1d;
        return "blk." + std::string(layer) + "." + r.gguf;
      }
    }
    return "";
  }
  for (const Gpt2Rename& r : kGpt2Top) {
    if (name == r.hf) return r.gguf;
  }
  return "";
}

// Checkpoint entries llama.cpp's converter drops: causal-mask buffers, rotary
// frequencies it recomputes, and lm_head when it is the embedding.
bool dropped(const ModelConfig& config, const std::string& name) {
  if (ends_with(name, ".attn.bias") || ends_with(name, ".attn.masked_bias")) {
    return config.architecture == Architecture::Gpt2;
  }
  if (ends_with(name, "rotary_emb.inv_freq")) return true;
  return name == "lm_head.weight" && (config.tie_word_embeddings || config.architecture == Architecture::Gpt2);
}

}  // namespace

Result<GgufMetadata> gguf_model_metadata(std::string_view config_json, const std::string& model_name) {
  WS_ASSIGN_OR_RETURN(ModelConfig config, parse_model_config(config_json));
  // The families written as llama.cpp's own architectures that we do not
  // write yet (gemma*, phi3: their own keys, +1 norms, rope factor tensors)
  // are refused, never written as a "llama" file that would load and answer wrongly.
  if (config.architecture != Architecture::Gpt2 && config.model_type != "llama" && config.model_type != "mistral" &&
      config.model_type != "qwen2" && config.model_type != "qwen3") {
    return make_error(ErrorKind::Unsupported, "convert to GGUF: model_type \"" + config.model_type +
                                                  "\" (supported: gpt2, llama, mistral, qwen2, qwen3)");
  }
  const nlohmann::json raw = nlohmann::json::parse(config_json, nullptr, false);
  float linear_rope_factor = 0;
  // transformers 4 writes rope_scaling; 5 writes rope_parameters (with
  // rope_type "default" when unscaled).
  const char* key = raw.is_object() && raw.contains("rope_scaling") && raw["rope_scaling"].is_object() ? "rope_scaling"
                    : raw.is_object() && raw.contains("rope_parameters") && raw["rope_parameters"].is_object()
                        ? "rope_parameters"
                        : nullptr;
  if (key) {
    const nlohmann::json& scaling = raw[key];
    const std::string type = scaling.value("rope_type", scaling.value("type", std::string("default")));
    if (type != "default" && type != "linear") {
      // llama.cpp takes llama3 scaling as a rope_freqs.weight tensor, which we do not write yet.
      return make_error(ErrorKind::Unsupported, "config.json: rope_scaling type \"" + type +
                                                    "\" cannot be written to GGUF yet (supported: linear)");
    }
    if (type == "linear") linear_rope_factor = scaling.value("factor", 1.0f);
  }

  const std::string arch = gguf_architecture(config);
  GgufMetadata out;
  auto u32 = [&](const std::string& key, size_t value) { out.emplace_back(arch + "." + key, gguf_u32(static_cast<uint32_t>(value))); };
  auto f32 = [&](const std::string& key, float value) { out.emplace_back(arch + "." + key, gguf_f32(value)); };
  out.emplace_back("general.architecture", gguf_string(arch));
  out.emplace_back("general.name", gguf_string(model_name));
  out.emplace_back("general.alignment", gguf_u32(32));
  u32("context_length", config.max_positions);
  u32("embedding_length", config.hidden_size);
  u32("feed_forward_length", config.intermediate_size);
  u32("block_count", config.layers);
  u32("attention.head_count", config.heads);
  u32("vocab_size", config.vocab_size);
  if (config.architecture == Architecture::Gpt2) {
    f32("attention.layer_norm_epsilon", config.norm_eps);
    return out;
  }
  u32("attention.head_count_kv", config.kv_heads);
  f32("attention.layer_norm_rms_epsilon", config.norm_eps);
  f32("rope.freq_base", config.rope_theta);
  u32("rope.dimension_count", config.head_dim);
  if (config.head_dim * config.heads != config.hidden_size) {
    u32("attention.key_length", config.head_dim);
    u32("attention.value_length", config.head_dim);
  }
  // A window on every layer (Mistral, Phi-3): without it a reader attends to
  // the whole context and continues differently once a prompt passes the
  // window (tests/model/trained_quantized_test.cpp). llama.cpp writes this key
  // for its windowed architectures; src/format/gguf_config.cpp reads it back.
  if (config.sliding_window != 0 &&
      std::all_of(config.layer_sliding.begin(), config.layer_sliding.end(), [](bool s) { return s; })) {
    u32("attention.sliding_window", config.sliding_window);
  }
  if (linear_rope_factor != 0) {
    out.emplace_back(arch + ".rope.scaling.type", gguf_string("linear"));
    f32("rope.scaling.factor", linear_rope_factor);
  }
  return out;
}

Result<std::vector<GgufTensorMapping>> gguf_tensor_mappings(const ModelConfig& config, const Checkpoint& checkpoint) {
  const bool gpt2 = config.architecture == Architecture::Gpt2;
  // Only llama.cpp's "llama" architecture uses the interleaved rotary rows.
  const bool interleave = !gpt2 && std::string(gguf_architecture(config)) == "llama";
  std::vector<GgufTensorMapping> out;
  std::vector<std::string> unknown;
  for (const TensorInfo& t : checkpoint.tensors) {
    if (dropped(config, t.name)) continue;
    GgufTensorMapping m;
    m.source = &t;
    m.shape = t.shape;
    bool conv1d = false;
    m.gguf_name = gpt2 ? gpt2_name(t.name, conv1d) : hf_to_gguf_name(t.name);
    if (m.gguf_name.empty() || m.gguf_name == t.name) {
      unknown.push_back(t.name);
      continue;
    }
    if (conv1d && t.shape.size() == 2) {
      m.rows = GgufRows::Transpose;
      m.shape = {t.shape[1], t.shape[0]};
    }
    if (interleave && !t.shape.empty() && t.shape.size() <= 2) {
      const bool q = ends_with(m.gguf_name, ".attn_q.weight") || ends_with(m.gguf_name, ".attn_q.bias");
      const bool k = ends_with(m.gguf_name, ".attn_k.weight") || ends_with(m.gguf_name, ".attn_k.bias");
      if (q || k) {
        m.rows = GgufRows::InterleaveHeads;
        m.heads = q ? config.heads : config.kv_heads;
        if (m.heads == 0 || t.shape[0] % m.heads != 0 || (t.shape[0] / m.heads) % 2 != 0) {
          return make_error(ErrorKind::ShapeMismatch, t.name + ": " + std::to_string(t.shape[0]) +
                                                          " rows do not split into " + std::to_string(m.heads) +
                                                          " heads of two rotary halves");
        }
      }
    }
    out.push_back(std::move(m));
  }
  if (!unknown.empty()) {
    std::string list;
    for (const std::string& name : unknown) list += (list.empty() ? "" : ", ") + name;
    return make_error(ErrorKind::Unsupported, "no llama.cpp name for " + std::to_string(unknown.size()) +
                                                  " tensor(s) of this " + config.model_type + " checkpoint: " + list);
  }
  return out;
}

uint32_t gguf_file_type(DType dtype) {
  switch (dtype) {  // llama_ftype (llama.h)
    case DType::F32: return 0;
    case DType::F16: return 1;
    case DType::Q4_0: return 2;
    case DType::Q4_1: return 3;
    case DType::Q8_0: return 7;
    case DType::Q5_0: return 8;
    case DType::Q5_1: return 9;
    case DType::Q4_K: return 15;  // Q4_K_M
    case DType::Q5_K: return 17;  // Q5_K_M
    case DType::Q6_K: return 18;
    case DType::BF16: return 32;
    default: return 0;
  }
}

}  // namespace ws::cli
