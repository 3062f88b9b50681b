// model: config.json -> architecture -> parameter manifest + forward pass.
//
// Building a model allocates (but does not touch) one buffer per parameter and
// lists them in a manifest of checkpoint names, shapes and dtypes whose
// destinations are those buffers: the meta skeleton the loader fills in place.
// Each architecture's forward is written once against the Backend ops.
//
//   auto config = parse_model_config(config_json);
//   auto model  = build_model(*config, backend, {WeightDType::Keep}, &checkpoint);
//   auto plan   = plan_model_load(**model, checkpoint);   // every mismatch in one error
//   ... LoadExecutor::create(*plan, model->manifest()) and stream the shards ...
//   auto cache  = model->make_cache(256);
//   model->forward(ids, positions, n, *cache, logits);    // logits of the last token
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <array>
#include <vector>

#include "backend/backend.h"
#include "core/choices.h"
#include "core/result.h"
#include "format/format.h"
#include "load/load.h"
#include "model/tensor_parallel.h"

namespace ws {

enum class Architecture { Gpt2, Llama };
// The Llama family's MLP gate: SwiGLU (silu) or GeGLU (Gemma's tanh GELU).
enum class MlpActivation { Silu, GeluTanh };

// What config.json says, normalised across model types.
struct ModelConfig {
  std::string model_type;            // "gpt2", "llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text", "phi3"
  Architecture architecture = Architecture::Gpt2;
  size_t vocab_size = 0;
  size_t hidden_size = 0;
  size_t layers = 0;
  size_t heads = 0;
  size_t kv_heads = 0;               // == heads unless grouped-query
  size_t head_dim = 0;               // config "head_dim" when given, else hidden / heads
  size_t intermediate_size = 0;      // MLP width (gpt2: n_inner or 4 * hidden)
  size_t max_positions = 0;          // n_positions / max_position_embeddings
  float norm_eps = 1e-5f;
  float rope_theta = 10000.0f;
  std::vector<float> rope_inv_freq;  // head_dim / 2 frequencies, scaling applied (llama family)
  bool tie_word_embeddings = false;
  bool qkv_bias = false;             // qwen2, llama attention_bias
  bool o_bias = false;               // llama attention_bias
  bool mlp_bias = false;             // llama mlp_bias
  size_t sliding_window = 0;         // mistral, qwen2/3, gemma 2/3, phi3; 0 = none
  // Per layer: true where the layer attends within sliding_window (Gemma 2
  // alternates, Gemma 3 has 5 local layers per global one, Qwen2 from
  // max_window_layers on); all false when sliding_window is 0.
  std::vector<bool> layer_sliding;
  // Llama-family switches; the defaults are Llama's.
  size_t rotary_dim = 0;                    // head_dim unless partial_rotary_factor (Phi-4-mini)
  std::vector<float> rope_local_inv_freq;   // sliding layers' own (Gemma 3); empty = rope_inv_freq
  // LongRoPE (Phi-3): a forward whose last position + 1 exceeds
  // rope_original_max_positions uses these instead of rope_inv_freq, as
  // transformers' longrope update does; empty = none.
  std::vector<float> rope_long_inv_freq;
  size_t rope_original_max_positions = 0;
  float rope_attention_factor = 1.0f;       // LongRoPE's factor on cos and sin
  MlpActivation mlp_activation = MlpActivation::Silu;
  float embedding_scale = 0.0f;             // Gemma: sqrt(hidden_size); 0 = none
  float norm_weight_offset = 0.0f;          // Gemma: RMSNorm scales by (1 + w)
  bool qk_norm = false;                     // Qwen3, Gemma 3: RMSNorm over each head of q and k
  bool sandwich_norms = false;              // Gemma 2/3: norms after attention and around the MLP
  bool fused_projections = false;           // Phi-3: qkv_proj and gate_up_proj
  float attention_scale = 0.0f;             // 0: 1/sqrt(head_dim); Gemma 2/3: query_pre_attn_scalar^-1/2
  float attn_logit_softcap = 0.0f;          // Gemma 2; 0 = none
  float final_logit_softcap = 0.0f;         // Gemma 2; 0 = none
  std::optional<int32_t> bos_token_id;
  std::vector<int32_t> eos_token_ids;
};

// The model types parse_model_config accepts, for messages: "gpt2, llama, mistral, ...".
const char* supported_model_types();

// Parses and validates config.json. Errors: InvalidConfig (malformed JSON, a
// missing or impossible field, named), Unsupported (unknown model_type, naming
// the supported ones; rope_scaling kinds other than linear/llama3; activations
// other than the architecture's own).
Result<ModelConfig> parse_model_config(std::string_view config_json);

// WeightDType and its spellings: core/choices.h.
// The stored dtype a WeightDType names (F32 for F32, Q4_K for Q4_K, ...), for
// code that converts whole checkpoints rather than a model's parameters
// (`load`, `convert`); nullopt for Keep.
std::optional<DType> weight_dtype_storage(WeightDType dtype);

// Keys and values of every layer, f32, slot p = position p, in the
// backend's compute memory (on the GPU for a GPU backend).
struct KVCache {
  size_t capacity = 0;       // positions
  size_t layers = 0;
  size_t row = 0;            // kv_heads * head_dim
  ComputeBuffer keys;        // [layers, capacity, row]
  ComputeBuffer values;
  // LongRoPE models only: the token at each cached position, and whether the
  // cached keys were made with the long factors (see LlamaModel).
  std::vector<int32_t> tokens;
  bool rope_long = false;
  // A layer's first `slots` slots (positions 0..slots-1): what one forward
  // writes and attends over.
  ComputeView layer_keys(size_t layer, size_t slots) const { return keys.view(layer * capacity * row, slots * row); }
  ComputeView layer_values(size_t layer, size_t slots) const {
    return values.view(layer * capacity * row, slots * row);
  }
};

class Model {
 public:
  virtual ~Model() = default;
  const ModelConfig& config() const { return config_; }

  // Names, shapes and dtypes of every parameter; destinations are this model's
  // own buffers (valid for the model's lifetime).
  const std::vector<ManifestEntry>& manifest() const { return manifest_; }
  // The parameters still to be streamed: manifest() less those served from views.
  const std::vector<ManifestEntry>& load_manifest() const { return views_ ? load_manifest_ : manifest_; }

  // Serves manifest entry `entry` from `bytes`, its stored bytes exactly as
  // the parameter holds them (a mapped checkpoint's pages: read-only, paged in
  // on first use; `owner` keeps them alive), instead of its own buffer, which
  // is freed; the entry leaves load_manifest(). Errors: InvalidArgument when
  // the backend cannot compute from host views or `size` is not the
  // parameter's byte count.
  Status serve_from_view(size_t entry, const uint8_t* bytes, uint64_t size, std::shared_ptr<const void> owner);
  uint64_t weight_bytes() const;

  // Compares the manifest with a checkpoint: every missing, unexpected and
  // mis-shaped tensor in one error (kind MissingTensor, else ShapeMismatch,
  // else UnexpectedTensor). Tolerates the buffers old checkpoints carry
  // (GPT-2 attn.bias / attn.masked_bias, rotary inv_freq) and a stored copy of
  // a tied lm_head.
  Status check_checkpoint(const Checkpoint& checkpoint) const;
  // True for checkpoint names that may be present without being parameters.
  virtual bool tolerates_extra_tensor(const std::string& name) const = 0;

  // A cache for `capacity` positions. Errors: InvalidArgument when capacity is
  // 0 or above max_positions; OutOfBudget when the allocation would overflow.
  Result<KVCache> make_cache(size_t capacity) const;

  // Runs `n` tokens at `positions` (each < cache.capacity; the cache must
  // already hold every earlier position), stores their keys/values in the
  // cache and writes the last token's logits (vocab_size floats) to `logits`.
  // One call at a time per Model (it reuses its activation buffers); several
  // caches may share one Model. Errors: InvalidArgument for an id >=
  // vocab_size or a position out of range.
  Status forward(const int32_t* tokens, const int32_t* positions, size_t n, KVCache& cache, float* logits);
  // forward, then the greedy choice: the index of the largest logit (the
  // first of equal ones), computed where the backend computes, so a GPU
  // backend sends back one id instead of vocab_size logits. Errors as forward.
  Result<int32_t> forward_argmax(const int32_t* tokens, const int32_t* positions, size_t n, KVCache& cache);
  // The weights this model reads only through Backend::linear() with
  // WeightLayout::OutIn: after loading, load_model hands each to
  // Backend::prepare_linear_weight (which may rearrange their bytes).
  virtual std::vector<WeightTensor*> linear_only_weights() { return {}; }

  // Tensor parallelism (build_model with a group): this rank's heads and MLP
  // units; the whole model when there is no group.
  const ParallelShard& shard() const { return shard_; }
  // The token every rank continues with: rank 0's `id` (rank 0 samples, as
  // the others' logits may differ in the last bits); `id` itself without a
  // group. Errors: the group's (Io, Timeout).
  Result<int32_t> agree_on_token(int32_t id);

 protected:
  Model(ModelConfig config, Backend& backend) : config_(std::move(config)), backend_(backend) {}
  // Writes the last token's logits to `logits` (compute memory; tokens and
  // positions are the caller's host arrays, sent with inputs()). Errors:
  // OutOfBudget when scratch cannot grow.
  virtual Status forward_layers(const int32_t* tokens, const int32_t* positions, size_t n, KVCache& cache,
                                ComputeView logits) = 0;

  // What a parameter is for, which decides its dtype: vectors (norms,
  // biases) are f32; matrices take the chosen weight dtype (or the
  // checkpoint's under Keep); the output head (or the embedding tied to it)
  // is held at a higher precision when a 4/5/6-bit dtype is chosen.
  enum class Role { Vector, Matrix, OutputHead };
  // `shape` is the stored (whole) one; under tensor parallelism the
  // parameter holds this rank's slice of it (shard()).
  Result<WeightTensor*> add_parameter(const std::string& name, std::vector<uint64_t> shape, Role role);
  // The dtype add_parameter gives a parameter (see Role).
  DType parameter_dtype(const std::string& name, const std::vector<uint64_t>& shape, Role role) const;
  // Registers every parameter (called once by build_model).
  virtual Status declare_parameters() = 0;

  // forward's argument checks (ids, positions, the cache's shape).
  Status check_forward(const int32_t* tokens, const int32_t* positions, size_t n, const KVCache& cache) const;

  // Scratch in the backend's compute memory (f32 activations, or i32),
  // grown on demand (contents are not kept when a slot grows): a view of the
  // slot's first `count` elements.
  Result<ComputeView> scratch(size_t slot, size_t count, ComputeType type = ComputeType::F32);

  // `host` in `buffer` (compute memory), sent once: the first call allocates
  // and sets it, later ones return the same view. For tables that do not
  // change (rotary frequencies). Errors: OutOfBudget.
  Result<ComputeView> constant(ComputeBuffer& buffer, const std::vector<float>& host);

  // One forward's host inputs, sent to compute memory once (Backend::set)
  // and shared by every layer's ops: token ids and positions (i32, n each),
  // and `slots`, the largest position + 1 (the cache slots any query sees).
  struct Inputs {
    ComputeView tokens;
    ComputeView positions;
    size_t slots = 0;
  };
  Result<Inputs> inputs(const int32_t* tokens, const int32_t* positions, size_t n);

  // Row-parallel layers (o_proj, down_proj) leave each rank a partial sum of
  // the output: this adds them up across the group (nothing without one),
  // through a host copy (the group's collectives take host arrays).
  Status all_reduce(ComputeView x);
  // A row-parallel layer's bias is added once, on rank 0, before the sum.
  const WeightTensor* row_parallel_bias(const WeightTensor* bias) const {
    return shard_.rank == 0 ? bias : nullptr;
  }

  ModelConfig config_;
  Backend& backend_;
  WeightDType weight_dtype_ = WeightDType::F32;
  const Checkpoint* checkpoint_ = nullptr;  // only while building (Keep dtypes)
  bool measure_only_ = false;               // declare parameters without allocating them
  std::vector<std::unique_ptr<WeightTensor>> parameters_;
  std::vector<ManifestEntry> manifest_;
  std::vector<ManifestEntry> load_manifest_;  // manifest_ less the views, once there is one
  size_t views_ = 0;
  std::array<ComputeBuffer, 16> scratch_;  // fixed: views point at these handles
  std::vector<float> reduce_host_;          // all_reduce's host copy
  // Parameters (indices into parameters_ and manifest_) not allocated while
  // declaring: the checkpoint lacks them or stores another shape, so their
  // sizes come from config.json alone, unchecked. build_model allocates them
  // once the checkpoint is proven to fit, and never otherwise.
  std::vector<size_t> deferred_;
  ParallelShard shard_;
  Collective* group_ = nullptr;  // not owned; null: one process
  // Architectures use the slots below kTokensSlot.
  static constexpr size_t kTokensSlot = 13, kPositionsSlot = 14, kLogitsSlot = 15;

  friend Result<std::unique_ptr<Model>> build_model(const ModelConfig&, Backend&, WeightDType, const Checkpoint*,
                                                    Collective*);
  friend Result<std::vector<ManifestEntry>> measure_model(const ModelConfig&, Backend&, WeightDType,
                                                          const Checkpoint*, Collective*);
};

// Builds the model for `config` on `backend` (which must outlive it).
// `checkpoint` is optional: it resolves WeightDType::Keep and naming variants
// (GPT-2 checkpoints with or without the "transformer." prefix); without it
// Keep means f32 and names are the transformers defaults.
// With a checkpoint, a parameter it lacks or stores in another shape is not
// allocated before the checkpoint is checked: sizes taken from config.json
// (a head_dim of 2^20, 4096 layers) cost nothing until they agree with the
// weights. Errors: OutOfBudget when a parameter cannot be allocated; with a
// checkpoint, those of plan_model_load (MissingTensor, ShapeMismatch,
// UnexpectedTensor) when it does not fit.
// With a `group` (which must outlive the model), the model is this rank's
// part of a tensor-parallel one (Megatron's layout, ParallelShard): its
// manifest slices the split matrices, so a load reads only this rank's
// bytes, and forward sums the row-parallel layers across the group. Errors
// then also: make_parallel_shard's; Unsupported for GPT-2 and fused (Phi-3)
// projections and for a backend that does not compute in host memory;
// InvalidArgument when the ranks' models differ (config, checkpoint index
// or dtype: a fingerprint is all-gathered); the group's Io / Timeout.
Result<std::unique_ptr<Model>> build_model(const ModelConfig& config, Backend& backend,
                                           WeightDType dtype = WeightDType::Keep,
                                           const Checkpoint* checkpoint = nullptr, Collective* group = nullptr);

// The manifest build_model would make (names, dtypes, shapes; no
// destinations), without allocating anything: what admission control and
// reports need before a byte is committed. Errors as build_model.
Result<std::vector<ManifestEntry>> measure_model(const ModelConfig& config, Backend& backend, WeightDType dtype,
                                                 const Checkpoint* checkpoint = nullptr, Collective* group = nullptr);

// check_checkpoint, then plan_load (tensors the model tolerates are skipped).
Result<LoadPlan> plan_model_load(const Model& model, const Checkpoint& checkpoint, const PlanOptions& options = {});

}  // namespace ws
