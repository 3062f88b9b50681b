// process_group: torch.distributed's c10d process group (Gloo over TCP) as the
// model's Collective (model/tensor_parallel.h), set up the way torchrun sets
// up its workers: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT (and LOCAL_RANK)
// from the environment, a TCPStore at MASTER_ADDR:MASTER_PORT for the
// rendezvous (torchrun's own store when TORCHELASTIC_USE_AGENT_STORE says
// so, as torch.distributed's env:// does), then Gloo's full mesh.
//
// This header does not include LibTorch: the CLI compiles without its headers.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/result.h"
#include "model/tensor_parallel.h"

namespace ws {

struct ProcessGroupOptions {
  size_t rank = 0;
  size_t world_size = 1;
  size_t local_rank = 0;
  std::string master_addr = "127.0.0.1";
  uint16_t master_port = 29500;
  // How long any rendezvous or collective may wait for a peer before every
  // rank fails with Timeout (a peer that exits fails them at once with Io).
  std::chrono::milliseconds timeout{300000};
  // torchrun's agent already serves the store: every rank is a client of it
  // under the prefix /worker/attempt_<restart count>.
  bool agent_store = false;
  int restart_count = 0;
};

// The options the environment gives: nothing when WORLD_SIZE is unset (not
// launched as a group). WS_DIST_TIMEOUT_S overrides the timeout. Errors:
// InvalidArgument for a malformed or inconsistent variable (RANK >=
// WORLD_SIZE, a port outside 1..65535, RANK missing when WORLD_SIZE > 1),
// naming it.
Result<std::optional<ProcessGroupOptions>> process_group_from_env();

// Joins the group (blocks until every rank has, or the timeout). Errors:
// Timeout when a rank does not come (naming MASTER_ADDR:MASTER_PORT and the
// world size, which every rank must agree on); Io when the store or a peer
// cannot be reached; Unsupported in a LibTorch built without Gloo.
Result<std::unique_ptr<Collective>> make_gloo_group(const ProcessGroupOptions& options);

}  // namespace ws
