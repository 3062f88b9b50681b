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
  void embedding(const WeightTensor&, const int32_t*, size_t, float*) override {}
  void linear(const float*, size_t, const MatrixView&, const float*, float*) override {}
  void layer_norm(const float*, size_t, size_t, const float*, const float*, float, float*) override {}
  void rms_norm(const float*, size_t, size_t, const float*, float, float, float*) override {}
  void rotary(float*, size_t, const RotaryShape&, const int32_t*, const float*) override {}
  void attention(const float*, size_t, const int32_t*, const float*, const float*, const AttentionShape&, float,
                 float*) override {}
  void gelu_new(float*, size_t) override {}
  void silu_mul(const float*, const float*, size_t, float*) override {}
  void gelu_tanh_mul(const float*, const float*, size_t, float*) override {}
  void scale(float*, size_t, float) override {}
  void softcap(float*, size_t, float) override {}
  void softmax(float*, size_t) override {}
  void add(const float*, const float*, size_t, float*) override {}
};

}  // namespace

std::unique_ptr<Backend> make_manifest_only_backend() { return std::make_unique<ManifestOnlyBackend>(); }

}  // namespace ws
