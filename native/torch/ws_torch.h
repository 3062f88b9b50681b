// torch: the LibTorch backend (built with -DWS_TORCH=ON, preset native-torch).
//
//   skeleton : every parameter a manifest names, as a tensor on torch's meta
//              device (shape and dtype, no memory); materialize() then gives
//              each one storage with at::empty on the chosen device and makes
//              that storage the loader's Destination, so the source's pread
//              lands straight in the tensor.
//   backend  : the Backend ops (backend/backend.h) computed with ATen, so each
//              architecture's single forward in src/model runs on LibTorch.
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

// "cpu", "cuda" (= "cuda:0") or "cuda:N".
struct TorchDevice {
  bool cuda = false;
  int index = 0;
  std::string name() const;
};
// Errors: InvalidArgument for any other spelling.
Result<TorchDevice> parse_torch_device(std::string_view text);

// "1.13.1", from the headers this build used.
std::string torch_version();
// True when this build can place tensors on CUDA devices (a CUDA LibTorch and
// a CUDA toolkit at build time) and a device is present at run time.
bool torch_cuda_available();

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
  // touched) and points manifest()[i].destination at it. Errors: Unsupported
  // for CUDA when torch_cuda_available() is false; OutOfBudget when torch
  // cannot allocate (naming the tensor).
  Status materialize(const TorchDevice& device);

  // The entries, with destinations into the tensors once materialized
  // (owned by this skeleton; valid for its lifetime).
  const std::vector<ManifestEntry>& manifest() const;
  size_t size() const;
  bool is_meta(size_t i) const;
  uint64_t bytes(size_t i) const;
  // Tensor i's bytes when it lives in host memory, else nullptr.
  const uint8_t* host_bytes(size_t i) const;
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

// The Backend ops computed with ATen on the CPU (threads: at::set_num_threads,
// process-wide; 0 = one per hardware thread). Weights are host buffers the loader fills in
// place (WeightTensor owns a HostBuffer); the ops view them and the caller's
// activations as tensors without copying. Errors: Unsupported for CUDA (the
// op interface passes host pointers for activations and the KV cache),
// InvalidArgument for a negative thread count.
Result<std::unique_ptr<Backend>> make_torch_backend(const TorchDevice& device, const BackendOptions& options = {});

}  // namespace ws
