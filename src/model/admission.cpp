#include "model/admission.h"

#include <algorithm>
#include <cstdio>

namespace ws {

namespace {

std::string mib(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

// Products of sizes from config.json saturate instead of wrapping: a hostile
// config then needs "everything" and is refused.
uint64_t mul(uint64_t a, uint64_t b) {
  uint64_t r;
  return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}
uint64_t add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

}  // namespace

uint64_t MemoryNeed::total() const { return add(add(weights, kv_cache), add(activations, staging)); }

Result<MemoryNeed> estimate_memory(const ModelConfig& config, Backend& backend, WeightDType dtype,
                                   const Checkpoint* checkpoint, const AdmissionOptions& options) {
  WS_ASSIGN_OR_RETURN(std::vector<ManifestEntry> manifest, measure_model(config, backend, dtype, checkpoint, options.group));
  MemoryNeed need;
  for (const ManifestEntry& e : manifest) {
    WS_ASSIGN_OR_RETURN(uint64_t numel, WeightTensor::checked_numel(e.dtype, e.shape));
    need.weights = add(need.weights, dtype_storage_bytes(e.dtype, numel));
  }
  const uint64_t context = options.context ? std::min<uint64_t>(options.context, config.max_positions)
                                           : std::min<uint64_t>(config.max_positions, 2048);
  const uint64_t kv_row = uint64_t{config.kv_heads} * config.head_dim;
  need.kv_cache = mul(mul(2 * sizeof(float), context), mul(config.layers, kv_row));
  // The scratch slots of one forward (model code): the residual and its
  // normalised copy, q/k/v, the attention output, the MLP's two widths, and
  // the logits; sized for the prefill batch.
  const uint64_t tokens = std::min<uint64_t>(options.prefill_tokens, context);
  const uint64_t q_dim = uint64_t{config.heads} * config.head_dim;
  const uint64_t per_token =
      add(add(mul(3, config.hidden_size), mul(2, q_dim)), add(mul(2, kv_row), mul(3, config.intermediate_size)));
  need.activations = mul(add(mul(tokens, per_token), config.vocab_size), sizeof(float));
  need.staging = options.staging_bytes;
  return need;
}

Status admit_model(const ModelConfig& config, Backend& backend, WeightDType dtype, const Checkpoint* checkpoint,
                   uint64_t available_bytes, const std::string& budget_source, const AdmissionOptions& options) {
  WS_ASSIGN_OR_RETURN(MemoryNeed need, estimate_memory(config, backend, dtype, checkpoint, options));
  if (need.total() <= available_bytes) return Status::ok();
  std::string fitting;
  for (WeightDType candidate : {WeightDType::BF16, WeightDType::Q8_0, WeightDType::Q6_K, WeightDType::Q5_K,
                                WeightDType::Q4_K, WeightDType::Q4_0}) {
    if (candidate == dtype) continue;
    Result<MemoryNeed> other = estimate_memory(config, backend, candidate, checkpoint, options);
    if (other && other->total() <= available_bytes) {
      fitting += std::string(fitting.empty() ? "" : ", ") + weight_dtype_name(candidate) + " (" +
                 mib(other->total()) + ")";
    }
  }
  return make_error(ErrorKind::OutOfBudget,
                    std::string("the model does not fit: --dtype ") + weight_dtype_name(dtype) + " needs " +
                        mib(need.total()) + " (weights " + mib(need.weights) + ", KV cache " + mib(need.kv_cache) +
                        ", activations " + mib(need.activations) + ", staging " + mib(need.staging) + "), " +
                        mib(available_bytes) + " available (" + budget_source + "); " +
                        (fitting.empty() ? std::string("no weight dtype fits")
                                         : "dtypes that fit: " + fitting));
}

}  // namespace ws
