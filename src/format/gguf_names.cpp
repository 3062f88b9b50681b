// llama.cpp's tensor names (gguf-py/gguf/constants.py and tensor_mapping.py)
// and the Hugging Face names the model layer asks for. A few names mean
// different tensors per architecture ("ffn_norm" is Gemma 2/3's
// pre-feedforward norm; Phi-3's "ffn_up" is its fused gate_up): those are
// looked up per architecture first.
#include <cstring>
#include <iterator>

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
// Gemma 2 and 3: sandwich norms around attention and the MLP.
constexpr Rename kGemmaSandwich[] = {
    {"post_attention_norm", "post_attention_layernorm"},
    {"ffn_norm", "pre_feedforward_layernorm"},
    {"post_ffw_norm", "post_feedforward_layernorm"},
};
// Phi-3: fused projections.
constexpr Rename kPhi3[] = {
    {"attn_qkv", "self_attn.qkv_proj"},
    {"ffn_up", "mlp.gate_up_proj"},
};

struct ArchRenames {
  const Rename* begin;
  const Rename* end;
};
ArchRenames arch_renames(std::string_view arch) {
  if (arch == "gemma2" || arch == "gemma3") return {std::begin(kGemmaSandwich), std::end(kGemmaSandwich)};
  if (arch == "phi3") return {std::begin(kPhi3), std::end(kPhi3)};
  return {nullptr, nullptr};
}

// The block part's other name: `from` (gguf or hf side) -> the other side.
const char* rename_block_part(std::string_view part, std::string_view arch, bool to_hf) {
  const ArchRenames own = arch_renames(arch);
  for (const Rename* r = own.begin; r != own.end; ++r) {
    if (part == (to_hf ? r->gguf : r->hf)) return to_hf ? r->hf : r->gguf;
  }
  for (const Rename& r : kBlock) {
    if (part == (to_hf ? r.gguf : r.hf)) return to_hf ? r.hf : r.gguf;
  }
  return nullptr;
}

constexpr Rename kTop[] = {
    {"token_embd", "model.embed_tokens"},
    {"output_norm", "model.norm"},
    {"output", "lm_head"},
};

}  // namespace

std::string gguf_to_hf_name(std::string_view name, std::string_view arch) {
  // Split "<stem>.<suffix>" where suffix is "weight" or "bias".
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) return std::string(name);
  const std::string_view stem = name.substr(0, dot), suffix = name.substr(dot);
  if (stem.rfind("blk.", 0) == 0) {
    const size_t layer_end = stem.find('.', 4);
    if (layer_end == std::string_view::npos) return std::string(name);
    const std::string_view layer = stem.substr(4, layer_end - 4), part = stem.substr(layer_end + 1);
    if (layer.empty() || layer.find_first_not_of("0123456789") != std::string_view::npos) return std::string(name);
    const char* hf = rename_block_part(part, arch, /*to_hf=*/true);
    return hf ? "model.layers." + std::string(layer) + "." + hf + std::string(suffix) : std::string(name);
  }
  for (const Rename& r : kTop) {
    if (stem == r.gguf) return r.hf + std::string(suffix);
  }
  return std::string(name);
}

std::string hf_to_gguf_name(std::string_view name, std::string_view arch) {
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
    const char* gguf = rename_block_part(part, arch, /*to_hf=*/false);
    return gguf ? "blk." + std::string(layer) + "." + gguf + std::string(suffix) : std::string(name);
  }
  for (const Rename& r : kTop) {
    if (stem == r.hf) return r.gguf + std::string(suffix);
  }
  return std::string(name);
}

}  // namespace ws
