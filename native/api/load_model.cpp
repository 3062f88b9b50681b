#include "api/load_model.h"

#include <algorithm>

#include "api/memory_budget.h"
#include "model/admission.h"

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
  // A GPU backend's weights are device memory; host admission is for the
  // backends that compute in this process's memory.
  if (backend.computes_on_host()) {
    AdmissionOptions admission;
    admission.context = options.context;
    admission.staging_bytes = PlanOptions().staging_bytes;
    admission.group = options.group;
    const MemoryBudget budget =
        options.max_memory ? MemoryBudget{*options.max_memory, "--max-memory"} : process_memory_budget();
    WS_TRY(admit_model(config, backend, dtype, &checkpoint, budget.bytes, budget.source, admission));
  }
  BoundModel loaded;
  WS_ASSIGN_OR_RETURN(loaded.model, build_model(config, backend, dtype, &checkpoint, options.group));
  if (options.map_weights && backend.computes_from_host_views()) {
    WS_ASSIGN_OR_RETURN(loaded.mapped_bytes, serve_stored_weights(source, *loaded.model));
  }
  // A GPU backend stages windows in its pinned buffers and copies them while
  // the next ones are read; finish_load() waits for the last copy.
  StagingProvider* staging = backend.load_staging(PlanOptions().staging_bytes);
  PlanOptions plan_options;
  plan_options.staging_bytes =
      window_bytes_for_readers(PlanOptions().staging_bytes, options.readers, staging == nullptr);
  WS_ASSIGN_OR_RETURN(LoadPlan plan, plan_model_load(*loaded.model, checkpoint, plan_options));
  StreamOptions stream;
  // Quantising while loading is compute-bound (Q4_K: ~65 ns per element on
  // one core): windows are converted on as many threads as the model computes with.
  stream.conversion_threads = backend.threads();
  stream.staging = staging;
  stream.progress = progress;
  stream.readers.readers = std::max(1u, options.readers);
  stream.readers.staging_bytes = PlanOptions().staging_bytes;
  WS_TRY(stream_plan(source, plan, loaded.model->load_manifest(), stream).status());
  WS_TRY(backend.finish_load());
  for (WeightTensor* weight : loaded.model->linear_only_weights()) backend.prepare_linear_weight(*weight);
  loaded.bound_bytes = plan.bytes_to_bind;
  loaded.read_bytes = plan.bytes_needed;
  return loaded;
}

uint64_t window_bytes_for_readers(uint64_t staging_bytes, unsigned readers, bool host_staging) {
  if (!host_staging || readers <= 1) return staging_bytes;
  return std::max<uint64_t>(1, staging_bytes / readers);
}

Result<uint64_t> stream_plan(ModelSource& source, const LoadPlan& plan, const std::vector<ManifestEntry>& manifest,
                             const StreamOptions& options) {
  WS_ASSIGN_OR_RETURN(std::unique_ptr<LoadExecutor> executor, LoadExecutor::create(plan, manifest));
  if (options.progress) executor->set_progress(options.progress);
  executor->set_conversion_threads(options.conversion_threads);
  executor->set_staging(options.staging);
  WS_TRY(source.load(*executor, options.readers));
  return executor->staging_allocated();  // the executor, and with it the staging buffer, goes here
}

}  // namespace ws
