// The loader's Destination for a torch tensor's storage: host tensors are
// written in place (pread lands in them); CUDA tensors receive staged windows
// through a CudaUploader (pinned ring + async copies + GPU conversion). As a
// WeightStorage it is also where the ATen backend's ops read a weight.
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <optional>

#include "backend/buffer.h"
#if defined(WS_CUDA)
#include "cuda/cuda_upload.h"
#endif

namespace ws::detail {

#if defined(WS_CUDA)
// Gives the uploader at the first write (the skeleton or backend owns it).
using UploaderSource = std::function<Result<CudaUploader*>()>;
#else
struct CudaUploader;
using UploaderSource = std::function<Result<CudaUploader*>()>;
#endif

class TensorDestination final : public WeightStorage {
 public:
  // `bytes`: the tensor's meaningful bytes (its nbytes() unless given: a
  // zero-byte weight is held in a one-byte tensor).
  TensorDestination(at::Tensor tensor, DType dtype, UploaderSource uploader = {},
                    std::optional<uint64_t> bytes = std::nullopt)
      : tensor_(std::move(tensor)), dtype_(dtype), uploader_(std::move(uploader)),
        bytes_(bytes ? *bytes : static_cast<uint64_t>(tensor_.nbytes())) {}
  uint8_t* host_data() override {
    return tensor_.is_cpu() ? static_cast<uint8_t*>(tensor_.data_ptr()) : nullptr;
  }
  Status write_source(uint64_t first_element, DType source_dtype, const uint8_t* bytes, uint64_t count) override {
#if defined(WS_CUDA)
    if (uploader_) {
      WS_ASSIGN_OR_RETURN(CudaUploader * uploader, uploader_());
      return uploader->upload(tensor_.data_ptr(), dtype_, first_element, source_dtype, bytes, count);
    }
#endif
    return Destination::write_source(first_element, source_dtype, bytes, count);
  }
  uint64_t bytes() const override { return bytes_; }
  const at::Tensor& tensor() const { return tensor_; }

 private:
  const void* compute_address() const override { return tensor_.data_ptr(); }
  at::Tensor tensor_;
  DType dtype_;
  UploaderSource uploader_;
  uint64_t bytes_;
};

}  // namespace ws::detail
