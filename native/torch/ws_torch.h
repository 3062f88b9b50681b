// torch: the LibTorch backend (built with -DWS_TORCH=ON, preset native-torch).
//
//   skeleton : every parameter a manifest names, as a tensor on torch's meta
//              device (shape and dtype, no memory); materialize() then gives
//              each one storage with at::empty on the chosen device and makes
//              that storage the loader's Destination: on the CPU the source's
//              pread lands straight in the tensor; on CUDA (-DWS_CUDA=ON) the
//              windows stream through pinned buffers (native/cuda).
//   backend  : the Backend ops (backend/backend.h) computed with ATen on the
//              CPU or a CUDA device, so each architecture's single forward in
//              src/model runs on LibTorch; on CUDA weights, activations and
//              the KV cache live on the device.
//
// This header does not include LibTorch: the CLI compiles without its headers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "backend/backend.h"
#include "core/result.h"
#include "load/load.h"

namespace ws {

// The CPU, or CUDA device `index` (spelled and parsed at the edges by
// native/api's parse_compute_device; this layer takes it typed).
struct TorchDevice {
  bool cuda = false;
  int index = 0;
  std::string name() const;  // "cpu", "cuda:N"
};

// "1.13.1", from the headers this build used.
std::string torch_version();
// True when this build can place tensors on CUDA devices (a CUDA LibTorch and
// -DWS_CUDA=ON at build time) and a device is present at run time.
bool torch_cuda_available();
// Why torch_cuda_available() is false ("" when it is true), for messages and
// for tests that skip.
std::string torch_cuda_unavailable_reason();
// Creates the CUDA context of `device` (so that memory measured afterwards
// excludes it). Errors: Device when CUDA is unavailable.
Status torch_cuda_init(const TorchDevice& device);

class TorchSkeleton {
 public:
  ~TorchSkeleton();
  TorchSkeleton(const TorchSkeleton&) = delete;
  TorchSkeleton& operator=(const TorchSkeleton&) = delete;

  // One meta tensor per entry (name, dtype, shape; destinations are ignored).
  // Dtypes torch lacks (ggml blocks, fp8, unsigned > 8 bit) become 1-D uint8
  // tensors of their storage bytes. Allocates no tensor memory. Errors:
  // OutOfBudget when a shape overflows 64 bits.
  static Result<std::unique_ptr<TorchSkeleton>> create(const std::vector<ManifestEntry>& entries);

  // Gives every tensor storage on `device` (at::empty: allocated, not
  // touched) and points manifest()[i].destination at it. For CUDA, windows of
  // up to `window_bytes` (the plan's PlanOptions::staging_bytes) are staged in
  // pinned buffers: give staging() to the executor, call finish_load() after
  // the last byte. Errors: Unsupported for CUDA in a build without WS_CUDA,
  // Device when CUDA is unavailable; OutOfBudget when torch cannot allocate
  // (naming the tensor).
  Status materialize(const TorchDevice& device, uint64_t window_bytes = 16ull << 20);
  // The executor's staging (pinned buffers) for a CUDA skeleton, else nullptr.
  StagingProvider* staging();
  // Waits for the last copies, reports any CUDA error, frees the pinned
  // buffers. A no-op on the CPU.
  Status finish_load();
  // Host memory the CUDA upload path held (pinned staging), 0 on the CPU.
  uint64_t pinned_bytes() const;

  // The entries, with destinations into the tensors once materialized
  // (owned by this skeleton; valid for its lifetime).
  const std::vector<ManifestEntry>& manifest() const;
  size_t size() const;
  bool is_meta(size_t i) const;
  uint64_t bytes(size_t i) const;
  // Tensor i's bytes when it lives in host memory, else nullptr.
  const uint8_t* host_bytes(size_t i) const;
  // A host copy of tensor i's bytes, wherever it lives (hashing, tests).
  std::vector<uint8_t> copy_to_host(size_t i) const;
  // Sum of bytes() over every tensor that has storage.
  uint64_t materialized_bytes() const;

 private:
  TorchSkeleton();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A Backend whose allocate_weight allocates nothing (an empty HostBuffer):
// build_model on it yields a model's manifest (names, shapes, dtypes) from
// config.json alone, to feed TorchSkeleton::create. Its ops do nothing; a
// model built on it must not be run.
std::unique_ptr<Backend> make_manifest_only_backend();

// The Backend ops computed with ATen (CPU threads: at::set_num_threads,
// process-wide; 0 = one per hardware thread). The ops view weights,
// activations and the KV cache as tensors (at::from_blob) without copying.
// On the CPU weights are host buffers the loader fills in place; on CUDA they
// are device tensors filled through the pinned upload ring (load_staging /
// finish_load), activations and the KV cache are device memory, and the only
// per-token transfers are the token ids and positions in and the logits out.
// Narrow (f16/bf16) weights are multiplied in their own dtype on CUDA, in f32
// on the CPU. Errors: Unsupported for CUDA in a build without WS_CUDA, Device
// when CUDA is unavailable, InvalidArgument for a negative thread count.
Result<std::unique_ptr<Backend>> make_torch_backend(const TorchDevice& device, const BackendOptions& options = {});

}  // namespace ws
