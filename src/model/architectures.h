// Internal: the architectures behind build_model. Each one declares its
// parameters (names as transformers writes them) and its forward pass.
#pragma once

#include <memory>
#include <string>

#include "model/model.h"

namespace ws::detail {

std::unique_ptr<Model> make_gpt2(const ModelConfig& config, Backend& backend, const Checkpoint* checkpoint);
std::unique_ptr<Model> make_llama(const ModelConfig& config, Backend& backend);

}  // namespace ws::detail
