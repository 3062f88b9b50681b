// The meta skeleton and its in-place materialisation.
#include <ATen/ATen.h>

#include <exception>

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

// The loader writes a tensor's final bytes straight into its host storage.
class TensorDestination final : public Destination {
 public:
  explicit TensorDestination(at::Tensor tensor) : tensor_(std::move(tensor)) {}
  uint8_t* host_data() override {
    return tensor_.is_cpu() ? static_cast<uint8_t*>(tensor_.data_ptr()) : nullptr;
  }

 private:
  at::Tensor tensor_;
};

}  // namespace

struct TorchSkeleton::Impl {
  std::vector<ManifestEntry> manifest;
  std::vector<at::Tensor> tensors;
  std::vector<uint64_t> bytes;
  std::vector<std::unique_ptr<TensorDestination>> destinations;
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

Status TorchSkeleton::materialize(const TorchDevice& device) {
  if (device.cuda) {
    // Non-host destinations (pinned staging + copies on a stream) are not part
    // of this build yet: say so instead of pretending.
    return make_error(ErrorKind::Unsupported, "device " + device.name() +
                                                  ": this build has no CUDA destination (CPU-only LibTorch " +
                                                  torch_version() + ")");
  }
  Impl& impl = *impl_;
  impl.destinations.clear();
  for (size_t i = 0; i < impl.tensors.size(); ++i) {
    at::Tensor& meta = impl.tensors[i];
    try {
      // at::empty: malloc'd, untouched; pages are committed as pread fills them.
      meta = at::empty(meta.sizes(), at::TensorOptions().device(at::kCPU).dtype(meta.scalar_type()));
    } catch (const std::exception& e) {
      return make_error(ErrorKind::OutOfBudget, impl.manifest[i].name + ": cannot allocate " +
                                                    std::to_string(impl.bytes[i]) + " bytes on " + device.name() +
                                                    ": " + e.what());
    }
    impl.destinations.push_back(std::make_unique<TensorDestination>(meta));
    impl.manifest[i].destination = impl.destinations.back().get();
  }
  return Status();
}

const std::vector<ManifestEntry>& TorchSkeleton::manifest() const { return impl_->manifest; }
size_t TorchSkeleton::size() const { return impl_->tensors.size(); }
bool TorchSkeleton::is_meta(size_t i) const { return impl_->tensors[i].is_meta(); }
uint64_t TorchSkeleton::bytes(size_t i) const { return impl_->bytes[i]; }

const uint8_t* TorchSkeleton::host_bytes(size_t i) const {
  const at::Tensor& t = impl_->tensors[i];
  return t.is_cpu() ? static_cast<const uint8_t*>(t.data_ptr()) : nullptr;
}

uint64_t TorchSkeleton::materialized_bytes() const {
  uint64_t total = 0;
  for (size_t i = 0; i < impl_->tensors.size(); ++i) {
    if (!impl_->tensors[i].is_meta()) total += impl_->bytes[i];
  }
  return total;
}

}  // namespace ws
