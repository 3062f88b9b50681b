// The Backend ops with ATen on the CPU. Every pointer the model passes (host
// weights, activations, the KV cache) is viewed with at::from_blob, never
// copied; results are written into the caller's arrays with the *_out ops.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/version.h>

#include <algorithm>
#include <limits>
#include <thread>

#include "torch/ws_torch.h"

// at::scaled_dot_product_attention with a `scale` argument: LibTorch >= 2.1.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
#define WS_TORCH_HAS_SDPA_SCALE 1
#else
#define WS_TORCH_HAS_SDPA_SCALE 0
#endif

namespace ws {

namespace {

at::ScalarType weight_scalar_type(DType dtype) {
  switch (dtype) {
    case DType::F16: return at::kHalf;
    case DType::BF16: return at::kBFloat16;
    default: return at::kFloat;
  }
}

at::Tensor view_f32(const float* data, std::vector<int64_t> sizes) {
  return at::from_blob(const_cast<float*>(data), sizes, at::TensorOptions().dtype(at::kFloat));
}

// The weight as stored, widened to f32 when narrow (a temporary the size of
// the f32 matrix: LibTorch 1.13's CPU matmul has no mixed-dtype kernel).
at::Tensor weight_f32(const void* data, DType dtype, std::vector<int64_t> sizes) {
  at::Tensor stored = at::from_blob(const_cast<void*>(data), sizes, at::TensorOptions().dtype(weight_scalar_type(dtype)));
  return dtype == DType::F32 ? stored : stored.to(at::kFloat);
}

class AtenBackend final : public Backend {
 public:
  // 0 means one per hardware thread, as for the portable backend (LibTorch's
  // own default counts physical cores: 1 on the 2-vCPU CI VM).
  explicit AtenBackend(int threads) {
    const int hardware = static_cast<int>(std::thread::hardware_concurrency());
    at::set_num_threads(threads > 0 ? threads : std::max(hardware, 1));
  }
  std::string describe() const override {
    return "torch " + torch_version() + " cpu (ATen), " + std::to_string(threads()) + " threads" +
           (WS_TORCH_HAS_SDPA_SCALE ? ", sdpa" : "");
  }
  int threads() const override { return at::get_num_threads(); }

  Result<WeightTensor> allocate_weight(DType dtype, std::vector<uint64_t> shape) override {
    return WeightTensor::allocate(dtype, std::move(shape));
  }

  void embedding(const WeightTensor& table, const int32_t* ids, size_t n, float* out) override {
    const int64_t vocab = static_cast<int64_t>(table.shape[0]), dim = static_cast<int64_t>(table.shape[1]);
    at::Tensor t = at::from_blob(const_cast<uint8_t*>(table.buffer.data()), {vocab, dim},
                                 at::TensorOptions().dtype(weight_scalar_type(table.dtype)));
    at::Tensor index = at::from_blob(const_cast<int32_t*>(ids), {static_cast<int64_t>(n)},
                                     at::TensorOptions().dtype(at::kInt)).to(at::kLong);
    view_f32(out, {static_cast<int64_t>(n), dim}).copy_(at::index_select(t, 0, index));
  }

  void linear(const float* x, size_t n, const MatrixView& w, const float* bias, float* y) override {
    const int64_t in = static_cast<int64_t>(w.in), out = static_cast<int64_t>(w.out);
    at::Tensor input = view_f32(x, {static_cast<int64_t>(n), in});
    at::Tensor result = view_f32(y, {static_cast<int64_t>(n), out});
    // [in, out] for x · W: OutIn (nn.Linear) is the transpose of its storage.
    at::Tensor weight = w.layout == WeightLayout::OutIn ? weight_f32(w.data, w.dtype, {out, in}).t()
                                                        : weight_f32(w.data, w.dtype, {in, out});
    if (bias) {
      at::addmm_out(result, view_f32(bias, {out}), input, weight);
    } else {
      at::mm_out(result, input, weight);
    }
  }

  void layer_norm(const float* x, size_t n, size_t dim, const float* gamma, const float* beta, float eps,
                  float* y) override {
    const int64_t d = static_cast<int64_t>(dim);
    at::Tensor normed = at::layer_norm(view_f32(x, {static_cast<int64_t>(n), d}), {d}, view_f32(gamma, {d}),
                                       beta ? view_f32(beta, {d}) : at::Tensor(), eps);
    view_f32(y, {static_cast<int64_t>(n), d}).copy_(normed);
  }

  // As transformers' LlamaRMSNorm: x * rsqrt(mean(x^2) + eps) * gamma, in f32.
  void rms_norm(const float* x, size_t n, size_t dim, const float* gamma, float eps, float* y) override {
    const int64_t d = static_cast<int64_t>(dim);
    at::Tensor input = view_f32(x, {static_cast<int64_t>(n), d});
    at::Tensor variance = input.pow(2).mean(-1, /*keepdim=*/true);
    at::Tensor normed = input * at::rsqrt(variance + eps);
    at::Tensor result = view_f32(y, {static_cast<int64_t>(n), d});
    at::mul_out(result, view_f32(gamma, {d}), normed);
  }

  // transformers' apply_rotary_pos_emb: x * cos + rotate_half(x) * sin, with
  // rotate_half(x) = cat(-x[half:], x[:half]) and angles position * inv_freq.
  void rotary(float* x, size_t n, size_t heads, size_t head_dim, const int32_t* positions,
              const float* inv_freq) override {
    const int64_t rows = static_cast<int64_t>(n), h = static_cast<int64_t>(heads);
    const int64_t hd = static_cast<int64_t>(head_dim), half = hd / 2;
    at::Tensor pos = at::from_blob(const_cast<int32_t*>(positions), {rows, 1}, at::TensorOptions().dtype(at::kInt))
                         .to(at::kFloat);
    at::Tensor freqs = pos * view_f32(inv_freq, {1, half});  // [n, half]
    at::Tensor emb = at::cat({freqs, freqs}, -1).unsqueeze(1);  // [n, 1, head_dim]
    at::Tensor t = view_f32(x, {rows, h, hd});
    at::Tensor rotated = at::cat({-t.narrow(-1, half, half), t.narrow(-1, 0, half)}, -1);
    t.copy_(t * emb.cos() + rotated * emb.sin());
  }

  void attention(const float* q, size_t n, const int32_t* positions, const float* k_cache, const float* v_cache,
                 const AttentionShape& shape, float scale, float* out) override {
    const int64_t rows = static_cast<int64_t>(n), heads = static_cast<int64_t>(shape.heads);
    const int64_t kv_heads = static_cast<int64_t>(shape.kv_heads), hd = static_cast<int64_t>(shape.head_dim);
    int32_t last = 0;
    for (size_t t = 0; t < n; ++t) last = std::max(last, positions[t]);
    const int64_t slots = static_cast<int64_t>(last) + 1;  // the cache slots any query sees
    at::Tensor query = view_f32(q, {rows, heads, hd}).transpose(0, 1);                  // [heads, n, hd]
    at::Tensor keys = view_f32(k_cache, {slots, kv_heads, hd}).transpose(0, 1);         // [kv, slots, hd]
    at::Tensor values = view_f32(v_cache, {slots, kv_heads, hd}).transpose(0, 1);
    if (kv_heads != heads) {  // grouped-query: each kv head serves heads / kv_heads query heads
      keys = keys.repeat_interleave(heads / kv_heads, 0);
      values = values.repeat_interleave(heads / kv_heads, 0);
    }
    // Query t sees slots 0..positions[t] (true = attend).
    at::Tensor pos = at::from_blob(const_cast<int32_t*>(positions), {rows, 1}, at::TensorOptions().dtype(at::kInt));
    at::Tensor visible = at::arange(slots, at::TensorOptions().dtype(at::kInt)).unsqueeze(0).le(pos);  // [n, slots]
#if WS_TORCH_HAS_SDPA_SCALE
    at::Tensor context = at::scaled_dot_product_attention(query, keys, values, visible, 0.0, false,
                                                          static_cast<double>(scale));
#else
    at::Tensor scores = at::matmul(query, keys.transpose(1, 2)) * scale;  // [heads, n, slots]
    scores.masked_fill_(visible.logical_not(), -std::numeric_limits<float>::infinity());
    at::Tensor context = at::matmul(at::softmax(scores, -1), values);  // [heads, n, hd]
#endif
    view_f32(out, {rows, heads, hd}).copy_(context.transpose(0, 1));
  }

  // GPT-2's gelu_new: the tanh approximation.
  void gelu_new(float* x, size_t n) override {
    at::Tensor t = view_f32(x, {static_cast<int64_t>(n)});
    t.copy_(at::gelu(t, "tanh"));
  }

  void silu_mul(const float* gate, const float* up, size_t n, float* out) override {
    const int64_t len = static_cast<int64_t>(n);
    at::Tensor result = view_f32(out, {len});
    at::mul_out(result, at::silu(view_f32(gate, {len})), view_f32(up, {len}));
  }

  void softmax(float* x, size_t n) override {
    at::Tensor t = view_f32(x, {static_cast<int64_t>(n)});
    t.copy_(at::softmax(t, 0));
  }

  void add(const float* a, const float* b, size_t n, float* out) override {
    const int64_t len = static_cast<int64_t>(n);
    at::Tensor result = view_f32(out, {len});
    at::add_out(result, view_f32(a, {len}), view_f32(b, {len}));
  }
};

}  // namespace

Result<std::unique_ptr<Backend>> make_torch_backend(const TorchDevice& device, const BackendOptions& options) {
  if (device.cuda) {
    return make_error(ErrorKind::Unsupported,
                      "--backend torch --device " + device.name() +
                          ": the op interface passes activations and the KV cache as host pointers, so this "
                          "backend computes on the CPU only");
  }
  if (options.threads < 0) {
    return make_error(ErrorKind::InvalidArgument, "thread count " + std::to_string(options.threads));
  }
  return std::unique_ptr<Backend>(std::make_unique<AtenBackend>(options.threads));
}

}  // namespace ws
