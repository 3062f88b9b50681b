// Admission: decide whether a model fits BEFORE any weight buffer is touched,
// so an over-large load fails at once with a typed error that says what would
// fit, instead of being killed by the OOM killer halfway through.
#pragma once

#include <cstdint>
#include <string>

#include "backend/backend.h"
#include "core/result.h"
#include "format/format.h"
#include "model/model.h"

namespace ws {

// What a load and a generation need, in bytes.
struct MemoryNeed {
  uint64_t weights = 0;      // every parameter in its chosen dtype
  uint64_t kv_cache = 0;     // keys and values (f32) for the context
  uint64_t activations = 0;  // scratch of one batched forward of the prefill tokens, and the logits
  uint64_t staging = 0;      // the loader's staging buffer
  uint64_t total() const;  // saturating
};

struct AdmissionOptions {
  // Positions the KV cache is sized for (0: min(model maximum, 2048)).
  size_t context = 0;
  // Prompt tokens of the one batched prefill forward the activations are
  // sized for (capped at the context).
  size_t prefill_tokens = 512;
  uint64_t staging_bytes = 16ull << 20;
  // Tensor parallelism: count only this rank's slices (build_model's group).
  Collective* group = nullptr;
};

// The need of `config` held in `dtype` (parameters measured exactly as
// build_model would declare them, nothing allocated). Errors: build_model's.
Result<MemoryNeed> estimate_memory(const ModelConfig& config, Backend& backend, WeightDType dtype,
                                   const Checkpoint* checkpoint, const AdmissionOptions& options = {});

// OutOfBudget when the need is above `available_bytes`, naming the bytes
// needed (weights, KV cache, activations, staging), the bytes available and
// where that limit comes from (`budget_source`, e.g. "MemAvailable"), and the
// weight dtypes that would fit. Errors of estimate_memory otherwise.
Status admit_model(const ModelConfig& config, Backend& backend, WeightDType dtype, const Checkpoint* checkpoint,
                   uint64_t available_bytes, const std::string& budget_source, const AdmissionOptions& options = {});

}  // namespace ws
