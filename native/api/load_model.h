// The backend a model computes on, and the native side of THE load sequence
// (open/load_sequence.h, which the wasm module runs too): the process's
// memory budget, mapped weights, and the native sources that pull each
// shard's bytes. The CLI's generate command and the library both load
// through load_model().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backend/backend.h"
#include "core/choices.h"
#include "core/result.h"
#include "load/load.h"
#include "torch/process_group.h"
#include "model/model.h"
#include "open/load_sequence.h"
#include "source/model_source.h"

namespace ws {

// BackendKind, ComputeDevice and their spellings: core/choices.h.
struct BackendChoice {
  BackendKind kind = BackendKind::Portable;
  std::optional<ComputeDevice> device;  // torch only (default: the CPU)
  BackendOptions options;
};

// The backend names this build has ("portable", and "torch" in WS_TORCH builds).
std::vector<std::string> backend_names();

// Tensor parallelism's process group: c10d Gloo, in LibTorch builds only
// (torch/process_group.h declares the options and includes no LibTorch).
bool has_process_groups();
// The group torchrun or --tp describe in the environment (RANK, WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT), or none when this process runs alone. Errors:
// InvalidArgument for a malformed variable; Unsupported without LibTorch
// when WORLD_SIZE is above 1.
Result<std::optional<ProcessGroupOptions>> process_group_options_from_env();
// Joins the group (blocks until every rank has). Errors: Unsupported
// without LibTorch; make_gloo_group's (Timeout, Io).
Result<std::unique_ptr<Collective>> join_process_group(const ProcessGroupOptions& options);

// Errors: InvalidArgument for a device without the torch backend;
// Unsupported for Torch in a build without LibTorch; Device when CUDA is
// unavailable (torch); and the backend's own (a negative thread count).
Result<std::unique_ptr<Backend>> make_backend(const BackendChoice& choice);

// The load sequence's streaming step, shared by load_model and
// bind_checkpoint (api/bind_checkpoint.h): executes `plan` (made for
// `manifest`) from `source`, each shard once in file order, with an executor
// set up as `options` say (open/load_sequence.h's StreamOptions).
// Returns the host staging bytes the executor allocated (freed on return).
// Errors: LoadExecutor::create's and the source's (Io, Http, Truncated, ...).
Result<uint64_t> stream_plan(ModelSource& source, const LoadPlan& plan, const std::vector<ManifestEntry>& manifest,
                             const StreamOptions& options);

struct LoadOptions {
  // Bytes the load may use (weights + KV cache + activations + staging);
  // unset: what this process may still commit (process_memory_budget()).
  std::optional<uint64_t> max_memory;
  // Positions admission sizes the KV cache for (0: min(model maximum, 2048)).
  size_t context = 0;
  // Local files on a backend that computes from host views (portable): every
  // weight stored in the dtype it is computed in is served from the mapped
  // file (read-only; pages come in on first use and are the page cache's)
  // instead of being copied; the others are streamed as usual. A file that
  // shrinks while mapped makes its pages unreadable (SIGBUS), as with any
  // mapping loader (llama.cpp's default, transformers' safetensors).
  bool map_weights = false;
  // Tensor parallelism: this process is one rank of `group` (not owned; it
  // must outlive the model) and loads only its slices (build_model).
  Collective* group = nullptr;
  // Readers (threads; HTTP: connections) filling each shard at once; 1: one,
  // in file order. Their staging slots share the one staging budget.
  unsigned readers = kDefaultReaders;
};

struct BoundModel {
  std::unique_ptr<Model> model;  // computes on the backend given to load_model, which must outlive it
  uint64_t bound_bytes = 0;      // the plan's destination bytes (weights copied into the model's buffers)
  uint64_t mapped_bytes = 0;     // weights served from the mapped checkpoint (LoadOptions::map_weights)
  uint64_t read_bytes = 0;       // checkpoint bytes the plan reads (a rank's slices: only those)
};

// Admits the load (a backend computing in host memory: weights + KV cache +
// activations + staging against the budget, before anything is allocated),
// builds the model for `config` on `backend`, checks it against the source's
// checkpoint (every missing or mis-shaped tensor in one error) and streams
// each shard into the model's buffers, once, in file order. `progress` (may
// be empty) sees the bytes as they arrive. The staging buffer is freed before
// this returns. Errors: OutOfBudget (admission: what was needed, what was
// available, which dtypes would fit), build_model's, plan_model_load's
// (MissingTensor, ShapeMismatch, UnexpectedTensor, Unsupported) and the
// source's (Io, Http, Truncated, ...); with map_weights, Unsupported for a
// source that cannot be mapped (HTTP).
Result<BoundModel> load_model(ModelSource& source, const ModelConfig& config, Backend& backend, WeightDType dtype,
                               const ProgressCallback& progress, const LoadOptions& options = {});

}  // namespace ws
