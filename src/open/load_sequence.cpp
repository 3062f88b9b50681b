#include "open/load_sequence.h"

#include <algorithm>

#include "model/admission.h"

namespace ws {

Result<std::unique_ptr<Model>> build_admitted_model(const ModelConfig& config, Backend& backend, WeightDType dtype,
                                                    const Checkpoint& checkpoint, const ModelLoadOptions& options) {
  if (backend.computes_on_host()) {
    AdmissionOptions admission;
    admission.context = options.context;
    admission.staging_bytes = PlanOptions().staging_bytes;
    admission.group = options.group;
    WS_TRY(admit_model(config, backend, dtype, &checkpoint, options.budget_bytes, options.budget_source, admission));
  }
  return build_model(config, backend, dtype, &checkpoint, options.group);
}

Result<std::unique_ptr<LoadExecutor>> make_load_executor(const LoadPlan& plan,
                                                         const std::vector<ManifestEntry>& manifest,
                                                         const StreamOptions& options) {
  WS_ASSIGN_OR_RETURN(std::unique_ptr<LoadExecutor> executor, LoadExecutor::create(plan, manifest));
  if (options.progress) executor->set_progress(options.progress);
  executor->set_conversion_threads(options.conversion_threads);
  executor->set_staging(options.staging);
  return executor;
}

uint64_t window_bytes_for_readers(uint64_t staging_bytes, unsigned readers, bool host_staging) {
  if (!host_staging || readers <= 1) return staging_bytes;
  return std::max<uint64_t>(1, staging_bytes / readers);
}

Result<std::unique_ptr<ModelLoad>> ModelLoad::start(Model& model, const Checkpoint& checkpoint, Backend& backend,
                                                    int conversion_threads, ProgressCallback progress,
                                                    unsigned readers) {
  StreamOptions stream;
  stream.conversion_threads = conversion_threads;
  // A GPU backend stages windows in its pinned buffers and copies them while
  // the next ones are read; finish() waits for the last copy.
  stream.staging = backend.load_staging(PlanOptions().staging_bytes);
  stream.progress = std::move(progress);
  PlanOptions plan_options;
  plan_options.staging_bytes =
      window_bytes_for_readers(PlanOptions().staging_bytes, readers, stream.staging == nullptr);
  WS_ASSIGN_OR_RETURN(LoadPlan plan, plan_model_load(model, checkpoint, plan_options));
  std::unique_ptr<ModelLoad> load(new ModelLoad(model, checkpoint, backend, std::move(plan)));
  WS_ASSIGN_OR_RETURN(load->executor_, make_load_executor(load->plan_, model.load_manifest(), stream));
  return load;
}

Status ModelLoad::finish() {
  if (!executor_) return make_error(ErrorKind::InvalidArgument, "the load is finished already");
  for (size_t s = 0; s < checkpoint_.shards.size(); ++s) {
    if (!executor_->shard_done(s)) {
      return make_error(ErrorKind::Truncated, checkpoint_.shards[s].file_name + ": load stopped at byte " +
                                                  std::to_string(executor_->next(s).file_offset));
    }
  }
  executor_.reset();  // frees the staging buffer before generation
  WS_TRY(backend_.finish_load());
  for (WeightTensor* weight : model_.linear_only_weights()) backend_.prepare_linear_weight(*weight);
  return Status::ok();
}

}  // namespace ws
