// Tensor-parallel runs of the CLI: every rank is this same program, started
// by torchrun (`torchrun --no-python --nproc_per_node N weightstream generate
// ...`, which sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) or
// by `--tp N`, which starts N local ranks itself the same way.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "model/tensor_parallel.h"

namespace ws::cli {

// `--tp N` (or --tp=N) anywhere in argv: starts N copies of this program with
// the other arguments, each with torchrun's variables (MASTER_ADDR 127.0.0.1,
// a free MASTER_PORT), waits for them and returns the exit status to use.
// When a rank fails, the others are given the group's timeout to fail on their
// own (their next collective reports the lost peer), then killed; every child
// is reaped. Without --tp: nothing (the caller goes on).
std::optional<int> launch_tensor_parallel(int argc, char** argv);

// This process's rank when the environment launched it as one (WORLD_SIZE
// set): joins the group (rank 0 keeps stdout, the others' output goes to
// /dev/null). No group when WORLD_SIZE is unset or 1. Errors:
// process_group_from_env's and make_gloo_group's; Unsupported in a build
// without LibTorch (c10d).
Result<std::unique_ptr<Collective>> join_tensor_parallel();

// Compute threads for one of the ranks sharing this host when none are
// asked: the hardware threads divided among LOCAL_WORLD_SIZE (else
// WORLD_SIZE) ranks, at least 1, so that ranks do not oversubscribe cores.
int threads_per_local_rank();

// Every rank's figures, gathered to each rank in rank order: [{rank,
// bytes_read (the plan's), measured_read_bytes (what the load's read calls
// returned, /proc/self/io), bound_bytes, peak_rss_bytes}]. Collective: every
// rank calls it.
Result<nlohmann::json> gather_rank_reports(Collective& group, uint64_t bytes_read, uint64_t measured_read_bytes,
                                           uint64_t bound_bytes, uint64_t peak_rss_bytes);

}  // namespace ws::cli
