// Llama family: RMSNorm, rotary embeddings in the rotate_half layout,
// grouped-query attention, a gated MLP, lm_head tied or not per
// tie_word_embeddings. The families that share this math are switches on it
// (ModelConfig): Mistral and Qwen2 (sliding windows, q/k/v bias), Qwen3 (q/k
// RMSNorm per head), Gemma 1/2/3 (embedding scaled by sqrt(hidden), (1 + w)
// norms, GeGLU, sandwich norms, soft-capping, local and global layers with
// their own rope), Phi-3 (fused qkv and gate_up, LongRoPE, partial rotary).
#include <algorithm>
#include <cmath>
#include <vector>

#include "model/architectures.h"

namespace ws::detail {
namespace {

struct LlamaBlock {
  WeightTensor *input_norm, *q = nullptr, *k = nullptr, *v = nullptr, *qkv = nullptr, *o, *q_bias = nullptr,
                            *k_bias = nullptr, *v_bias = nullptr, *o_bias = nullptr, *q_norm = nullptr,
                            *k_norm = nullptr;
  // post_norm: Llama's pre-MLP norm ("post_attention_layernorm"); with
  // sandwich norms that name is the norm after attention and the MLP has its
  // own pre and post norms.
  WeightTensor *post_norm, *pre_mlp_norm = nullptr, *post_mlp_norm = nullptr;
  WeightTensor *gate = nullptr, *up = nullptr, *gate_up = nullptr, *down, *gate_bias = nullptr, *up_bias = nullptr,
               *down_bias = nullptr;
};

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
    for (const LlamaBlock& b : blocks_) {
      // Fused (Phi-3) or separate projections: each is one whole matrix in linear().
      for (WeightTensor* w : {b.q, b.k, b.v, b.qkv, b.o, b.gate, b.up, b.gate_up, b.down}) {
        if (w) out.push_back(w);
      }
    }
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
      if (config_.fused_projections) {
        WS_ASSIGN_OR_RETURN(b.qkv, add_parameter(p + "self_attn.qkv_proj.weight", {q_dim + 2 * kv_dim, d}, Role::Matrix));
      } else {
        WS_ASSIGN_OR_RETURN(b.q, add_parameter(p + "self_attn.q_proj.weight", {q_dim, d}, Role::Matrix));
        WS_ASSIGN_OR_RETURN(b.k, add_parameter(p + "self_attn.k_proj.weight", {kv_dim, d}, Role::Matrix));
        WS_ASSIGN_OR_RETURN(b.v, add_parameter(p + "self_attn.v_proj.weight", {kv_dim, d}, Role::Matrix));
      }
      WS_ASSIGN_OR_RETURN(b.o, add_parameter(p + "self_attn.o_proj.weight", {d, q_dim}, Role::Matrix));
      if (config_.qkv_bias) {
        WS_ASSIGN_OR_RETURN(b.q_bias, add_parameter(p + "self_attn.q_proj.bias", {q_dim}, Role::Vector));
        WS_ASSIGN_OR_RETURN(b.k_bias, add_parameter(p + "self_attn.k_proj.bias", {kv_dim}, Role::Vector));
        WS_ASSIGN_OR_RETURN(b.v_bias, add_parameter(p + "self_attn.v_proj.bias", {kv_dim}, Role::Vector));
      }
      if (config_.o_bias) {
        WS_ASSIGN_OR_RETURN(b.o_bias, add_parameter(p + "self_attn.o_proj.bias", {d}, Role::Vector));
      }
      if (config_.qk_norm) {
        const uint64_t hd = config_.head_dim;
        WS_ASSIGN_OR_RETURN(b.q_norm, add_parameter(p + "self_attn.q_norm.weight", {hd}, Role::Vector));
        WS_ASSIGN_OR_RETURN(b.k_norm, add_parameter(p + "self_attn.k_norm.weight", {hd}, Role::Vector));
      }
      WS_ASSIGN_OR_RETURN(b.post_norm, add_parameter(p + "post_attention_layernorm.weight", {d}, Role::Vector));
      if (config_.sandwich_norms) {
        WS_ASSIGN_OR_RETURN(b.pre_mlp_norm, add_parameter(p + "pre_feedforward_layernorm.weight", {d}, Role::Vector));
        WS_ASSIGN_OR_RETURN(b.post_mlp_norm, add_parameter(p + "post_feedforward_layernorm.weight", {d}, Role::Vector));
      }
      if (config_.fused_projections) {
        WS_ASSIGN_OR_RETURN(b.gate_up, add_parameter(p + "mlp.gate_up_proj.weight", {2 * inner, d}, Role::Matrix));
      } else {
        WS_ASSIGN_OR_RETURN(b.gate, add_parameter(p + "mlp.gate_proj.weight", {inner, d}, Role::Matrix));
        WS_ASSIGN_OR_RETURN(b.up, add_parameter(p + "mlp.up_proj.weight", {inner, d}, Role::Matrix));
      }
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
                        ComputeView logits) override {
    // This rank's heads and MLP units (all of them without tensor parallelism).
    const size_t heads = shard_.heads(), kv_heads = shard_.kv_heads();
    const size_t d = config_.hidden_size, inner = shard_.inner();
    const size_t q_dim = heads * config_.head_dim, kv_dim = cache.row;
    const float eps = config_.norm_eps, offset = config_.norm_weight_offset;
    WS_ASSIGN_OR_RETURN(const ComputeView x, scratch(0, n * d));
    WS_ASSIGN_OR_RETURN(const ComputeView h, scratch(1, n * d));
    WS_ASSIGN_OR_RETURN(const ComputeView q, scratch(2, n * q_dim));
    WS_ASSIGN_OR_RETURN(const ComputeView k, scratch(3, n * kv_dim));
    WS_ASSIGN_OR_RETURN(const ComputeView v, scratch(4, n * kv_dim));
    WS_ASSIGN_OR_RETURN(const ComputeView att, scratch(5, n * q_dim));
    WS_ASSIGN_OR_RETURN(const ComputeView gate, scratch(6, n * inner));
    WS_ASSIGN_OR_RETURN(const ComputeView up, scratch(7, n * inner));
    ComputeView fused;  // Phi-3: the fused projections' outputs, split by copy_rows
    if (config_.fused_projections) {
      WS_ASSIGN_OR_RETURN(fused, scratch(8, n * std::max(q_dim + 2 * kv_dim, 2 * inner)));
    }
    // LongRoPE: the long factors once this forward reaches past the
    // original context (transformers decides per forward from its largest
    // position; keys already cached keep the frequencies they were made with).
    int32_t last_position = 0;
    for (size_t t = 0; t < n; ++t) last_position = std::max(last_position, positions[t]);
    const bool long_rope = !config_.rope_long_inv_freq.empty() &&
                           static_cast<size_t>(last_position) + 1 > config_.rope_original_max_positions;
    if (!config_.rope_long_inv_freq.empty()) {
      cache.tokens.resize(cache.capacity);
      int32_t first_position = last_position;
      for (size_t t = 0; t < n; ++t) {
        cache.tokens[positions[t]] = tokens[t];
        first_position = std::min(first_position, positions[t]);
      }
      if (long_rope && !cache.rope_long && first_position > 0) {
        // The first forward past the original context: transformers' Phi-3
        // generation drops its cache there and recomputes every position
        // with the long factors (Phi3ForCausalLM.prepare_inputs_for_generation);
        // so do we, from the tokens the cache remembers.
        cache.rope_long = true;
        const size_t all = static_cast<size_t>(last_position) + 1;
        std::vector<int32_t> all_positions(all);
        for (size_t p = 0; p < all; ++p) all_positions[p] = static_cast<int32_t>(p);
        const std::vector<int32_t> all_tokens(cache.tokens.begin(), cache.tokens.begin() + all);
        return forward_layers(all_tokens.data(), all_positions.data(), all, cache, logits);
      }
      cache.rope_long = long_rope;
    }
    WS_ASSIGN_OR_RETURN(const Inputs in, inputs(tokens, positions, n));
    backend_.embedding(*embed_, in.tokens, x);
    if (config_.embedding_scale != 0.0f) backend_.scale(x, config_.embedding_scale);
    // The rotary tables, sent to compute memory at the first forward.
    WS_ASSIGN_OR_RETURN(const ComputeView global_freq,
                        long_rope ? constant(rope_long_, config_.rope_long_inv_freq)
                                  : constant(rope_, config_.rope_inv_freq));
    ComputeView local_freq = global_freq;
    if (!config_.rope_local_inv_freq.empty()) {
      WS_ASSIGN_OR_RETURN(local_freq, constant(rope_local_, config_.rope_local_inv_freq));
    }
    const float scale =
        config_.attention_scale != 0.0f ? config_.attention_scale : 1.0f / std::sqrt(static_cast<float>(config_.head_dim));
    for (size_t layer = 0; layer < config_.layers; ++layer) {
      const LlamaBlock& b = blocks_[layer];
      const bool sliding = config_.layer_sliding.size() > layer && config_.layer_sliding[layer];
      // Attention block.
      backend_.rms_norm(x, n, d, *b.input_norm, offset, eps, h);
      if (b.qkv) {
        const size_t width = q_dim + 2 * kv_dim;
        backend_.linear(h, n, matrix_view(*b.qkv, WeightLayout::OutIn), nullptr, fused);
        backend_.copy_rows(fused, width, n, q_dim, {}, q);
        backend_.copy_rows(fused.part(q_dim, fused.count - q_dim), width, n, kv_dim, {}, k);
        backend_.copy_rows(fused.part(q_dim + kv_dim, fused.count - q_dim - kv_dim), width, n, kv_dim, {}, v);
      } else {
        backend_.linear(h, n, matrix_view(*b.q, WeightLayout::OutIn), b.q_bias, q);
        backend_.linear(h, n, matrix_view(*b.k, WeightLayout::OutIn), b.k_bias, k);
        backend_.linear(h, n, matrix_view(*b.v, WeightLayout::OutIn), b.v_bias, v);
      }
      if (b.q_norm) {  // per head, before the rotation
        backend_.rms_norm(q, n * heads, config_.head_dim, *b.q_norm, offset, eps, q);
        backend_.rms_norm(k, n * kv_heads, config_.head_dim, *b.k_norm, offset, eps, k);
      }
      const bool local_rope = sliding && !config_.rope_local_inv_freq.empty();
      const ComputeView inv_freq = local_rope ? local_freq : global_freq;
      const float rope_scale = local_rope ? 1.0f : config_.rope_attention_factor;
      backend_.rotary(q, n, RotaryShape{heads, config_.head_dim, config_.rotary_dim, rope_scale}, in.positions,
                      inv_freq);
      backend_.rotary(k, n, RotaryShape{kv_heads, config_.head_dim, config_.rotary_dim, rope_scale}, in.positions,
                      inv_freq);
      const ComputeView keys = cache.layer_keys(layer, in.slots);
      const ComputeView values = cache.layer_values(layer, in.slots);
      backend_.copy_rows(k, kv_dim, n, kv_dim, in.positions, keys);
      backend_.copy_rows(v, kv_dim, n, kv_dim, in.positions, values);
      const AttentionShape shape{heads, kv_heads, config_.head_dim,
                                 sliding ? config_.sliding_window : 0, config_.attn_logit_softcap};
      backend_.attention(q, n, in.positions, keys, values, shape, scale, att);
      backend_.linear(att, n, matrix_view(*b.o, WeightLayout::OutIn), row_parallel_bias(b.o_bias), h);
      WS_TRY(all_reduce(h));  // o_proj is row-parallel: sum the ranks' parts
      if (config_.sandwich_norms) backend_.rms_norm(h, n, d, *b.post_norm, offset, eps, h);
      backend_.add(x, h, x);
      // Gated MLP block.
      const WeightTensor* mlp_norm = config_.sandwich_norms ? b.pre_mlp_norm : b.post_norm;
      backend_.rms_norm(x, n, d, *mlp_norm, offset, eps, h);
      if (b.gate_up) {  // Phi-3: gate first, then up
        backend_.linear(h, n, matrix_view(*b.gate_up, WeightLayout::OutIn), nullptr, fused);
        backend_.copy_rows(fused, 2 * inner, n, inner, {}, gate);
        backend_.copy_rows(fused.part(inner, fused.count - inner), 2 * inner, n, inner, {}, up);
      } else {
        backend_.linear(h, n, matrix_view(*b.gate, WeightLayout::OutIn), b.gate_bias, gate);
        backend_.linear(h, n, matrix_view(*b.up, WeightLayout::OutIn), b.up_bias, up);
      }
      if (config_.mlp_activation == MlpActivation::GeluTanh) {
        backend_.gelu_tanh_mul(gate, up, gate);
      } else {
        backend_.silu_mul(gate, up, gate);
      }
      backend_.linear(gate, n, matrix_view(*b.down, WeightLayout::OutIn), row_parallel_bias(b.down_bias), h);
      WS_TRY(all_reduce(h));  // down_proj likewise
      if (config_.sandwich_norms) backend_.rms_norm(h, n, d, *b.post_mlp_norm, offset, eps, h);
      backend_.add(x, h, x);
    }
    const ComputeView last = x.part((n - 1) * d, d);
    backend_.rms_norm(last, 1, d, *norm_, offset, eps, h);
    backend_.linear(h, 1, matrix_view(*lm_head_, WeightLayout::OutIn), nullptr, logits);
    if (config_.final_logit_softcap != 0.0f) backend_.softcap(logits, config_.final_logit_softcap);
    return Status::ok();
  }

 private:
  WeightTensor *embed_ = nullptr, *norm_ = nullptr, *lm_head_ = nullptr;
  std::vector<LlamaBlock> blocks_;
  ComputeBuffer rope_, rope_long_, rope_local_;  // rotary frequencies in compute memory (constant())
};

}  // namespace

std::unique_ptr<Model> make_llama(const ModelConfig& config, Backend& backend) {
  return std::make_unique<LlamaModel>(config, backend);
}

}  // namespace ws::detail
