// The transformers parity check every backend must pass on a fixture: the
// prompt's last-position logits within 1e-4 of transformers', then its greedy
// continuation token for token (streamed ids = returned ids).
#pragma once

#include "model_fixture.h"

namespace ws::test {

// `logit_tolerance`: the largest |ours - transformers| allowed on the
// prompt's last-position logits (quantized weights need more than f32's 1e-4).
// Returns the largest difference seen.
float expect_transformers_parity(Model& model, const Reference& ref, float logit_tolerance = 1e-4f);

// The greedy continuation of ref.prompt, as many ids as ref.greedy holds
// (empty, and the test failed, on an error).
std::vector<int32_t> greedy_continuation(Model& model, const Reference& ref);

}  // namespace ws::test
