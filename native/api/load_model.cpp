#include "api/load_model.h"

#include <algorithm>

#include "api/memory_budget.h"

namespace ws {

namespace {

// Alignment the kernels may assume of a weight's first byte.
uint64_t weight_alignment(DType dtype) {
  return dtype == DType::F32 ? 4 : 2;  // f16, bf16, and the ggml blocks (an f16 scale first)
}

// map_weights: each parameter stored exactly as it is computed becomes a view
// of its mapped shard (shards are mapped only when one of their tensors is).
// Returns the bytes served from the mapping.
Result<uint64_t> serve_stored_weights(ModelSource& source, Model& model) {
  uint64_t served = 0;
  const Checkpoint& checkpoint = source.checkpoint();
  std::vector<std::shared_ptr<const MappedFile>> mapped(checkpoint.shards.size());
  const std::vector<ManifestEntry>& manifest = model.manifest();
  for (size_t e = 0; e < manifest.size(); ++e) {
    const TensorInfo* t = checkpoint.find(manifest[e].name);
    // A GGUF q/k projection stores its rows in llama.cpp's rotary order: only the copy reorders them.
    if (!t || !manifest[e].destination || t->dtype != manifest[e].dtype || t->shape != manifest[e].shape ||
        t->interleaved_heads != 0) {
      continue;
    }
    if (!mapped[t->shard]) {
      WS_ASSIGN_OR_RETURN(mapped[t->shard], source.map_shard(t->shard, /*populate=*/false));
    }
    const uint8_t* bytes = mapped[t->shard]->data() + t->begin;
    if (reinterpret_cast<uintptr_t>(bytes) % weight_alignment(t->dtype) != 0) continue;  // copied instead
    WS_TRY(model.serve_from_view(e, bytes, t->bytes(), mapped[t->shard]));
    served += t->bytes();
  }
  return served;
}

}  // namespace

Result<BoundModel> load_model(ModelSource& source, const ModelConfig& config, Backend& backend, WeightDType dtype,
                               const ProgressCallback& progress, const LoadOptions& options) {
  const Checkpoint& checkpoint = source.checkpoint();
  ModelLoadOptions sequence;
  const MemoryBudget budget =
      options.max_memory ? MemoryBudget{*options.max_memory, "--max-memory"} : process_memory_budget();
  sequence.budget_bytes = budget.bytes;
  sequence.budget_source = budget.source;
  sequence.context = options.context;
  sequence.group = options.group;
  BoundModel loaded;
  WS_ASSIGN_OR_RETURN(loaded.model, build_admitted_model(config, backend, dtype, checkpoint, sequence));
  if (options.map_weights && backend.computes_from_host_views()) {
    WS_ASSIGN_OR_RETURN(loaded.mapped_bytes, serve_stored_weights(source, *loaded.model));
  }
  // Quantising while loading is compute-bound (Q4_K: ~65 ns per element on
  // one core): windows are converted on as many threads as the model computes with.
  const unsigned readers = std::max(1u, options.readers);
  WS_ASSIGN_OR_RETURN(std::unique_ptr<ModelLoad> load,
                      ModelLoad::start(*loaded.model, checkpoint, backend, backend.threads(), progress, readers));
  ParallelFill fill;
  fill.readers = readers;
  fill.staging_bytes = PlanOptions().staging_bytes;
  WS_TRY(source.load(*load->executor(), fill));
  WS_TRY(load->finish());
  loaded.bound_bytes = load->plan().bytes_to_bind;
  loaded.read_bytes = load->plan().bytes_needed;
  return loaded;
}

Result<uint64_t> stream_plan(ModelSource& source, const LoadPlan& plan, const std::vector<ManifestEntry>& manifest,
                             const StreamOptions& options) {
  WS_ASSIGN_OR_RETURN(std::unique_ptr<LoadExecutor> executor, make_load_executor(plan, manifest, options));
  WS_TRY(source.load(*executor, options.readers));
  return executor->staging_allocated();  // the executor, and with it the staging buffer, goes here
}

}  // namespace ws
