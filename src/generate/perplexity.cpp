#include "generate/perplexity.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace ws {

Result<PerplexityResult> perplexity(Model& model, const std::vector<int32_t>& ids, size_t context) {
  const size_t n = std::min(ids.size(), context);
  if (n < 2) return make_error(ErrorKind::InvalidArgument, "perplexity needs at least 2 tokens in the window");
  const auto start = std::chrono::steady_clock::now();
  WS_ASSIGN_OR_RETURN(KVCache cache, model.make_cache(n));
  std::vector<float> logits(model.config().vocab_size);
  double total_nll = 0;
  for (size_t i = 0; i + 1 < n; ++i) {
    const int32_t position = static_cast<int32_t>(i);
    WS_TRY(model.forward(&ids[i], &position, 1, cache, logits.data()));
    const int32_t next = ids[i + 1];
    if (next < 0 || static_cast<size_t>(next) >= logits.size()) {
      return make_error(ErrorKind::InvalidArgument, "token id " + std::to_string(next) + " out of range");
    }
    const double top = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (float l : logits) sum += std::exp(static_cast<double>(l) - top);
    total_nll += top + std::log(sum) - static_cast<double>(logits[static_cast<size_t>(next)]);
  }
  PerplexityResult result;
  result.scored_tokens = n - 1;
  result.mean_nll = total_nll / static_cast<double>(n - 1);
  result.perplexity = std::exp(result.mean_nll);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace ws
