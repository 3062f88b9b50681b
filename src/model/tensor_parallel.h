// Tensor parallelism, Megatron's layout, over Hugging Face parameter names:
// column-parallel layers (q/k/v, gate/up: each rank keeps some outputs, i.e.
// rows of the [out, in] weight, and that part of the bias) feed row-parallel
// ones (o_proj, down_proj: each rank keeps the matching inputs, i.e. columns;
// their partial products are summed across ranks, so their bias stays whole);
// everything else (norms, embeddings, the head) is replicated.
#pragma once

#include <cstddef>
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

// A process group as the tensor-parallel forward needs it: native/torch
// implements it with c10d (Gloo); tests may fake it. Every call is
// collective: each rank makes the same calls in the same order. Errors: Io
// when a rank is gone (its connection closed), Timeout when a rank does not
// answer within the group's timeout; the group is unusable afterwards.
class Collective {
 public:
  virtual ~Collective() = default;
  virtual size_t rank() const = 0;
  virtual size_t world_size() const = 0;
  // x[0..n) (the backend's compute memory, on the host here) summed over every rank, in place.
  virtual Status all_reduce_sum(float* x, size_t n) = 0;
  // Rank 0's x[0..n) written to every rank's x.
  virtual Status broadcast(int32_t* x, size_t n) = 0;
  // Each rank's `values` (the same count on every rank), concatenated in rank order.
  virtual Result<std::vector<uint64_t>> all_gather(const std::vector<uint64_t>& values) = 0;
};

// One rank's part of a Llama-family model: whole KV groups (a key/value head
// and the query heads that read it), so attention needs no communication, and
// a range of the MLP's hidden units. Groups and units are split as evenly as
// they go (split_evenly: SmolLM2's 3 KV heads over 2 ranks are 2 + 1), which
// Megatron's equal split is the divisible case of. world 1: everything.
struct ParallelShard {
  uint64_t rank = 0;
  uint64_t world = 1;
  uint64_t head_dim = 0;
  uint64_t group = 1;  // query heads per KV head
  uint64_t kv_begin = 0, kv_end = 0;        // this rank's KV heads
  uint64_t inner_begin = 0, inner_end = 0;  // this rank's MLP units
  size_t kv_heads() const { return kv_end - kv_begin; }
  size_t heads() const { return kv_heads() * group; }
  size_t inner() const { return inner_end - inner_begin; }
  // The slice parameter `name` (stored as `shape`) keeps on this rank, by
  // megatron_split; none when it is whole (replicated, or world 1).
  std::optional<TensorSlice> slice(std::string_view name, const std::vector<uint64_t>& shape) const;
};

// Errors: InvalidArgument when rank >= world, when heads are not whole
// groups of kv_heads, or when a rank would get no KV head or no MLP unit
// (kv_heads or intermediate_size smaller than world): the message names them.
Result<ParallelShard> make_parallel_shard(uint64_t heads, uint64_t kv_heads, uint64_t head_dim, uint64_t inner,
                                          uint64_t rank, uint64_t world);

}  // namespace ws
