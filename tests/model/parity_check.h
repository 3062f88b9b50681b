// The transformers parity check every backend must pass on a fixture: the
// prompt's last-position logits within 1e-4 of transformers', then its greedy
// continuation token for token (streamed ids = returned ids).
#pragma once

#include "model_fixture.h"

namespace ws::test {

void expect_transformers_parity(Model& model, const Reference& ref);

}  // namespace ws::test
