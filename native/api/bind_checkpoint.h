// Every tensor of a checkpoint, each into its own buffer (`weightstream load`):
// the one load sequence (api/load_model.h: manifest, plan, executor, progress,
// staging, finish) applied to the checkpoint's own tensor list instead of a
// model's parameters, with what `load` reports about it: per-tensor dtype,
// shape, bytes and how each was bound, the bytes read and bound, the staging
// held, and each tensor's bytes for hashing.
//
// Where the copied tensors live is a TensorStore, made for a BackendChoice by
// make_tensor_store (host buffers for the portable backend; torch tensors on
// the chosen device for the torch backend): callers never ask which build
// they are in.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "api/load_model.h"
#include "model/model.h"
#include "source/mapped_file.h"

namespace ws {

// Storage for the tensors a checkpoint bind copies (not the mapped views).
class TensorStore {
 public:
  virtual ~TensorStore() = default;
  // Whether it can hold ggml block dtypes / serve tensors as views of mapped
  // files (both true for host memory).
  virtual bool holds_blocks() const = 0;
  virtual bool holds_views() const = 0;
  // Gives every entry a destination (manifest[i].destination), owned by this
  // store. `staging_bytes` is the plan's window size (a device store stages
  // windows in pinned buffers of that size). Errors: OutOfBudget when an
  // allocation fails, Device for an unusable device.
  virtual Status materialize(std::vector<ManifestEntry>& manifest, uint64_t staging_bytes) = 0;
  // The executor's staging (nullptr: its own host buffer).
  virtual StagingProvider* staging() { return nullptr; }
  // After the last byte: waits for deferred copies and reports their errors.
  virtual Status finish_load() { return Status::ok(); }
  // Host memory held for staging beyond the executor's own (pinned buffers).
  virtual uint64_t pinned_bytes() const { return 0; }
  // Entry i's bytes when they are host memory, else nullptr.
  virtual const uint8_t* host_bytes(size_t i) const = 0;
  // A host copy of entry i's bytes, wherever they live.
  virtual std::vector<uint8_t> copy_to_host(size_t i) const = 0;
};

// The store for `choice` (its threads and huge-page options do not apply).
// Creating a CUDA store creates the device's context first, so memory
// measured afterwards excludes it. Errors: Unsupported for a backend this
// build lacks; Device when CUDA is unavailable; InvalidArgument for a device
// without the torch backend.
Result<std::unique_ptr<TensorStore>> make_tensor_store(const BackendChoice& choice);

struct CheckpointBindOptions {
  // The dtype float tensors are bound in (Keep: as stored). Integer, bool and
  // fp8 tensors stay as they are; a ggml block type applies only to matrices
  // whose rows are whole blocks.
  WeightDType dtype = WeightDType::Keep;
  // Local files: tensors bound in their stored dtype become views of the
  // mapped shard (no copy); only the others are copied.
  bool map_weights = false;
  uint64_t staging_bytes = 16ull << 20;  // windows that convert pass through this
  int conversion_threads = 1;            // quantising is compute-bound: convert on these threads
  unsigned readers = kDefaultReaders;    // threads (HTTP: connections) per shard, sharing staging_bytes
  // Tensor parallelism: only rank's part of each tensor, in Megatron's layout
  // (model/tensor_parallel.h), reading only its bytes.
  uint64_t rank = 0;
  uint64_t world_size = 1;
  ProgressCallback progress;  // may be empty
};

// InvalidArgument for options that exclude each other on `kind` (ggml blocks
// or --bind mmap on the torch backend, rank >= world size): the checks
// bind_checkpoint makes first, for callers that read them from a command line.
Status check_bind_options(const CheckpointBindOptions& options, BackendKind kind);

struct BoundTensor {
  DType dtype;
  std::vector<uint64_t> shape;      // bound shape (the slice's, with a slice)
  uint64_t bytes = 0;
  bool mapped = false;              // a view of the mapped shard (else copied into the store)
  std::optional<TensorSlice> slice;  // this rank's part; none: the whole tensor
};

class BoundCheckpoint {
 public:
  // One per checkpoint tensor, in checkpoint order.
  const std::vector<BoundTensor>& tensors() const { return tensors_; }
  size_t copied_count() const { return copied_.size(); }
  uint64_t bound_bytes() const;
  uint64_t staging_bytes() const { return staging_bytes_; }  // the executor's plus the store's pinned buffers
  uint64_t read_bytes() const { return read_bytes_; }        // the plan's bytes_to_read
  uint64_t needed_bytes() const { return needed_bytes_; }    // the plan's bytes_needed
  // Calls `visit` with tensor i's bytes in host memory: in place (a mapped
  // view is read under the SIGBUS guard: the file may still shrink), or a
  // copy of a device tensor. Errors: Io when a mapped shard shrank.
  Status visit_bytes(size_t i, const std::function<void(const uint8_t*, uint64_t)>& visit) const;

 private:
  friend Result<BoundCheckpoint> bind_checkpoint(ModelSource&, std::unique_ptr<TensorStore>,
                                                 const CheckpointBindOptions&);
  std::vector<BoundTensor> tensors_;
  std::vector<const uint8_t*> views_;  // tensor i's mapped bytes, when mapped
  std::vector<size_t> tensor_shard_;
  std::vector<std::shared_ptr<const MappedFile>> mappings_;  // per shard; null when not mapped
  std::vector<size_t> store_index_;    // tensor i's store entry, when copied
  std::vector<size_t> copied_;         // tensor index of each store entry
  std::unique_ptr<TensorStore> store_;
  uint64_t staging_bytes_ = 0;
  uint64_t read_bytes_ = 0;
  uint64_t needed_bytes_ = 0;
};

// Binds every tensor of `source`'s checkpoint: views for what map_weights
// serves, `store` for the rest, through the one load sequence. Errors:
// check_bind_options'; megatron_slice's (InvalidArgument: a split that does
// not divide); the store's; the plan's and the source's (Io, Http,
// Truncated, ...); Io when a mapped shard changed during the load.
Result<BoundCheckpoint> bind_checkpoint(ModelSource& source, std::unique_ptr<TensorStore> store,
                                        const CheckpointBindOptions& options);

}  // namespace ws
