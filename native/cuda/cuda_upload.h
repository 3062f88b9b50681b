// cuda: streaming a checkpoint into GPU memory (built with -DWS_CUDA=ON).
//
// The loader's executor stages every window bound for the GPU in one of
// several pinned host buffers that CudaUploader hands out in turn
// (StagingProvider); when a window is complete, its bytes go to the device
// with cudaMemcpyAsync on the uploader's own stream, and float conversions
// (F32/F16/BF16, bit-identical to the host converter) run there as a kernel.
// The source fills the next buffer while the previous one is being copied;
// acquire() only waits when it comes back round to a buffer whose copy has not
// finished. Host memory: the pinned buffers, whatever the model size.
//
// This header does not include CUDA's: callers compile with any C++ compiler.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "format/format.h"
#include "load/load.h"

namespace ws {

// CUDA devices present, 0 when there is no device or no usable driver.
// `why_none`, when given, gets the driver's reason.
int cuda_device_count(std::string* why_none = nullptr);

// Device memory for the loader and tests (cudaMalloc / cudaFree).
class CudaMemory {
 public:
  // Errors: OutOfBudget (naming the CUDA error) when cudaMalloc fails.
  static Result<CudaMemory> allocate(int device, uint64_t bytes);
  CudaMemory() = default;
  CudaMemory(CudaMemory&& other) noexcept;
  CudaMemory& operator=(CudaMemory&& other) noexcept;
  CudaMemory(const CudaMemory&) = delete;
  CudaMemory& operator=(const CudaMemory&) = delete;
  ~CudaMemory();
  void* data() const { return data_; }
  uint64_t bytes() const { return bytes_; }
  // Copies the whole buffer to host memory (tests). Errors: Io.
  Result<std::vector<uint8_t>> download() const;

 private:
  void* data_ = nullptr;
  uint64_t bytes_ = 0;
};

struct CudaUploadStats {
  uint64_t pinned_bytes = 0;      // host memory the uploader holds
  uint64_t device_scratch_bytes = 0;
  uint64_t bytes_copied = 0;      // host -> device
  uint64_t gpu_conversions = 0;   // windows converted by a kernel
  uint64_t host_conversions = 0;  // windows dequantised on the host (ggml blocks)
  uint64_t waits = 0;             // acquire() calls that had to wait for a copy
};

class CudaUploader final : public StagingProvider {
 public:
  // `window_bytes`: the largest window a plan stages (PlanOptions::
  // staging_bytes); `buffers` >= 2 pinned buffers of that size. Errors:
  // InvalidArgument (fewer than 2 buffers, no such device), OutOfBudget (pinned
  // or device allocation), Unsupported (no CUDA device or driver).
  static Result<std::unique_ptr<CudaUploader>> create(int device, uint64_t window_bytes, int buffers = 3);
  ~CudaUploader() override;
  CudaUploader(const CudaUploader&) = delete;
  CudaUploader& operator=(const CudaUploader&) = delete;

  uint8_t* acquire(uint64_t bytes) override;

  // Sends `count` elements of dtype `source` at `src` (host memory, ideally a
  // buffer from acquire) to the device tensor at `device_base`, elements
  // first_element.. onward, stored as `target`. Returns once the copy is
  // queued; `src` may be reused then. Errors: Unsupported conversions, Io for
  // CUDA errors (this one or an earlier asynchronous one).
  Status upload(void* device_base, DType target, uint64_t first_element, DType source, const uint8_t* src,
                uint64_t count);

  // Waits for every queued copy and kernel. The first error since create.
  Status finish();
  int device() const;
  const CudaUploadStats& stats() const;

 private:
  CudaUploader();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A tensor in device memory that the loader fills through `uploader`.
class CudaDestination final : public Destination {
 public:
  CudaDestination(CudaUploader& uploader, void* device_data, DType dtype)
      : uploader_(uploader), data_(device_data), dtype_(dtype) {}
  uint8_t* host_data() override { return nullptr; }
  Status write_source(uint64_t first_element, DType source_dtype, const uint8_t* bytes, uint64_t count) override {
    return uploader_.upload(data_, dtype_, first_element, source_dtype, bytes, count);
  }

 private:
  CudaUploader& uploader_;
  void* data_;
  DType dtype_;
};

}  // namespace ws
