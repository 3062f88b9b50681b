#include "api/bind_checkpoint.h"

#include <algorithm>
#include <utility>

#include "model/tensor_parallel.h"

namespace ws {

namespace {

// The dtype tensor `t` is bound in. A ggml block type is, as llama.cpp's
// quantizer does it, only for matrices whose rows are whole blocks: vectors
// (norms, biases) keep their dtype.
DType bound_dtype(const TensorInfo& t, const std::vector<uint64_t>& shape, std::optional<DType> target) {
  if (!target || !can_convert(t.dtype, *target)) return t.dtype;
  if (dtype_is_quantized(*target) && *target != t.dtype &&
      (shape.size() < 2 || shape.back() % dtype_block_elements(*target) != 0)) {
    return t.dtype;
  }
  return *target;
}

Status check_rank(const CheckpointBindOptions& options) {
  if (options.world_size == 0 || options.rank >= options.world_size) {
    return make_error(ErrorKind::InvalidArgument, "rank " + std::to_string(options.rank) +
                                                      " is outside a world of " + std::to_string(options.world_size));
  }
  return Status::ok();
}

}  // namespace

Status check_bind_options(const CheckpointBindOptions& options, BackendKind kind) {
  WS_TRY(check_rank(options));
  // Host memory holds both; torch tensors hold neither (kinds, not builds:
  // the same answer whether or not this build has LibTorch).
  if (kind == BackendKind::Torch) {
    const std::optional<DType> target = weight_dtype_storage(options.dtype);
    if (target && dtype_is_quantized(*target)) {
      return make_error(ErrorKind::InvalidArgument, std::string("--dtype ") + weight_dtype_name(options.dtype) +
                                                        " binds ggml blocks, which --backend torch does not hold");
    }
    if (options.map_weights) {
      return make_error(ErrorKind::InvalidArgument,
                        "--bind mmap binds page-cache views, not torch tensors: use --bind copy with --backend torch");
    }
  }
  return Status::ok();
}

uint64_t BoundCheckpoint::bound_bytes() const {
  uint64_t bytes = 0;
  for (const BoundTensor& t : tensors_) bytes += t.bytes;
  return bytes;
}

Status BoundCheckpoint::visit_bytes(size_t i, const std::function<void(const uint8_t*, uint64_t)>& visit) const {
  const BoundTensor& t = tensors_[i];
  if (t.mapped) {
    const uint8_t* bytes = views_[i];
    return mappings_[tensor_shard_[i]]->read_guarded([&] { visit(bytes, t.bytes); });
  }
  if (const uint8_t* host = store_->host_bytes(store_index_[i])) {
    visit(host, t.bytes);
    return Status::ok();
  }
  const std::vector<uint8_t> copy = store_->copy_to_host(store_index_[i]);  // a device tensor, one at a time
  visit(copy.data(), copy.size());
  return Status::ok();
}

Result<BoundCheckpoint> bind_checkpoint(ModelSource& source, std::unique_ptr<TensorStore> store,
                                        const CheckpointBindOptions& options) {
  const std::optional<DType> target = weight_dtype_storage(options.dtype);
  if (!store->holds_blocks() && target && dtype_is_quantized(*target)) {
    return make_error(ErrorKind::InvalidArgument,
                      std::string("this store does not hold ggml blocks (--dtype ") + weight_dtype_name(options.dtype) + ")");
  }
  if (!store->holds_views() && options.map_weights) {
    return make_error(ErrorKind::InvalidArgument, "this store does not take mapped views (--bind mmap)");
  }
  WS_TRY(check_rank(options));
  const Checkpoint& checkpoint = source.checkpoint();
  const size_t n = checkpoint.tensors.size();
  BoundCheckpoint bound;
  bound.tensors_.resize(n);
  bound.views_.assign(n, nullptr);
  bound.tensor_shard_.resize(n);
  bound.store_index_.assign(n, 0);
  bound.mappings_.resize(checkpoint.shards.size());

  // This rank's part of each tensor (none: the whole tensor) and the shape and dtype it binds.
  for (size_t i = 0; i < n; ++i) {
    const TensorInfo& t = checkpoint.tensors[i];
    BoundTensor& b = bound.tensors_[i];
    WS_ASSIGN_OR_RETURN(b.slice, megatron_slice(t.name, t.shape, options.rank, options.world_size));
    b.shape = t.shape;
    if (b.slice) b.shape[b.slice->dim] = b.slice->end - b.slice->begin;
    b.dtype = bound_dtype(t, b.shape, target);
    bound.tensor_shard_[i] = t.shard;
  }

  // Zero-copy: map each shard once; tensors that keep their dtype become views.
  if (options.map_weights) {
    std::vector<bool> shard_has_view(checkpoint.shards.size(), false);
    for (size_t i = 0; i < n; ++i) {
      const TensorInfo& t = checkpoint.tensors[i];
      if (!bound.tensors_[i].slice && bound.tensors_[i].dtype == t.dtype) shard_has_view[t.shard] = true;
    }
    for (size_t s = 0; s < checkpoint.shards.size(); ++s) {
      if (!shard_has_view[s]) continue;  // every tensor converts: nothing to map
      WS_ASSIGN_OR_RETURN(bound.mappings_[s], source.map_shard(s, /*populate=*/true));
    }
  }

  // The manifest: every tensor that is not a view, each into its own store entry.
  std::vector<ManifestEntry> manifest;
  manifest.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const TensorInfo& t = checkpoint.tensors[i];
    BoundTensor& b = bound.tensors_[i];
    // A GGUF q/k projection stores its rows in llama.cpp's rotary order: only
    // the planned copy puts them back, so it is never a view (nor is a slice).
    if (bound.mappings_[t.shard] && b.dtype == t.dtype && t.interleaved_heads == 0 && !b.slice) {
      b.mapped = true;
      b.bytes = t.bytes();
      bound.views_[i] = bound.mappings_[t.shard]->data() + t.begin;
      continue;
    }
    uint64_t kept = 1;
    for (uint64_t d : b.shape) kept *= d;  // at most the stored tensor's numel
    b.bytes = dtype_storage_bytes(b.dtype, kept);
    bound.store_index_[i] = manifest.size();
    bound.copied_.push_back(i);
    manifest.push_back({t.name, b.dtype, b.shape, nullptr, b.slice});
  }
  WS_TRY(store->materialize(manifest, options.staging_bytes));

  PlanOptions plan_options;
  plan_options.staging_bytes =
      window_bytes_for_readers(options.staging_bytes, options.readers, store->staging() == nullptr);
  WS_ASSIGN_OR_RETURN(LoadPlan plan, plan_load(checkpoint, manifest, plan_options));
  StreamOptions stream;
  stream.conversion_threads = options.conversion_threads;
  stream.staging = store->staging();
  stream.readers.readers = std::max(1u, options.readers);
  stream.readers.staging_bytes = options.staging_bytes;
  stream.progress = options.progress;
  const uint64_t pinned_bytes = store->pinned_bytes();  // finish_load frees them
  Result<uint64_t> staged = stream_plan(source, plan, manifest, stream);
  // The last copies land (or fail) before this returns, even after an error.
  Status finished = store->finish_load();
  WS_TRY(staged.status());
  WS_TRY(finished);
  // A mapped shard that shrank during the load has lost pages its views point
  // into (reading them is a SIGBUS): that load failed.
  for (const std::shared_ptr<const MappedFile>& mapping : bound.mappings_) {
    if (mapping) {
      WS_TRY(mapping->check_unchanged());
    }
  }
  bound.staging_bytes_ = *staged + pinned_bytes;
  bound.read_bytes_ = plan.bytes_to_read;
  bound.needed_bytes_ = plan.bytes_needed;
  bound.store_ = std::move(store);
  return bound;
}

}  // namespace ws
