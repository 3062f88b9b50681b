// Perplexity of a model on a token sequence: how surprised it is by each next
// token, exp(mean(-log p(token_i | tokens_<i))). The standard yardstick for
// what a weight dtype costs in quality (llama.cpp's llama-perplexity computes
// the same quantity over its own windows).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/result.h"
#include "model/model.h"

namespace ws {

struct PerplexityResult {
  size_t scored_tokens = 0;    // tokens 1 .. n-1 of the window
  double mean_nll = 0;         // mean negative log-likelihood, nats
  double perplexity = 0;       // exp(mean_nll)
  double seconds = 0;
};

// Scores ids[1..n) given their prefixes, n = min(ids.size(), context): one
// window from the start, one forward pass per token (the logits of every
// position are needed, and forward() returns the last token's). Log-softmax
// in double. Errors: InvalidArgument (fewer than 2 ids, context 0 or above
// the model's maximum, ids out of range), OutOfBudget (the KV cache).
Result<PerplexityResult> perplexity(Model& model, const std::vector<int32_t>& ids, size_t context);

}  // namespace ws
