// Llama family (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM):
// RMSNorm, rotary embeddings in the rotate_half layout, grouped-query
// attention, SwiGLU MLP, lm_head tied or not per tie_word_embeddings.
#include <cmath>

#include "model/architectures.h"

namespace ws::detail {
namespace {

struct LlamaBlock {
  WeightTensor *input_norm, *q, *k, *v, *o, *q_bias = nullptr, *k_bias = nullptr, *v_bias = nullptr,
                                            *o_bias = nullptr;
  WeightTensor *post_norm, *gate, *up, *down, *gate_bias = nullptr, *up_bias = nullptr, *down_bias = nullptr;
};

const float* f32_or_null(const WeightTensor* t) { return t ? t->f32() : nullptr; }

class LlamaModel final : public Model {
 public:
  LlamaModel(const ModelConfig& config, Backend& backend) : Model(config, backend) {}

  bool tolerates_extra_tensor(const std::string& name) const override {
    const std::string suffix = "rotary_emb.inv_freq";
    if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return true;
    }
    return config_.tie_word_embeddings && name == "lm_head.weight";
  }

  std::vector<WeightTensor*> linear_only_weights() override {
    std::vector<WeightTensor*> out;
    for (const LlamaBlock& b : blocks_) out.insert(out.end(), {b.q, b.k, b.v, b.o, b.gate, b.up, b.down});
    if (lm_head_ && lm_head_ != embed_) out.push_back(lm_head_);
    return out;
  }

 protected:
  Status declare_parameters() override {
    const uint64_t d = config_.hidden_size, inner = config_.intermediate_size;
    const uint64_t q_dim = config_.heads * config_.head_dim, kv_dim = config_.kv_heads * config_.head_dim;
    WS_ASSIGN_OR_RETURN(embed_, add_parameter("model.embed_tokens.weight", {config_.vocab_size, d},
                                              config_.tie_word_embeddings ? Role::OutputHead : Role::Matrix));
    blocks_.resize(config_.layers);
    for (size_t i = 0; i < config_.layers; ++i) {
      const std::string p = "model.layers." + std::to_string(i) + ".";
      LlamaBlock& b = blocks_[i];
      WS_ASSIGN_OR_RETURN(b.input_norm, add_parameter(p + "input_layernorm.weight", {d}, Role::Vector));
      WS_ASSIGN_OR_RETURN(b.q, add_parameter(p + "self_attn.q_proj.weight", {q_dim, d}, Role::Matrix));
      WS_ASSIGN_OR_RETURN(b.k, add_parameter(p + "self_attn.k_proj.weight", {kv_dim, d}, Role::Matrix));
      WS_ASSIGN_OR_RETURN(b.v, add_parameter(p + "self_attn.v_proj.weight", {kv_dim, d}, Role::Matrix));
      WS_ASSIGN_OR_RETURN(b.o, add_parameter(p + "self_attn.o_proj.weight", {d, q_dim}, Role::Matrix));
      if (config_.qkv_bias) {
        WS_ASSIGN_OR_RETURN(b.q_bias, add_parameter(p + "self_attn.q_proj.bias", {q_dim}, Role::Vector));
        WS_ASSIGN_OR_RETURN(b.k_bias, add_parameter(p + "self_attn.k_proj.bias", {kv_dim}, Role::Vector));
        WS_ASSIGN_OR_RETURN(b.v_bias, add_parameter(p + "self_attn.v_proj.bias", {kv_dim}, Role::Vector));
      }
      if (config_.o_bias) {
        WS_ASSIGN_OR_RETURN(b.o_bias, add_parameter(p + "self_attn.o_proj.bias", {d}, Role::Vector));
      }
      WS_ASSIGN_OR_RETURN(b.post_norm, add_parameter(p + "post_attention_layernorm.weight", {d}, Role::Vector));
      WS_ASSIGN_OR_RETURN(b.gate, add_parameter(p + "mlp.gate_proj.weight", {inner, d}, Role::Matrix));
      WS_ASSIGN_OR_RETURN(b.up, add_parameter(p + "mlp.up_proj.weight", {inner, d}, Role::Matrix));
      WS_ASSIGN_OR_RETURN(b.down, add_parameter(p + "mlp.down_proj.weight", {d, inner}, Role::Matrix));
      if (config_.mlp_bias) {
        WS_ASSIGN_OR_RETURN(b.gate_bias, add_parameter(p + "mlp.gate_proj.bias", {inner}, Role::Vector));
        WS_ASSIGN_OR_RETURN(b.up_bias, add_parameter(p + "mlp.up_proj.bias", {inner}, Role::Vector));
        WS_ASSIGN_OR_RETURN(b.down_bias, add_parameter(p + "mlp.down_proj.bias", {d}, Role::Vector));
      }
    }
    WS_ASSIGN_OR_RETURN(norm_, add_parameter("model.norm.weight", {d}, Role::Vector));
    if (config_.tie_word_embeddings) {
      lm_head_ = embed_;
    } else {
      WS_ASSIGN_OR_RETURN(lm_head_, add_parameter("lm_head.weight", {config_.vocab_size, d}, Role::OutputHead));
    }
    return Status::ok();
  }

  Status forward_layers(const int32_t* tokens, const int32_t* positions, size_t n, KVCache& cache,
                        float* logits) override {
    const size_t d = config_.hidden_size, inner = config_.intermediate_size;
    const size_t q_dim = config_.heads * config_.head_dim, kv_dim = cache.row;
    WS_ASSIGN_OR_RETURN(float* x, scratch(0, n * d));
    WS_ASSIGN_OR_RETURN(float* h, scratch(1, n * d));
    WS_ASSIGN_OR_RETURN(float* q, scratch(2, n * q_dim));
    WS_ASSIGN_OR_RETURN(float* k, scratch(3, n * kv_dim));
    WS_ASSIGN_OR_RETURN(float* v, scratch(4, n * kv_dim));
    WS_ASSIGN_OR_RETURN(float* att, scratch(5, n * q_dim));
    WS_ASSIGN_OR_RETURN(float* gate, scratch(6, n * inner));
    WS_ASSIGN_OR_RETURN(float* up, scratch(7, n * inner));
    backend_.embedding(*embed_, tokens, n, x);
    const AttentionShape shape{config_.heads, config_.kv_heads, config_.head_dim};
    const float scale = 1.0f / std::sqrt(static_cast<float>(config_.head_dim));
    const float* inv_freq = config_.rope_inv_freq.data();
    for (size_t layer = 0; layer < config_.layers; ++layer) {
      const LlamaBlock& b = blocks_[layer];
      // Attention block.
      backend_.rms_norm(x, n, d, b.input_norm->f32(), config_.norm_eps, h);
      backend_.linear(h, n, matrix_view(*b.q, WeightLayout::OutIn), f32_or_null(b.q_bias), q);
      backend_.linear(h, n, matrix_view(*b.k, WeightLayout::OutIn), f32_or_null(b.k_bias), k);
      backend_.linear(h, n, matrix_view(*b.v, WeightLayout::OutIn), f32_or_null(b.v_bias), v);
      backend_.rotary(q, n, config_.heads, config_.head_dim, positions, inv_freq);
      backend_.rotary(k, n, config_.kv_heads, config_.head_dim, positions, inv_freq);
      float* keys = cache.layer_keys(layer);
      float* values = cache.layer_values(layer);
      backend_.copy_rows(k, kv_dim, n, kv_dim, positions, keys);
      backend_.copy_rows(v, kv_dim, n, kv_dim, positions, values);
      backend_.attention(q, n, positions, keys, values, shape, scale, att);
      backend_.linear(att, n, matrix_view(*b.o, WeightLayout::OutIn), f32_or_null(b.o_bias), h);
      backend_.add(x, h, n * d, x);
      // SwiGLU MLP block.
      backend_.rms_norm(x, n, d, b.post_norm->f32(), config_.norm_eps, h);
      backend_.linear(h, n, matrix_view(*b.gate, WeightLayout::OutIn), f32_or_null(b.gate_bias), gate);
      backend_.linear(h, n, matrix_view(*b.up, WeightLayout::OutIn), f32_or_null(b.up_bias), up);
      backend_.silu_mul(gate, up, n * inner, gate);
      backend_.linear(gate, n, matrix_view(*b.down, WeightLayout::OutIn), f32_or_null(b.down_bias), h);
      backend_.add(x, h, n * d, x);
    }
    const float* last = x + (n - 1) * d;
    backend_.rms_norm(last, 1, d, norm_->f32(), config_.norm_eps, h);
    backend_.linear(h, 1, matrix_view(*lm_head_, WeightLayout::OutIn), nullptr, logits);
    return Status::ok();
  }

 private:
  WeightTensor *embed_ = nullptr, *norm_ = nullptr, *lm_head_ = nullptr;
  std::vector<LlamaBlock> blocks_;
};

}  // namespace

std::unique_ptr<Model> make_llama(const ModelConfig& config, Backend& backend) {
  return std::make_unique<LlamaModel>(config, backend);
}

}  // namespace ws::detail
