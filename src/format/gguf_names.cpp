// llama.cpp's tensor names (gguf-py/gguf/constants.py, llama family) and the
// Hugging Face names the model layer asks for.
#include <cstring>

#include "format/gguf.h"

namespace ws {

namespace {

struct Rename {
  const char* gguf;
  const char* hf;
};
// Names under "blk.N.".
constexpr Rename kBlock[] = {
    {"attn_norm", "input_layernorm"},           {"ffn_norm", "post_attention_layernorm"},
    {"attn_q", "self_attn.q_proj"},             {"attn_k", "self_attn.k_proj"},
    {"attn_v", "self_attn.v_proj"},             {"attn_output", "self_attn.o_proj"},
    {"ffn_gate", "mlp.gate_proj"},              {"ffn_up", "mlp.up_proj"},
    {"ffn_down", "mlp.down_proj"},              {"attn_rot_embd", "self_attn.rotary_emb.inv_freq"},
    {"attn_q_norm", "self_attn.q_norm"},        {"attn_k_norm", "self_attn.k_norm"},  // qwen3
};
constexpr Rename kTop[] = {
    {"token_embd", "model.embed_tokens"},
    {"output_norm", "model.norm"},
    {"output", "lm_head"},
};

}  // namespace

std::string gguf_to_hf_name(std::string_view name) {
  // Split "<stem>.<suffix>" where suffix is "weight" or "bias".
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) return std::string(name);
  const std::string_view stem = name.substr(0, dot), suffix = name.substr(dot);
  if (stem.rfind("blk.", 0) == 0) {
    const size_t layer_end = stem.find('.', 4);
    if (layer_end == std::string_view::npos) return std::string(name);
    const std::string_view layer = stem.substr(4, layer_end - 4), part = stem.substr(layer_end + 1);
    if (layer.empty() || layer.find_first_not_of("0123456789") != std::string_view::npos) return std::string(name);
    for (const Rename& r : kBlock) {
      if (part == r.gguf) return "model.layers." + std::string(layer) + "." + r.hf + std::string(suffix);
    }
    return std::string(name);
  }
  for (const Rename& r : kTop) {
    if (stem == r.gguf) return r.hf + std::string(suffix);
  }
  return std::string(name);
}

std::string hf_to_gguf_name(std::string_view name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) return std::string(name);
  const std::string_view stem = name.substr(0, dot), suffix = name.substr(dot);
  constexpr std::string_view kLayers = "model.layers.";
  if (stem.rfind(kLayers, 0) == 0) {
    const size_t layer_end = stem.find('.', kLayers.size());
    if (layer_end == std::string_view::npos) return std::string(name);
    const std::string_view layer = stem.substr(kLayers.size(), layer_end - kLayers.size());
    const std::string_view part = stem.substr(layer_end + 1);
    if (layer.empty() || layer.find_first_not_of("0123456789") != std::string_view::npos) return std::string(name);
    for (const Rename& r : kBlock) {
      if (part == r.hf) return "blk." + std::string(layer) + "." + r.gguf + std::string(suffix);
    }
    return std::string(name);
  }
  for (const Rename& r : kTop) {
    if (stem == r.hf) return r.gguf + std::string(suffix);
  }
  return std::string(name);
}

}  // namespace ws
