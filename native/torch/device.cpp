// Device names and what this LibTorch build offers.
#include <ATen/ATen.h>
#include <torch/version.h>

#include "torch/ws_torch.h"

namespace ws {

std::string TorchDevice::name() const { return cuda ? "cuda:" + std::to_string(index) : "cpu"; }

std::string torch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

bool torch_cuda_available() { return torch_cuda_unavailable_reason().empty(); }

std::string torch_cuda_unavailable_reason() {
#if defined(WS_CUDA)
  // at::hasCUDA(): a CUDA build of LibTorch that sees at least one device.
  if (at::hasCUDA()) return "";
  return "LibTorch " + torch_version() + " has no CUDA support or sees no CUDA device";
#else
  return "this build has no CUDA upload path (configure with -DWS_CUDA=ON: preset native-cuda)";
#endif
}

Status torch_cuda_init(const TorchDevice& device) {
  if (!torch_cuda_available()) return make_error(ErrorKind::Device, torch_cuda_unavailable_reason());
  try {
    at::empty({1}, at::TensorOptions().device(at::kCUDA, static_cast<c10::DeviceIndex>(device.index)));
  } catch (const std::exception& e) {
    return make_error(ErrorKind::Device, device.name() + ": " + e.what());
  }
  return Status::ok();
}

}  // namespace ws
