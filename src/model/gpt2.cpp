// GPT-2 (GPT2LMHeadModel): learned positions, pre-LayerNorm blocks, fused
// c_attn, gelu_new MLP, lm_head tied to wte. Conv1D weights are [in, out]
// and are used in that layout (WeightLayout::InOut), never transposed.
#include <cmath>
#include <cstring>

#include "model/architectures.h"

namespace ws::detail {
namespace {

struct Gpt2Block {
  WeightTensor *ln_1_weight, *ln_1_bias, *c_attn_weight, *c_attn_bias, *attn_proj_weight, *attn_proj_bias;
  WeightTensor *ln_2_weight, *ln_2_bias, *c_fc_weight, *c_fc_bias, *mlp_proj_weight, *mlp_proj_bias;
};

class Gpt2Model final : public Model {
 public:
  Gpt2Model(const ModelConfig& config, Backend& backend, std::string prefix)
      : Model(config, backend), prefix_(std::move(prefix)) {}

  bool tolerates_extra_tensor(const std::string& name) const override {
    auto ends_with = [&](const char* suffix) {
      const size_t n = std::strlen(suffix);
      return name.size() >= n && name.compare(name.size() - n, n, suffix) == 0;
    };
    // Causal-mask buffers that old PyTorch checkpoints saved, and a stored
    // copy of the tied head.
    return ends_with(".attn.bias") || ends_with(".attn.masked_bias") || name == "lm_head.weight";
  }

 protected:
  Status declare_parameters() override {
    const uint64_t d = config_.hidden_size, inner = config_.intermediate_size;
    WS_ASSIGN_OR_RETURN(wte_, add_parameter(prefix_ + "wte.weight", {config_.vocab_size, d}, Role::OutputHead));
    WS_ASSIGN_OR_RETURN(wpe_, add_parameter(prefix_ + "wpe.weight", {config_.max_positions, d}, Role::Matrix));
    blocks_.resize(config_.layers);
    for (size_t i = 0; i < config_.layers; ++i) {
      const std::string p = prefix_ + "h." + std::to_string(i) + ".";
      Gpt2Block& b = blocks_[i];
      WS_ASSIGN_OR_RETURN(b.ln_1_weight, add_parameter(p + "ln_1.weight", {d}, Role::Vector));
      WS_ASSIGN_OR_RETURN(b.ln_1_bias, add_parameter(p + "ln_1.bias", {d}, Role::Vector));
      WS_ASSIGN_OR_RETURN(b.c_attn_weight, add_parameter(p + "attn.c_attn.weight", {d, 3 * d}, Role::Matrix));
      WS_ASSIGN_OR_RETURN(b.c_attn_bias, add_parameter(p + "attn.c_attn.bias", {3 * d}, Role::Vector));
      WS_ASSIGN_OR_RETURN(b.attn_proj_weight, add_parameter(p + "attn.c_proj.weight", {d, d}, Role::Matrix));
      WS_ASSIGN_OR_RETURN(b.attn_proj_bias, add_parameter(p + "attn.c_proj.bias", {d}, Role::Vector));
      WS_ASSIGN_OR_RETURN(b.ln_2_weight, add_parameter(p + "ln_2.weight", {d}, Role::Vector));
      WS_ASSIGN_OR_RETURN(b.ln_2_bias, add_parameter(p + "ln_2.bias", {d}, Role::Vector));
      WS_ASSIGN_OR_RETURN(b.c_fc_weight, add_parameter(p + "mlp.c_fc.weight", {d, inner}, Role::Matrix));
      WS_ASSIGN_OR_RETURN(b.c_fc_bias, add_parameter(p + "mlp.c_fc.bias", {inner}, Role::Vector));
      WS_ASSIGN_OR_RETURN(b.mlp_proj_weight, add_parameter(p + "mlp.c_proj.weight", {inner, d}, Role::Matrix));
      WS_ASSIGN_OR_RETURN(b.mlp_proj_bias, add_parameter(p + "mlp.c_proj.bias", {d}, Role::Vector));
    }
    WS_ASSIGN_OR_RETURN(ln_f_weight_, add_parameter(prefix_ + "ln_f.weight", {d}, Role::Vector));
    WS_ASSIGN_OR_RETURN(ln_f_bias_, add_parameter(prefix_ + "ln_f.bias", {d}, Role::Vector));
    return Status::ok();
  }

  Status forward_layers(const int32_t* tokens, const int32_t* positions, size_t n, KVCache& cache,
                        ComputeView logits) override {
    const size_t d = config_.hidden_size, inner = config_.intermediate_size;
    WS_ASSIGN_OR_RETURN(const Inputs in, inputs(tokens, positions, n));
    WS_ASSIGN_OR_RETURN(const ComputeView x, scratch(0, n * d));
    WS_ASSIGN_OR_RETURN(const ComputeView h, scratch(1, n * d));
    WS_ASSIGN_OR_RETURN(const ComputeView qkv, scratch(2, n * 3 * d));
    WS_ASSIGN_OR_RETURN(const ComputeView q, scratch(3, n * d));
    WS_ASSIGN_OR_RETURN(const ComputeView att, scratch(4, n * d));
    WS_ASSIGN_OR_RETURN(const ComputeView mlp, scratch(5, n * inner));
    backend_.embedding(*wte_, in.tokens, x);
    backend_.embedding(*wpe_, in.positions, h);
    backend_.add(x, h, x);
    const AttentionShape shape{config_.heads, config_.heads, config_.head_dim};
    const float scale = 1.0f / std::sqrt(static_cast<float>(config_.head_dim));
    for (size_t layer = 0; layer < config_.layers; ++layer) {
      const Gpt2Block& b = blocks_[layer];
      // Attention block.
      backend_.layer_norm(x, n, d, *b.ln_1_weight, b.ln_1_bias, config_.norm_eps, h);
      backend_.linear(h, n, matrix_view(*b.c_attn_weight, WeightLayout::InOut), b.c_attn_bias, qkv);
      const ComputeView keys = cache.layer_keys(layer, in.slots);
      const ComputeView values = cache.layer_values(layer, in.slots);
      // c_attn's output rows are [q | k | v].
      backend_.copy_rows(qkv, 3 * d, n, d, {}, q);
      backend_.copy_rows(qkv.part(d, qkv.count - d), 3 * d, n, d, in.positions, keys);
      backend_.copy_rows(qkv.part(2 * d, qkv.count - 2 * d), 3 * d, n, d, in.positions, values);
      backend_.attention(q, n, in.positions, keys, values, shape, scale, att);
      backend_.linear(att, n, matrix_view(*b.attn_proj_weight, WeightLayout::InOut), b.attn_proj_bias, h);
      backend_.add(x, h, x);
      // MLP block.
      backend_.layer_norm(x, n, d, *b.ln_2_weight, b.ln_2_bias, config_.norm_eps, h);
      backend_.linear(h, n, matrix_view(*b.c_fc_weight, WeightLayout::InOut), b.c_fc_bias, mlp);
      backend_.gelu_new(mlp);
      backend_.linear(mlp, n, matrix_view(*b.mlp_proj_weight, WeightLayout::InOut), b.mlp_proj_bias, h);
      backend_.add(x, h, x);
    }
    // Only the last token's logits are needed for generation.
    const ComputeView last = x.part((n - 1) * d, d);
    backend_.layer_norm(last, 1, d, *ln_f_weight_, ln_f_bias_, config_.norm_eps, h);
    backend_.linear(h, 1, matrix_view(*wte_, WeightLayout::OutIn), nullptr, logits);
    return Status::ok();
  }

 private:
  std::string prefix_;
  WeightTensor *wte_ = nullptr, *wpe_ = nullptr, *ln_f_weight_ = nullptr, *ln_f_bias_ = nullptr;
  std::vector<Gpt2Block> blocks_;
};

}  // namespace

std::unique_ptr<Model> make_gpt2(const ModelConfig& config, Backend& backend, const Checkpoint* checkpoint) {
  // GPT2LMHeadModel saves "transformer.wte.weight"; the original gpt2 repo's
  // GPT2Model checkpoint has no prefix.
  std::string prefix = "transformer.";
  if (checkpoint && !checkpoint->find("transformer.wte.weight") && checkpoint->find("wte.weight")) prefix.clear();
  return std::make_unique<Gpt2Model>(config, backend, prefix);
}

}  // namespace ws::detail
