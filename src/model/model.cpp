// What every architecture shares: parameter registration, checkpoint
// checking, the KV cache, argument checks around forward.
#include <algorithm>
#include <optional>
#include <string>
#include <unordered_set>

#include "model/architectures.h"
#include "model/model.h"

namespace ws {

uint64_t Model::weight_bytes() const {
  uint64_t bytes = 0;
  for (const auto& p : parameters_) bytes += p->bytes();
  return bytes;
}

namespace {

// The ggml block type a quantized WeightDType stores, or none for the float ones.
std::optional<DType> block_dtype(WeightDType dtype) {
  const std::optional<DType> stored = weight_dtype_storage(dtype);
  return stored && dtype_is_quantized(*stored) ? stored : std::nullopt;
}

// A row of `row_elements` must be a whole number of blocks. K-quant rows that
// are not whole 256-blocks fall back as llama.cpp's quantizer does (Q4_K ->
// Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0); rows that are not whole 32-blocks either
// stay F16.
DType fit_rows(DType wanted, uint64_t row_elements) {
  if (row_elements % dtype_block_elements(wanted) == 0) return wanted;
  DType fallback = wanted;
  if (wanted == DType::Q4_K) fallback = DType::Q5_0;
  if (wanted == DType::Q5_K) fallback = DType::Q5_1;
  if (wanted == DType::Q6_K) fallback = DType::Q8_0;
  return row_elements % dtype_block_elements(fallback) == 0 ? fallback : DType::F16;
}

}  // namespace

DType Model::parameter_dtype(const std::string& name, const std::vector<uint64_t>& shape, Role role) const {
  if (role == Role::Vector || shape.size() != 2) return DType::F32;
  const uint64_t row_elements = shape[1];
  switch (weight_dtype_) {
    case WeightDType::F32: return DType::F32;
    case WeightDType::F16: return DType::F16;
    case WeightDType::BF16: return DType::BF16;
    case WeightDType::Keep: {
      const TensorInfo* stored = checkpoint_ ? checkpoint_->find(name) : nullptr;
      if (!stored) return DType::F32;
      if (stored->dtype == DType::F16 || stored->dtype == DType::BF16) return stored->dtype;
      // GGUF blocks stay blocks where the backend computes on them.
      if (dtype_is_quantized(stored->dtype) && backend_.supports_weight_dtype(stored->dtype) &&
          row_elements % dtype_block_elements(stored->dtype) == 0) {
        return stored->dtype;
      }
      return DType::F32;
    }
    default: break;
  }
  DType wanted = *block_dtype(weight_dtype_);
  // The output head decides every token's logits; llama.cpp holds it at Q6_K
  // for every 4/5/6-bit mix (it is one matrix, a few % of the bytes).
  if (role == Role::OutputHead && wanted != DType::Q8_0) wanted = DType::Q6_K;
  return fit_rows(wanted, row_elements);
}

Result<WeightTensor*> Model::add_parameter(const std::string& name, std::vector<uint64_t> stored_shape, Role role) {
  // Under tensor parallelism this rank holds (and the plan reads) only its slice.
  const std::optional<TensorSlice> slice = shard_.slice(name, stored_shape);
  std::vector<uint64_t> shape = stored_shape;
  if (slice) shape[slice->dim] = slice->end - slice->begin;
  const DType dtype = parameter_dtype(name, shape, role);
  if (!backend_.supports_weight_dtype(dtype)) {
    return make_error(ErrorKind::Unsupported, std::string("the ") + backend_.describe() + " backend cannot hold " +
                                                  dtype_name(dtype) + " weights (" + name + ")");
  }
  if (measure_only_) {
    manifest_.push_back(ManifestEntry{name, dtype, std::move(shape), nullptr, slice});
    parameters_.push_back(std::make_unique<WeightTensor>());  // architectures keep the pointer
    return parameters_.back().get();
  }
  const TensorInfo* stored = checkpoint_ ? checkpoint_->find(name) : nullptr;
  if (checkpoint_ && (!stored || stored->shape != stored_shape)) {
    // Unchecked size: a placeholder until build_model has checked the checkpoint.
    auto placeholder = std::make_unique<WeightTensor>();
    placeholder->dtype = dtype;
    placeholder->shape = shape;
    deferred_.push_back(parameters_.size());
    parameters_.push_back(std::move(placeholder));
    manifest_.push_back(ManifestEntry{name, dtype, std::move(shape), nullptr, slice});
    return parameters_.back().get();
  }
  WS_ASSIGN_OR_RETURN(WeightTensor tensor, backend_.allocate_weight(dtype, shape));
  parameters_.push_back(std::make_unique<WeightTensor>(std::move(tensor)));
  WeightTensor* p = parameters_.back().get();
  manifest_.push_back(ManifestEntry{name, dtype, std::move(shape), p->storage.get(), slice});
  return p;
}

namespace {

// A parameter's bytes that live elsewhere (a mapped file): read-only (no
// host_data(), so nothing is ever written through it); `owner` keeps them alive.
class ViewedBytes final : public WeightStorage {
 public:
  ViewedBytes(const uint8_t* bytes, uint64_t size, std::shared_ptr<const void> owner)
      : bytes_(bytes), size_(size), owner_(std::move(owner)) {}
  uint8_t* host_data() override { return nullptr; }
  uint64_t bytes() const override { return size_; }

 private:
  const void* compute_address() const override { return bytes_; }
  const uint8_t* bytes_;
  uint64_t size_;
  std::shared_ptr<const void> owner_;
};

}  // namespace

Status Model::serve_from_view(size_t entry, const uint8_t* bytes, uint64_t size, std::shared_ptr<const void> owner) {
  if (entry >= manifest_.size() || !backend_.computes_from_host_views()) {
    return make_error(ErrorKind::InvalidArgument, "the " + backend_.describe() + " backend computes from its own buffers");
  }
  WeightTensor& weight = *parameters_[entry];
  if (!weight.storage || size != weight.bytes()) {
    return make_error(ErrorKind::InvalidArgument, manifest_[entry].name + ": a view of " + std::to_string(size) +
                                                      " bytes for a parameter of " + std::to_string(weight.bytes()));
  }
  if (views_ == 0) load_manifest_ = manifest_;
  const std::string& name = manifest_[entry].name;
  load_manifest_.erase(std::find_if(load_manifest_.begin(), load_manifest_.end(),
                                    [&](const ManifestEntry& e) { return e.name == name; }));
  ++views_;
  weight.storage = std::make_unique<ViewedBytes>(bytes, size, std::move(owner));  // frees the buffer
  manifest_[entry].destination = weight.storage.get();
  return Status::ok();
}

Result<ComputeView> Model::scratch(size_t slot, size_t count, ComputeType type) {
  ComputeBuffer& buffer = scratch_.at(slot);
  if (buffer.size() < count || buffer.type() != type) {
    buffer = ComputeBuffer();  // free the old one first
    WS_ASSIGN_OR_RETURN(buffer, backend_.allocate_compute(count, type));
  }
  return buffer.view(0, count);
}

Result<ComputeView> Model::constant(ComputeBuffer& buffer, const std::vector<float>& host) {
  if (!buffer.backend() || buffer.size() != host.size()) {
    WS_ASSIGN_OR_RETURN(buffer, backend_.allocate_compute(host.size()));
    backend_.set(buffer.view(), host.data());
  }
  return buffer.view();
}

Result<Model::Inputs> Model::inputs(const int32_t* tokens, const int32_t* positions, size_t n) {
  Inputs in;
  WS_ASSIGN_OR_RETURN(in.tokens, scratch(kTokensSlot, n, ComputeType::I32));
  WS_ASSIGN_OR_RETURN(in.positions, scratch(kPositionsSlot, n, ComputeType::I32));
  backend_.set(in.tokens, tokens);
  backend_.set(in.positions, positions);
  in.slots = static_cast<size_t>(*std::max_element(positions, positions + n)) + 1;
  return in;
}

Status Model::all_reduce(ComputeView x) {
  if (!group_) return Status::ok();
  reduce_host_.resize(x.count);
  backend_.get(x, reduce_host_.data());
  WS_TRY(group_->all_reduce_sum(reduce_host_.data(), x.count));
  backend_.set(x, reduce_host_.data());
  return Status::ok();
}

Result<int32_t> Model::agree_on_token(int32_t id) {
  if (!group_) return id;
  WS_TRY(group_->broadcast(&id, 1));
  return id;
}

Status Model::check_checkpoint(const Checkpoint& checkpoint) const {
  return plan_model_load(*this, checkpoint).status();
}

Result<KVCache> Model::make_cache(size_t capacity) const {
  if (capacity == 0 || capacity > config_.max_positions) {
    return make_error(ErrorKind::InvalidArgument, "KV cache of " + std::to_string(capacity) +
                                                      " positions (the model allows 1 to " +
                                                      std::to_string(config_.max_positions) + ")");
  }
  KVCache cache;
  cache.capacity = capacity;
  cache.layers = config_.layers;
  cache.row = shard_.kv_heads() * config_.head_dim;  // this rank's heads
  const uint64_t floats = uint64_t{capacity} * cache.layers * cache.row;
  if (floats > (uint64_t{1} << 36)) return make_error(ErrorKind::OutOfBudget, "KV cache too large");
  WS_ASSIGN_OR_RETURN(cache.keys, backend_.allocate_compute(floats));
  WS_ASSIGN_OR_RETURN(cache.values, backend_.allocate_compute(floats));
  return cache;
}

Status Model::check_forward(const int32_t* tokens, const int32_t* positions, size_t n,
                            const KVCache& cache) const {
  if (n == 0) return make_error(ErrorKind::InvalidArgument, "forward needs at least one token");
  if (cache.layers != config_.layers || cache.row != shard_.kv_heads() * config_.head_dim) {
    return make_error(ErrorKind::InvalidArgument, "KV cache was made for another model");
  }
  for (size_t t = 0; t < n; ++t) {
    if (tokens[t] < 0 || static_cast<size_t>(tokens[t]) >= config_.vocab_size) {
      return make_error(ErrorKind::InvalidArgument, "token id " + std::to_string(tokens[t]) +
                                                        " out of range (vocab_size " +
                                                        std::to_string(config_.vocab_size) + ")");
    }
    if (positions[t] < 0 || static_cast<size_t>(positions[t]) >= cache.capacity) {
      return make_error(ErrorKind::InvalidArgument, "position " + std::to_string(positions[t]) +
                                                        " outside the KV cache of " +
                                                        std::to_string(cache.capacity) + " positions");
    }
  }
  return Status::ok();
}

Status Model::forward(const int32_t* tokens, const int32_t* positions, size_t n, KVCache& cache, float* logits) {
  WS_TRY(check_forward(tokens, positions, n, cache));
  // Logits are computed where the backend computes, then fetched.
  WS_ASSIGN_OR_RETURN(ComputeView computed, scratch(kLogitsSlot, config_.vocab_size));
  WS_TRY(forward_layers(tokens, positions, n, cache, computed));
  backend_.get(computed, logits);
  return Status::ok();
}

Result<int32_t> Model::forward_argmax(const int32_t* tokens, const int32_t* positions, size_t n, KVCache& cache) {
  WS_TRY(check_forward(tokens, positions, n, cache));
  WS_ASSIGN_OR_RETURN(ComputeView computed, scratch(kLogitsSlot, config_.vocab_size));
  WS_TRY(forward_layers(tokens, positions, n, cache, computed));
  return backend_.argmax(computed);
}

namespace {
std::unique_ptr<Model> make_architecture(const ModelConfig& config, Backend& backend, const Checkpoint* checkpoint) {
  switch (config.architecture) {
    case Architecture::Gpt2: return detail::make_gpt2(config, backend, checkpoint);
    case Architecture::Llama: return detail::make_llama(config, backend);
  }
  return nullptr;
}

// The whole model (no group), or this rank's part of it.
Result<ParallelShard> shard_for(const ModelConfig& config, Collective* group) {
  if (!group || group->world_size() == 1) {
    ParallelShard whole;
    whole.head_dim = config.head_dim;
    whole.group = config.kv_heads ? config.heads / config.kv_heads : 1;
    whole.kv_end = config.kv_heads;
    whole.inner_end = config.intermediate_size;
    return whole;
  }
  if (config.architecture != Architecture::Llama || config.fused_projections) {
    // GPT-2's Conv1D c_attn and Phi-3's qkv_proj/gate_up_proj pack several
    // projections in one matrix: a rank's part is not one slice of it.
    return make_error(ErrorKind::Unsupported, "tensor parallelism: " + config.model_type +
                                                  " packs its projections in one matrix; only separate "
                                                  "q/k/v and gate/up projections (the Llama family) are split");
  }
  return make_parallel_shard(config.heads, config.kv_heads, config.head_dim, config.intermediate_size,
                             group->rank(), group->world_size());
}

// FNV-1a over what must be the same on every rank: the architecture, the
// checkpoint's index (names, dtypes, shapes, byte ranges) and the dtype asked.
uint64_t model_fingerprint(const ModelConfig& config, WeightDType dtype, const Checkpoint* checkpoint) {
  uint64_t hash = 1469598103934665603ull;
  auto mix = [&](const void* data, size_t size) {
    for (size_t i = 0; i < size; ++i) hash = (hash ^ static_cast<const uint8_t*>(data)[i]) * 1099511628211ull;
  };
  auto mix_number = [&](uint64_t v) { mix(&v, sizeof v); };
  mix(config.model_type.data(), config.model_type.size());
  for (uint64_t v : {uint64_t(config.vocab_size), uint64_t(config.hidden_size), uint64_t(config.layers),
                     uint64_t(config.heads), uint64_t(config.kv_heads), uint64_t(config.head_dim),
                     uint64_t(config.intermediate_size), uint64_t(dtype)}) {
    mix_number(v);
  }
  if (checkpoint) {
    for (const TensorInfo& t : checkpoint->tensors) {
      mix(t.name.data(), t.name.size());
      mix_number(uint64_t(t.dtype));
      for (uint64_t d : t.shape) mix_number(d);
      mix_number(t.shard);
      mix_number(t.begin);
      mix_number(t.end);
    }
  }
  return hash;
}

// Every rank must load the same model the same way: a rank given other
// files or another --dtype would otherwise compute garbage silently.
Status check_same_model(Collective& group, uint64_t fingerprint) {
  WS_ASSIGN_OR_RETURN(std::vector<uint64_t> all, group.all_gather({group.world_size(), fingerprint}));
  for (size_t r = 1; r < group.world_size(); ++r) {
    if (all[2 * r] != all[0]) {
      return make_error(ErrorKind::InvalidArgument, "rank " + std::to_string(r) + " was started with WORLD_SIZE=" +
                                                        std::to_string(all[2 * r]) + ", rank 0 with " +
                                                        std::to_string(all[0]));
    }
    if (all[2 * r + 1] != all[1]) {
      return make_error(ErrorKind::InvalidArgument,
                        "rank " + std::to_string(r) + " has another model than rank 0 (config, checkpoint index or "
                        "--dtype differ): every rank must load the same files the same way");
    }
  }
  return Status::ok();
}
}  // namespace

Result<std::unique_ptr<Model>> build_model(const ModelConfig& config, Backend& backend, WeightDType dtype,
                                           const Checkpoint* checkpoint, Collective* group) {
  WS_ASSIGN_OR_RETURN(ParallelShard shard, shard_for(config, group));
  if (group && group->world_size() > 1 && !backend.computes_on_host()) {
    // The group sums host arrays (Gloo); device activations would need NCCL.
    return make_error(ErrorKind::Unsupported, "tensor parallelism on " + backend.describe() +
                                                  ": only backends that compute in host memory take a group (NCCL "
                                                  "for GPU activations is not wired up)");
  }
  std::unique_ptr<Model> model = make_architecture(config, backend, checkpoint);
  model->shard_ = shard;
  model->group_ = group && group->world_size() > 1 ? group : nullptr;
  if (model->group_) WS_TRY(check_same_model(*group, model_fingerprint(config, dtype, checkpoint)));
  model->weight_dtype_ = dtype;
  model->checkpoint_ = checkpoint;
  Status status = model->declare_parameters();
  model->checkpoint_ = nullptr;
  if (!status.is_ok()) return status.error();
  if (!model->deferred_.empty()) {
    // Every problem at once (plan_model_load lists them all), before any
    // allocation sized by config.json alone.
    WS_TRY(plan_model_load(*model, *checkpoint).status());
    for (size_t i : model->deferred_) {
      WeightTensor& p = *model->parameters_[i];
      WS_ASSIGN_OR_RETURN(WeightTensor tensor, backend.allocate_weight(p.dtype, p.shape));
      p = std::move(tensor);
      model->manifest_[i].destination = p.storage.get();
    }
    model->deferred_.clear();
  }
  return model;
}

Result<std::vector<ManifestEntry>> measure_model(const ModelConfig& config, Backend& backend, WeightDType dtype,
                                                 const Checkpoint* checkpoint, Collective* group) {
  WS_ASSIGN_OR_RETURN(ParallelShard shard, shard_for(config, group));
  std::unique_ptr<Model> model = make_architecture(config, backend, checkpoint);
  model->shard_ = shard;
  model->weight_dtype_ = dtype;
  model->checkpoint_ = checkpoint;
  model->measure_only_ = true;
  WS_TRY(model->declare_parameters());
  return std::move(model->manifest_);
}

Result<LoadPlan> plan_model_load(const Model& model, const Checkpoint& checkpoint, const PlanOptions& options) {
  std::unordered_set<std::string> wanted;
  for (const ManifestEntry& e : model.manifest()) wanted.insert(e.name);
  std::vector<std::string> unexpected;
  for (const TensorInfo& t : checkpoint.tensors) {
    if (!wanted.count(t.name) && !model.tolerates_extra_tensor(t.name)) unexpected.push_back(t.name);
  }
  std::string unexpected_text;
  if (!unexpected.empty()) {
    unexpected_text = "unexpected tensors (" + std::to_string(unexpected.size()) + "): ";
    const size_t shown = std::min<size_t>(unexpected.size(), 20);
    for (size_t i = 0; i < shown; ++i) unexpected_text += (i ? ", " : "") + unexpected[i];
    if (shown < unexpected.size()) unexpected_text += ", ... and " + std::to_string(unexpected.size() - shown) + " more";
  }
  PlanOptions relaxed = options;
  relaxed.allow_unused_tensors = true;
  Result<LoadPlan> plan = plan_load(checkpoint, model.load_manifest(), relaxed);
  if (!plan.is_ok()) {
    Error error = plan.error();
    if (!unexpected_text.empty()) error.message += "; " + unexpected_text;
    return error;
  }
  if (!unexpected.empty()) return make_error(ErrorKind::UnexpectedTensor, unexpected_text);
  return plan;
}

}  // namespace ws
