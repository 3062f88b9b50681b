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

Result<ParallelShard> make_parallel_shard(uint64_t heads, uint64_t kv_heads, uint64_t head_dim, uint64_t inner,
                                          uint64_t rank, uint64_t world) {
  const std::string where = "tensor parallelism over " + std::to_string(world) + " ranks: ";
  if (world == 0 || rank >= world) {
    return make_error(ErrorKind::InvalidArgument, where + "rank " + std::to_string(rank) + " is outside the group");
  }
  if (kv_heads == 0 || heads % kv_heads != 0) {
    return make_error(ErrorKind::InvalidArgument, where + std::to_string(heads) + " attention heads are not whole groups of " +
                                                      std::to_string(kv_heads) + " key/value heads");
  }
  if (kv_heads < world || inner < world) {
    return make_error(ErrorKind::InvalidArgument,
                      where + "each rank needs at least one key/value head and one MLP unit; the model has " +
                          std::to_string(kv_heads) + " key/value heads and " + std::to_string(inner) + " MLP units");
  }
  ParallelShard shard;
  shard.rank = rank;
  shard.world = world;
  shard.head_dim = head_dim;
  shard.group = heads / kv_heads;
  const TensorSlice kv = split_evenly(0, kv_heads, rank, world), units = split_evenly(0, inner, rank, world);
  shard.kv_begin = kv.begin;
  shard.kv_end = kv.end;
  shard.inner_begin = units.begin;
  shard.inner_end = units.end;
  return shard;
}

std::optional<TensorSlice> ParallelShard::slice(std::string_view name, const std::vector<uint64_t>& shape) const {
  const ParallelSplit split = megatron_split(name);
  if (world == 1 || split == ParallelSplit::Replicated || shape.empty()) return std::nullopt;
  const size_t dim = split == ParallelSplit::Outputs ? 0 : shape.size() - 1;
  // Attention projections are cut in heads (q and o_proj's inputs: this
  // rank's groups of query heads), the MLP in units.
  uint64_t begin = inner_begin, end = inner_end;
  if (name.find("self_attn.") != std::string_view::npos) {
    const bool kv = name.find("k_proj") != std::string_view::npos || name.find("v_proj") != std::string_view::npos;
    const uint64_t per_kv_head = head_dim * (kv ? 1 : group);
    begin = kv_begin * per_kv_head;
    end = kv_end * per_kv_head;
  }
  return TensorSlice{dim, begin, end};
}

}  // namespace ws
