// The one place that knows which backends this build has: backend and
// device spellings, make_backend, and the TensorStore a checkpoint bind
// copies into (api/bind_checkpoint.h). The only WS_TORCH conditionals above
// src/ are here; the CLI and the public API ask through these functions.
#include <utility>

#include "api/bind_checkpoint.h"
#include "api/load_model.h"

#include <cstdlib>

#if defined(WS_TORCH)
#include "torch/ws_torch.h"
#endif

namespace ws {

namespace {

// Host memory: one buffer per entry, filled in place by the loader.
class HostTensorStore final : public TensorStore {
 public:
  bool holds_blocks() const override { return true; }
  bool holds_views() const override { return true; }
  Status materialize(std::vector<ManifestEntry>& manifest, uint64_t) override {
    buffers_.clear();
    buffers_.reserve(manifest.size());  // no reallocation: destinations point into it
    for (ManifestEntry& entry : manifest) {
      uint64_t numel = 1;
      for (uint64_t d : entry.shape) numel *= d;
      WS_ASSIGN_OR_RETURN(HostBuffer buffer, HostBuffer::allocate(dtype_storage_bytes(entry.dtype, numel)));
      buffers_.push_back(std::move(buffer));
      entry.destination = &buffers_.back();
    }
    return Status::ok();
  }
  const uint8_t* host_bytes(size_t i) const override { return buffers_[i].data(); }
  std::vector<uint8_t> copy_to_host(size_t i) const override {
    return std::vector<uint8_t>(buffers_[i].data(), buffers_[i].data() + buffers_[i].bytes());
  }

 private:
  std::vector<HostBuffer> buffers_;
};

#if defined(WS_TORCH)
TorchDevice torch_device(const ComputeDevice& device) {
  TorchDevice torch;
  torch.cuda = device.kind == DeviceKind::Cuda;
  torch.index = device.index;
  return torch;
}

// Torch tensors: declared on the meta device (no memory), then given storage
// on the device with at::empty; the loader writes into that storage (on CUDA
// through pinned staging buffers, so host memory stays that whatever the size).
class TorchTensorStore final : public TensorStore {
 public:
  explicit TorchTensorStore(TorchDevice device) : device_(device) {}
  bool holds_blocks() const override { return false; }
  bool holds_views() const override { return false; }
  Status materialize(std::vector<ManifestEntry>& manifest, uint64_t staging_bytes) override {
    WS_ASSIGN_OR_RETURN(skeleton_, TorchSkeleton::create(manifest));
    WS_TRY(skeleton_->materialize(device_, staging_bytes));
    manifest = skeleton_->manifest();
    return Status::ok();
  }
  StagingProvider* staging() override { return skeleton_ ? skeleton_->staging() : nullptr; }
  Status finish_load() override { return skeleton_ ? skeleton_->finish_load() : Status::ok(); }
  uint64_t pinned_bytes() const override { return skeleton_ ? skeleton_->pinned_bytes() : 0; }
  const uint8_t* host_bytes(size_t i) const override { return skeleton_->host_bytes(i); }
  std::vector<uint8_t> copy_to_host(size_t i) const override { return skeleton_->copy_to_host(i); }

 private:
  TorchDevice device_;
  std::unique_ptr<TorchSkeleton> skeleton_;
};
#endif

}  // namespace

std::vector<std::string> backend_names() {
#if defined(WS_TORCH)
  return {"portable", "torch"};
#else
  return {"portable"};
#endif
}

Result<std::unique_ptr<Backend>> make_backend(const BackendChoice& choice) {
  if (choice.device && choice.kind != BackendKind::Torch) {
    return make_error(ErrorKind::InvalidArgument,
                      "a device (\"" + compute_device_name(*choice.device) + "\") needs the torch backend");
  }
  if (choice.kind == BackendKind::Portable) return make_portable_backend(choice.options);
#if defined(WS_TORCH)
  return make_torch_backend(torch_device(choice.device.value_or(ComputeDevice{})), choice.options);
#else
  return make_error(ErrorKind::Unsupported,
                    "this build has no torch backend (configure with -DWS_TORCH=ON, preset native-torch)");
#endif
}

Result<std::unique_ptr<TensorStore>> make_tensor_store(const BackendChoice& choice) {
  if (choice.device && choice.kind != BackendKind::Torch) {
    return make_error(ErrorKind::InvalidArgument,
                      "a device (\"" + compute_device_name(*choice.device) + "\") needs the torch backend");
  }
  if (choice.kind == BackendKind::Portable) return std::unique_ptr<TensorStore>(std::make_unique<HostTensorStore>());
#if defined(WS_TORCH)
  const TorchDevice device = torch_device(choice.device.value_or(ComputeDevice{}));
  // The CUDA context (hundreds of MB of host memory for the driver and
  // LibTorch's kernels) is made now: memory measured after this call has it
  // as its baseline, and the peak above it is what loading costs.
  if (device.cuda) WS_TRY(torch_cuda_init(device));
  return std::unique_ptr<TensorStore>(std::make_unique<TorchTensorStore>(device));
#else
  return make_error(ErrorKind::Unsupported,
                    "this build has no torch backend (configure with -DWS_TORCH=ON, preset native-torch)");
#endif
}

// ---- process groups ----

bool has_process_groups() {
#if defined(WS_TORCH)
  return true;
#else
  return false;
#endif
}

Result<std::optional<ProcessGroupOptions>> process_group_options_from_env() {
#if defined(WS_TORCH)
  return process_group_from_env();
#else
  const char* world = std::getenv("WORLD_SIZE");
  if (world && std::string(world) != "1") {
    return make_error(ErrorKind::Unsupported, std::string("WORLD_SIZE=") + world +
                                                  ": tensor parallelism needs torch.distributed (c10d); this build has "
                                                  "no LibTorch (configure with -DWS_TORCH=ON, preset native-torch)");
  }
  return std::optional<ProcessGroupOptions>();
#endif
}

Result<std::unique_ptr<Collective>> join_process_group(const ProcessGroupOptions& options) {
#if defined(WS_TORCH)
  return make_gloo_group(options);
#else
  (void)options;
  return make_error(ErrorKind::Unsupported,
                    "tensor parallelism needs torch.distributed (c10d); this build has no LibTorch "
                    "(configure with -DWS_TORCH=ON, preset native-torch)");
#endif
}

}  // namespace ws
