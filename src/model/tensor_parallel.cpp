#include "model/tensor_parallel.h"

#include <string>

namespace ws {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool names_layer(std::string_view name, std::string_view layer) {
  return ends_with(name, std::string(layer) + ".weight") || ends_with(name, std::string(layer) + ".bias");
}

}  // namespace

ParallelSplit megatron_split(std::string_view name) {
  for (std::string_view layer : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "mlp.gate_proj",
                                 "mlp.up_proj"}) {
    if (names_layer(name, layer)) return ParallelSplit::Outputs;
  }
  for (std::string_view layer : {"self_attn.o_proj", "mlp.down_proj"}) {
    if (ends_with(name, std::string(layer) + ".weight")) return ParallelSplit::Inputs;
  }
  return ParallelSplit::Replicated;
}

Result<std::optional<TensorSlice>> megatron_slice(std::string_view name, const std::vector<uint64_t>& shape,
                                                  uint64_t rank, uint64_t world, uint64_t unit) {
  if (world == 0 || rank >= world || unit == 0) {
    return make_error(ErrorKind::InvalidArgument, "rank " + std::to_string(rank) + " of a world of " +
                                                      std::to_string(world) + " (unit " + std::to_string(unit) + ")");
  }
  const ParallelSplit split = megatron_split(name);
  if (split == ParallelSplit::Replicated || world == 1 || shape.empty()) return std::optional<TensorSlice>();
  const size_t dim = split == ParallelSplit::Outputs ? 0 : shape.size() - 1;
  const uint64_t extent = shape[dim];
  if (extent % unit != 0 || (extent / unit) % world != 0) {
    return make_error(ErrorKind::InvalidArgument,
                      std::string(name) + ": " + std::to_string(extent / unit) + " units of " + std::to_string(unit) +
                          " along dim " + std::to_string(dim) + " do not divide among " + std::to_string(world) +
                          " ranks");
  }
  const uint64_t per_rank = extent / world;
  return std::optional<TensorSlice>(TensorSlice{dim, rank * per_rank, (rank + 1) * per_rank});
}

}  // namespace ws
