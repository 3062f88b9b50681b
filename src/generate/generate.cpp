// The generation loop: one batched prefill of the prompt, then one forward
// pass per new token, every token handed to the callback as it is sampled.
#include <algorithm>
#include <chrono>
#include <numeric>
#include <string>

#include "generate/generate.h"

namespace ws {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

Result<GenerateResult> generate(Model& model, const std::vector<int32_t>& prompt, const GenerateOptions& options,
                                const TokenCallback& on_token) {
  if (prompt.empty()) return make_error(ErrorKind::InvalidArgument, "the prompt has no tokens");
  WS_ASSIGN_OR_RETURN(Sampler sampler, Sampler::create(options.sampling));
  const ModelConfig& config = model.config();
  size_t capacity = std::min(config.max_positions, prompt.size() + options.max_new_tokens);
  if (options.max_context > 0) capacity = std::min(capacity, options.max_context);
  if (prompt.size() > capacity) {
    return make_error(ErrorKind::InvalidArgument, "prompt of " + std::to_string(prompt.size()) +
                                                      " tokens does not fit a context of " + std::to_string(capacity));
  }
  WS_ASSIGN_OR_RETURN(KVCache cache, model.make_cache(capacity));

  GenerateResult result;
  std::vector<int32_t> history = prompt;
  std::vector<float> logits(config.vocab_size);
  std::vector<int32_t> positions(prompt.size());
  std::iota(positions.begin(), positions.end(), 0);

  // Plain greedy needs only the argmax, which the backend computes where the
  // logits are (on a GPU: one id comes back per token, not the logits).
  const bool argmax_only = options.sampling.temperature == 0.0f && options.sampling.repetition_penalty == 1.0f;
  int32_t chosen = 0;
  auto step = [&](const int32_t* tokens, const int32_t* at, size_t n) -> Status {
    if (!argmax_only) return model.forward(tokens, at, n, cache, logits.data());
    WS_ASSIGN_OR_RETURN(chosen, model.forward_argmax(tokens, at, n, cache));
    return Status::ok();
  };

  auto start = std::chrono::steady_clock::now();
  WS_TRY(step(prompt.data(), positions.data(), prompt.size()));
  result.prefill_tokens = prompt.size();
  bool prefill = true;
  while (result.ids.size() < options.max_new_tokens) {
    const int32_t id = argmax_only ? chosen : sampler.sample(logits.data(), logits.size(), history);
    if (prefill) {
      result.prefill_seconds = seconds_since(start);
      prefill = false;
      start = std::chrono::steady_clock::now();
    }
    result.ids.push_back(id);
    history.push_back(id);
    const bool keep_going = !on_token || on_token(id);
    if (std::find(options.eos_token_ids.begin(), options.eos_token_ids.end(), id) != options.eos_token_ids.end()) {
      result.stopped_at_eos = true;
      break;
    }
    if (!keep_going || result.ids.size() >= options.max_new_tokens) break;
    const int32_t position = static_cast<int32_t>(history.size() - 1);
    if (static_cast<size_t>(position) >= capacity) break;  // the cache is full
    WS_TRY(step(&id, &position, 1));
    ++result.decode_tokens;
  }
  if (prefill) result.prefill_seconds = seconds_since(start);
  else result.decode_seconds = seconds_since(start);
  return result;
}

}  // namespace ws
