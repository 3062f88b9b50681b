// generate: sampler (greedy, temperature, top-k, top-p, repetition penalty)
// and the generation loop (one batched prefill, then one token per step),
// delivering each token through a callback as soon as it is chosen.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/result.h"
#include "model/model.h"

namespace ws {

struct SamplingOptions {
  float temperature = 1.0f;         // 0 = greedy (argmax)
  size_t top_k = 0;                 // 0 = off
  float top_p = 1.0f;               // 1 = off
  float repetition_penalty = 1.0f;  // 1 = off; as transformers' RepetitionPenaltyLogitsProcessor
  uint64_t seed = 0;                // same seed, same logits -> same tokens, on every platform
};

// Deterministic: its random numbers come from its own seeded generator
// (xoshiro256**), not from the standard library's distributions, whose
// results differ between implementations.
class Sampler {
 public:
  // Errors: InvalidArgument for temperature < 0, top_p outside (0, 1],
  // repetition_penalty <= 0 or a non-finite value.
  static Result<Sampler> create(const SamplingOptions& options);

  // Chooses the next token from `logits` (modified in place) in the order
  // transformers applies them: repetition penalty over the distinct ids of
  // `history`, then greedy argmax, or temperature -> top-k -> top-p -> draw.
  int32_t sample(float* logits, size_t vocab, const std::vector<int32_t>& history);

  const SamplingOptions& options() const { return options_; }

 private:
  explicit Sampler(const SamplingOptions& options);
  double next_uniform();  // [0, 1)

  SamplingOptions options_;
  uint64_t state_[4];
  std::vector<float> work_;
  std::vector<int32_t> order_;
  std::vector<uint8_t> seen_;
};

struct GenerateOptions {
  SamplingOptions sampling;
  size_t max_new_tokens = 32;
  // Positions the KV cache may hold; 0 = the model's maximum. The cache is
  // sized min(this, model maximum, prompt + max_new_tokens).
  size_t max_context = 0;
  std::vector<int32_t> eos_token_ids;  // generation stops after emitting one (it is included)
};

struct GenerateResult {
  std::vector<int32_t> ids;  // generated tokens only
  bool stopped_at_eos = false;
  size_t prefill_tokens = 0;
  double prefill_seconds = 0;  // the prompt's forward pass and the first token
  size_t decode_tokens = 0;    // forward passes after the prefill
  double decode_seconds = 0;
};

// Called with each generated id as soon as it is sampled; return false to stop.
using TokenCallback = std::function<bool(int32_t id)>;

// Runs the prompt through `model` in one batched forward pass, then samples up
// to max_new_tokens, stopping early at an EOS id, when the callback returns
// false, or when the KV cache is full. Errors: InvalidArgument (empty prompt,
// prompt longer than the context, bad ids, bad sampling options),
// OutOfBudget (cache allocation).
Result<GenerateResult> generate(Model& model, const std::vector<int32_t>& prompt, const GenerateOptions& options,
                                const TokenCallback& on_token = nullptr);

}  // namespace ws
