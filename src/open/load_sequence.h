// THE load sequence, for every target: admission (will the weights, KV cache,
// activations and staging fit?), the model's buffers, the plan that matches
// them with the checkpoint, the executor that fills them, and the last step
// after the final byte. Nothing here reads bytes: the native sources pull
// them (native/api/load_model.cpp), the browser pushes fetched chunks
// (web/src/session.cpp). Both call these functions, in this order:
//   build_admitted_model -> [native: serve mapped views] -> ModelLoad::start
//   -> the transport feeds executor() -> ModelLoad::finish.
// Cancellation is the executor's (LoadExecutor::cancel, or a transport that
// stops feeding it); a ModelLoad dropped before finish() frees its staging.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backend/backend.h"
#include "core/result.h"
#include "format/format.h"
#include "load/load.h"
#include "model/model.h"

namespace ws {

struct ModelLoadOptions {
  // Bytes the load may use (weights + KV cache + activations + staging) and
  // where that limit comes from ("--max-memory", "MemAvailable in
  // /proc/meminfo", "a wasm32 module's 4 GiB ..."), for the OutOfBudget message.
  uint64_t budget_bytes = UINT64_MAX;
  std::string budget_source;
  // Positions admission sizes the KV cache for (0: min(model maximum, 2048));
  // a target's max_context.
  size_t context = 0;
  // Tensor parallelism: this process is one rank of `group` (not owned; it
  // must outlive the model) and builds only its slices.
  Collective* group = nullptr;
};

// Admits the load when `backend` computes in host memory (a GPU backend's
// weights are device memory), then builds the model for `config` on it
// (buffers allocated, untouched). `checkpoint` must outlive the model.
// Errors: OutOfBudget (what was needed, what was available, the dtypes that
// would fit), build_model's.
Result<std::unique_ptr<Model>> build_admitted_model(const ModelConfig& config, Backend& backend, WeightDType dtype,
                                                    const Checkpoint& checkpoint, const ModelLoadOptions& options);

// How the executor converts and stages (shared with native's bind_checkpoint).
struct StreamOptions {
  int conversion_threads = 1;
  StagingProvider* staging = nullptr;  // nullptr: the executor's own host buffer
  ProgressCallback progress;           // may be empty
  ParallelFill readers;                // readers per shard a native source fills it with (one by default)
};

// The plan's window size for `readers` parallel readers sharing a staging
// budget of `staging_bytes` on the host: one slot each. A store or backend
// with its own staging (a GPU's pinned buffers) keeps the whole budget per
// window (its shards are read by one reader).
uint64_t window_bytes_for_readers(uint64_t staging_bytes, unsigned readers, bool host_staging);

// An executor for `plan` (made for `manifest`, both outliving it) set up as
// `options` say. Errors: LoadExecutor::create's.
Result<std::unique_ptr<LoadExecutor>> make_load_executor(const LoadPlan& plan,
                                                         const std::vector<ManifestEntry>& manifest,
                                                         const StreamOptions& options);

// One model's load in progress: its plan and the executor a transport feeds.
class ModelLoad {
 public:
  // Plans `model`'s load (its buffers allocated, mapped views already served)
  // against `checkpoint` (every missing or mis-shaped tensor in one error)
  // and makes the executor: staging in the backend's buffers where it has
  // them (a GPU's pinned ring), windows converted on `conversion_threads`
  // (native: the backend's threads; the wasm module: 1, its thread pool is
  // the backend's), windows cut for `readers` parallel readers sharing the
  // staging budget (native sources; the browser feeds one stream).
  // `model`, `checkpoint` and `backend` must outlive it.
  // Errors: plan_model_load's (MissingTensor, ShapeMismatch,
  // UnexpectedTensor, Unsupported), LoadExecutor::create's.
  static Result<std::unique_ptr<ModelLoad>> start(Model& model, const Checkpoint& checkpoint, Backend& backend,
                                                  int conversion_threads, ProgressCallback progress = {},
                                                  unsigned readers = 1);

  const LoadPlan& plan() const { return plan_; }
  // What the transport feeds until every shard is done; nullptr after finish().
  LoadExecutor* executor() { return executor_.get(); }

  // After the last byte: Truncated when a shard stopped short (naming the
  // file and byte), then the executor and its staging go, the backend's last
  // copies land (Backend::finish_load's errors) and the weights only matmuls
  // read are prepared (Backend::prepare_linear_weight). InvalidArgument when
  // called twice.
  Status finish();

 private:
  ModelLoad(Model& model, const Checkpoint& checkpoint, Backend& backend, LoadPlan plan)
      : model_(model), checkpoint_(checkpoint), backend_(backend), plan_(std::move(plan)) {}
  Model& model_;
  const Checkpoint& checkpoint_;
  Backend& backend_;
  LoadPlan plan_;  // the executor keeps a reference: a ModelLoad does not move
  std::unique_ptr<LoadExecutor> executor_;
};

}  // namespace ws
