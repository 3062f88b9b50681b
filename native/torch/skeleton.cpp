// The meta skeleton and its in-place materialisation.
#include <ATen/ATen.h>

#include <exception>

#include "torch/tensor_destination.h"
#include "torch/ws_torch.h"

namespace ws {

namespace {

// Dtypes torch has an exact counterpart for; everything else is held as raw
// bytes (uint8) so the loader can still place it.
bool torch_scalar_type(DType dtype, at::ScalarType* out) {
  switch (dtype) {
    case DType::F64: *out = at::kDouble; return true;
    case DType::F32: *out = at::kFloat; return true;
    case DType::F16: *out = at::kHalf; return true;
    case DType::BF16: *out = at::kBFloat16; return true;
    case DType::I64: *out = at::kLong; return true;
    case DType::I32: *out = at::kInt; return true;
    case DType::I16: *out = at::kShort; return true;
    case DType::I8: *out = at::kChar; return true;
    case DType::U8: *out = at::kByte; return true;
    case DType::BOOL: *out = at::kBool; return true;
    default: return false;
  }
}

}  // namespace

struct TorchSkeleton::Impl {
  std::vector<ManifestEntry> manifest;
  std::vector<at::Tensor> tensors;
  std::vector<uint64_t> bytes;
  std::vector<std::unique_ptr<detail::TensorDestination>> destinations;
#if defined(WS_CUDA)
  std::unique_ptr<CudaUploader> uploader;  // CUDA only, until finish_load()
#endif
  uint64_t pinned_bytes = 0;
};

TorchSkeleton::TorchSkeleton() : impl_(std::make_unique<Impl>()) {}
TorchSkeleton::~TorchSkeleton() = default;

Result<std::unique_ptr<TorchSkeleton>> TorchSkeleton::create(const std::vector<ManifestEntry>& entries) {
  std::unique_ptr<TorchSkeleton> skeleton(new TorchSkeleton());
  Impl& impl = *skeleton->impl_;
  impl.manifest.reserve(entries.size());
  impl.tensors.reserve(entries.size());
  for (const ManifestEntry& entry : entries) {
    uint64_t numel = 1;
    std::vector<int64_t> sizes;
    for (uint64_t d : entry.shape) {
      if (d > (uint64_t{1} << 62) || (d != 0 && numel > (uint64_t{1} << 62) / d)) {
        return make_error(ErrorKind::OutOfBudget, entry.name + ": shape overflows");
      }
      numel *= d;
      sizes.push_back(static_cast<int64_t>(d));
    }
    const uint64_t bytes = dtype_storage_bytes(entry.dtype, numel);
    at::ScalarType scalar_type;
    if (!torch_scalar_type(entry.dtype, &scalar_type)) {
      scalar_type = at::kByte;
      sizes = {static_cast<int64_t>(bytes)};
    }
    try {
      impl.tensors.push_back(at::empty(sizes, at::TensorOptions().device(at::kMeta).dtype(scalar_type)));
    } catch (const std::exception& e) {
      return make_error(ErrorKind::Unsupported, entry.name + ": meta tensor: " + e.what());
    }
    impl.bytes.push_back(bytes);
    impl.manifest.push_back({entry.name, entry.dtype, entry.shape, nullptr});
  }
  return skeleton;
}

Status TorchSkeleton::materialize(const TorchDevice& device, uint64_t window_bytes) {
  Impl& impl = *impl_;
  detail::UploaderSource uploader;
  if (device.cuda) {
#if defined(WS_CUDA)
    if (!torch_cuda_available()) {
      return make_error(ErrorKind::Device, "device " + device.name() + ": " + torch_cuda_unavailable_reason());
    }
    WS_ASSIGN_OR_RETURN(impl.uploader, CudaUploader::create(device.index, window_bytes));
    impl.pinned_bytes = impl.uploader->stats().pinned_bytes;
    uploader = [&impl]() -> Result<CudaUploader*> {
      if (!impl.uploader) return make_error(ErrorKind::InvalidArgument, "write after finish_load()");
      return impl.uploader.get();
    };
#else
    return make_error(ErrorKind::Unsupported, "device " + device.name() +
                                                  ": this build has no CUDA upload path (configure with "
                                                  "-DWS_CUDA=ON: preset native-cuda)");
#endif
  }
  const at::Device where = device.cuda ? at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(device.index))
                                       : at::Device(at::kCPU);
  impl.destinations.clear();
  for (size_t i = 0; i < impl.tensors.size(); ++i) {
    at::Tensor& meta = impl.tensors[i];
    try {
      // at::empty: allocated, untouched; host pages are committed as pread
      // fills them, device memory as the copies land.
      meta = at::empty(meta.sizes(), at::TensorOptions().device(where).dtype(meta.scalar_type()));
    } catch (const std::exception& e) {
      return make_error(ErrorKind::OutOfBudget, impl.manifest[i].name + ": cannot allocate " +
                                                    std::to_string(impl.bytes[i]) + " bytes on " + device.name() +
                                                    ": " + e.what());
    }
    impl.destinations.push_back(std::make_unique<detail::TensorDestination>(meta, impl.manifest[i].dtype, uploader));
    impl.manifest[i].destination = impl.destinations.back().get();
  }
  return Status();
}

StagingProvider* TorchSkeleton::staging() {
#if defined(WS_CUDA)
  return impl_->uploader.get();
#else
  return nullptr;
#endif
}

Status TorchSkeleton::finish_load() {
#if defined(WS_CUDA)
  if (impl_->uploader) {
    Status finished = impl_->uploader->finish();
    impl_->uploader.reset();  // frees the pinned buffers
    return finished;
  }
#endif
  return Status::ok();
}

uint64_t TorchSkeleton::pinned_bytes() const { return impl_->pinned_bytes; }

const std::vector<ManifestEntry>& TorchSkeleton::manifest() const { return impl_->manifest; }
size_t TorchSkeleton::size() const { return impl_->tensors.size(); }
bool TorchSkeleton::is_meta(size_t i) const { return impl_->tensors[i].is_meta(); }
uint64_t TorchSkeleton::bytes(size_t i) const { return impl_->bytes[i]; }

const uint8_t* TorchSkeleton::host_bytes(size_t i) const {
  const at::Tensor& t = impl_->tensors[i];
  return t.is_cpu() ? static_cast<const uint8_t*>(t.data_ptr()) : nullptr;
}

std::vector<uint8_t> TorchSkeleton::copy_to_host(size_t i) const {
  const at::Tensor host = impl_->tensors[i].is_meta() ? at::Tensor() : impl_->tensors[i].contiguous().cpu();
  if (!host.defined()) return {};
  const uint8_t* p = static_cast<const uint8_t*>(host.data_ptr());
  return std::vector<uint8_t>(p, p + impl_->bytes[i]);
}

uint64_t TorchSkeleton::materialized_bytes() const {
  uint64_t total = 0;
  for (size_t i = 0; i < impl_->tensors.size(); ++i) {
    if (!impl_->tensors[i].is_meta()) total += impl_->bytes[i];
  }
  return total;
}

}  // namespace ws
