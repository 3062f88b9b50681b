// Tensor parallelism, Megatron's layout, over Hugging Face parameter names:
// column-parallel layers (q/k/v, gate/up: each rank keeps some outputs, i.e.
// rows of the [out, in] weight, and that part of the bias) feed row-parallel
// ones (o_proj, down_proj: each rank keeps the matching inputs, i.e. columns;
// their partial products are summed across ranks, so their bias stays whole);
// everything else (norms, embeddings, the head) is replicated.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "load/load.h"

namespace ws {

enum class ParallelSplit { Replicated, Outputs, Inputs };

ParallelSplit megatron_split(std::string_view name);

// The part of parameter `name` (of `shape`) rank `rank` of `world` keeps, or
// none when it is replicated. The split is in whole `unit`s of the split
// dimension (head_dim for attention projections, so heads stay whole; 1 for
// the MLP), equally: InvalidArgument when the units do not divide by `world`
// (as Megatron and vLLM require) or rank >= world.
Result<std::optional<TensorSlice>> megatron_slice(std::string_view name, const std::vector<uint64_t>& shape,
                                                  uint64_t rank, uint64_t world, uint64_t unit = 1);

}  // namespace ws
