#include "parity_check.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "generate/generate.h"

namespace ws::test {

float expect_transformers_parity(Model& model, const Reference& ref, float logit_tolerance) {
  float max_diff = -1;
  [&] {
  ASSERT_FALSE(ref.prompt.empty()) << "no reference.json for this fixture";
  Result<KVCache> cache = model.make_cache(64);
  ASSERT_TRUE(cache.is_ok());
  std::vector<int32_t> positions(ref.prompt.size());
  std::iota(positions.begin(), positions.end(), 0);
  std::vector<float> logits(model.config().vocab_size);
  ASSERT_TRUE(model.forward(ref.prompt.data(), positions.data(), ref.prompt.size(), *cache, logits.data()).is_ok());
  ASSERT_EQ(logits.size(), ref.logits.size());
  max_diff = 0;
  for (size_t i = 0; i < logits.size(); ++i) max_diff = std::max(max_diff, std::fabs(logits[i] - ref.logits[i]));
  EXPECT_LE(max_diff, logit_tolerance);
  // The greedy shortcut (the argmax computed where the logits are) picks the
  // same id as the host does from the fetched logits. Same tokens at the same
  // positions: the cache slots are rewritten with the same values.
  Result<int32_t> argmax = model.forward_argmax(ref.prompt.data(), positions.data(), ref.prompt.size(), *cache);
  ASSERT_TRUE(argmax.is_ok()) << argmax.error().to_string();
  EXPECT_EQ(*argmax, std::max_element(logits.begin(), logits.end()) - logits.begin());

  GenerateOptions options;
  options.sampling.temperature = 0;
  options.max_new_tokens = ref.greedy.size();
  std::vector<int32_t> streamed;
  Result<GenerateResult> result = generate(model, ref.prompt, options, [&](int32_t id) {
    streamed.push_back(id);
    return true;
  });
  ASSERT_TRUE(result.is_ok()) << result.error().to_string();
  EXPECT_EQ(result->ids, ref.greedy);
  EXPECT_EQ(streamed, result->ids);
  EXPECT_EQ(result->prefill_tokens, ref.prompt.size());
  EXPECT_EQ(result->decode_tokens, ref.greedy.size() - 1);
  }();
  return max_diff;
}

std::vector<int32_t> greedy_continuation(Model& model, const Reference& ref) {
  GenerateOptions options;
  options.sampling.temperature = 0;
  options.max_new_tokens = ref.greedy.size();
  Result<GenerateResult> result = generate(model, ref.prompt, options, [](int32_t) { return true; });
  EXPECT_TRUE(result.is_ok()) << result.error().to_string();
  return result ? result->ids : std::vector<int32_t>{};
}

}  // namespace ws::test
