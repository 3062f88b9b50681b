// A backend that only declares: weights without memory, ops that do nothing.
// build_model on it is how a model's manifest (the meta skeleton's names,
// shapes and dtypes) is had from config.json without allocating a weight.
#include "torch/ws_torch.h"

namespace ws {

namespace {

class ManifestOnlyBackend final : public Backend {
 public:
  std::string describe() const override { return "manifest only (no memory, no ops)"; }
  int threads() const override { return 1; }
  Result<WeightTensor> allocate_weight(DType dtype, std::vector<uint64_t> shape) override {
    WeightTensor tensor;
    tensor.dtype = dtype;
    tensor.shape = std::move(shape);
    tensor.storage = std::make_unique<HostBuffer>();  // empty: nothing is allocated
    return tensor;
  }
  void embedding(const WeightTensor&, ComputeView, ComputeView) override {}
  void linear(ComputeView, size_t, const MatrixView&, const WeightTensor*, ComputeView) override {}
  void layer_norm(ComputeView, size_t, size_t, const WeightTensor&, const WeightTensor*, float, ComputeView) override {}
  void rms_norm(ComputeView, size_t, size_t, const WeightTensor&, float, float, ComputeView) override {}
  void rotary(ComputeView, size_t, const RotaryShape&, ComputeView, ComputeView) override {}
  void attention(ComputeView, size_t, ComputeView, ComputeView, ComputeView, const AttentionShape&, float,
                 ComputeView) override {}
  void gelu_new(ComputeView) override {}
  void silu_mul(ComputeView, ComputeView, ComputeView) override {}
  void gelu_tanh_mul(ComputeView, ComputeView, ComputeView) override {}
  void scale(ComputeView, float) override {}
  void softcap(ComputeView, float) override {}
  void softmax(ComputeView) override {}
  void add(ComputeView, ComputeView, ComputeView) override {}
};

}  // namespace

std::unique_ptr<Backend> make_manifest_only_backend() { return std::make_unique<ManifestOnlyBackend>(); }

}  // namespace ws
