// The Backend ops with ATen, on the CPU or a CUDA device. Every pointer the
// model passes (weights, activations, the KV cache) is viewed with
// at::from_blob on the backend's device, never copied; results are written
// into the caller's arrays with the *_out ops or copy_. Host arrays (token
// ids, positions, rotary frequencies) are sent to the device once per
// distinct content.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/version.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <optional>
#include <thread>

#include "torch/aten_dequant.h"
#include "torch/tensor_destination.h"
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

int64_t i64(size_t v) { return static_cast<int64_t>(v); }

// Rotary frequencies on the device, re-sent only when they change. A model
// may alternate a few arrays (Gemma 3's local and global layers, LongRoPE's
// short and long factors): each keeps its own slot.
class FrequenciesOnDevice {
 public:
  const at::Tensor& get(const float* data, size_t n, const at::Device& device) {
    for (Slot& slot : slots_) {
      if (slot.tensor.defined() && slot.host.size() == n &&
          std::memcmp(slot.host.data(), data, n * sizeof(float)) == 0) {
        return slot.tensor;
      }
    }
    Slot& slot = slots_[next_++ % slots_.size()];
    slot.host.assign(data, data + n);
    slot.tensor = at::from_blob(slot.host.data(), {i64(n)}, at::TensorOptions().dtype(at::kFloat)).to(device).clone();
    return slot.tensor;
  }

 private:
  struct Slot {
    std::vector<float> host;
    at::Tensor tensor;
  };
  std::array<Slot, 4> slots_;
  size_t next_ = 0;
};

// The positions of one forward in the forms the ops use, made once per
// distinct content: every layer of a forward shares them, so a layer costs no
// transfer and no conversion for them.
struct DevicePositions {
  std::vector<int32_t> host;
  int64_t slots = 0;   // max position + 1: the cache slots any query sees
  at::Tensor index;    // int64 [n]: the KV cache rows (index_copy_)
  at::Tensor angle;    // float [n, 1]: the rotary angle's position factor
  at::Tensor visible;  // bool [n, slots]: query t sees slots 0..positions[t]

  const DevicePositions& update(const int32_t* p, size_t n, const at::Device& device) {
    if (index.defined() && host.size() == n && std::memcmp(host.data(), p, n * sizeof(int32_t)) == 0) return *this;
    host.assign(p, p + n);
    slots = i64(static_cast<size_t>(*std::max_element(p, p + n))) + 1;
    const at::Tensor ints = at::from_blob(host.data(), {i64(n)}, at::TensorOptions().dtype(at::kInt)).to(device);
    index = ints.to(at::kLong);
    angle = ints.to(at::kFloat).unsqueeze(1);
    visible = at::arange(slots, ints.options()).unsqueeze(0).le(ints.unsqueeze(1));
    return *this;
  }
};

class AtenBackend final : public Backend {
 public:
  // 0 threads means one per hardware thread, as for the portable backend
  // (LibTorch's own default counts physical cores: 1 on the 2-vCPU CI VM).
  AtenBackend(at::Device device, int threads) : device_(device) {
    const int hardware = static_cast<int>(std::thread::hardware_concurrency());
    at::set_num_threads(threads > 0 ? threads : std::max(hardware, 1));
  }
  ~AtenBackend() override {
#if defined(WS_CUDA)
    if (uploader_) (void)uploader_->finish();
#endif
  }

  std::string describe() const override {
    std::string text = "torch " + torch_version() + " " + device_.str() + " (ATen)";
    if (device_.is_cpu()) text += ", " + std::to_string(threads()) + " threads";
    return text + (WS_TORCH_HAS_SDPA_SCALE ? ", sdpa" : "");
  }
  int threads() const override { return at::get_num_threads(); }

  // ggml blocks are held as blocks on either device and widened with ATen
  // ops (aten_dequant.h) one matrix at a time when used, as LibTorch 1.13's
  // CPU matmul widens bf16. A fused quantized GPU matmul would need kernels
  // that read the blocks (ggml's CUDA mmq/mmvq); ATen has none.
  bool supports_weight_dtype(DType dtype) const override {
    return Backend::supports_weight_dtype(dtype) || dtype_is_quantized(dtype);
  }

  Result<WeightTensor> allocate_weight(DType dtype, std::vector<uint64_t> shape) override {
    if (device_.is_cpu()) return WeightTensor::allocate(dtype, std::move(shape));
    WS_ASSIGN_OR_RETURN(uint64_t numel, WeightTensor::checked_numel(dtype, shape));
    const uint64_t bytes = dtype_storage_bytes(dtype, numel);
    at::Tensor storage;
    try {
      storage = at::empty({i64(std::max<uint64_t>(bytes, 1))}, at::TensorOptions().dtype(at::kByte).device(device_));
    } catch (const std::exception& e) {
      return make_error(ErrorKind::OutOfBudget,
                        "cannot allocate " + std::to_string(bytes) + " bytes on " + device_.str() + ": " + e.what());
    }
    WeightTensor tensor;
    tensor.dtype = dtype;
    tensor.shape = std::move(shape);
    tensor.data = static_cast<uint8_t*>(storage.data_ptr());
    tensor.bytes = bytes;
    tensor.storage = std::make_unique<detail::TensorDestination>(storage, dtype, uploader_source());
    return tensor;
  }

  // ---- memory: the host defaults on the CPU, device memory on CUDA ----
  bool computes_on_host() const override { return device_.is_cpu(); }

  Result<ComputeBuffer> allocate_compute(size_t floats) override {
    if (device_.is_cpu()) return Backend::allocate_compute(floats);
    try {
      auto owner = std::make_shared<at::Tensor>(
          at::zeros({i64(std::max<size_t>(floats, 1))}, at::TensorOptions().dtype(at::kFloat).device(device_)));
      return ComputeBuffer(owner->data_ptr<float>(), floats, owner);
    } catch (const std::exception& e) {
      return make_error(ErrorKind::OutOfBudget,
                        "cannot allocate " + std::to_string(floats) + " floats on " + device_.str() + ": " + e.what());
    }
  }

  void copy_to_host(const float* src, size_t n, float* host) override {
    if (device_.is_cpu()) return Backend::copy_to_host(src, n, host);
    at::from_blob(host, {i64(n)}, at::TensorOptions().dtype(at::kFloat)).copy_(view(src, {i64(n)}));
  }

  // at::argmax returns the first of equal maxima, as the host default does.
  int32_t argmax(const float* x, size_t n) override {
    if (device_.is_cpu()) return Backend::argmax(x, n);
    return static_cast<int32_t>(at::argmax(view(x, {i64(n)})).item<int64_t>());
  }

  void copy_rows(const float* src, size_t src_stride, size_t n, size_t width, const int32_t* rows,
                 float* dst) override {
    if (device_.is_cpu()) return Backend::copy_rows(src, src_stride, n, width, rows, dst);
    at::Tensor from = at::from_blob(const_cast<float*>(src), {i64(n), i64(width)}, {i64(src_stride), 1}, f32());
    if (!rows) {
      view(dst, {i64(n), i64(width)}).copy_(from);
      return;
    }
    const DevicePositions& at_rows = positions_.update(rows, n, device_);
    view(dst, {at_rows.slots, i64(width)}).index_copy_(0, at_rows.index, from);
  }

  StagingProvider* load_staging(uint64_t staging_bytes) override {
#if defined(WS_CUDA)
    if (device_.is_cuda() && !uploader_) {
      Result<std::unique_ptr<CudaUploader>> made = CudaUploader::create(device_.index(), staging_bytes);
      if (!made) {
        upload_error_ = made.error();
        return nullptr;
      }
      uploader_ = std::move(*made);
    }
    return uploader_.get();
#else
    return nullptr;
#endif
  }

  Status finish_load() override {
    if (upload_error_) return *upload_error_;
#if defined(WS_CUDA)
    if (uploader_) {
      Status finished = uploader_->finish();
      uploader_.reset();  // frees the pinned buffers
      return finished;
    }
#endif
    return Status::ok();
  }

  // ---- ops ----
  void embedding(const WeightTensor& table, const int32_t* ids, size_t n, float* out) override {
    const int64_t vocab = i64(table.shape[0]), dim = i64(table.shape[1]);
    at::Tensor index = at::from_blob(const_cast<int32_t*>(ids), {i64(n)}, at::TensorOptions().dtype(at::kInt))
                           .to(device_, at::kLong);
    if (dtype_is_quantized(table.dtype)) {  // only the looked-up rows are widened
      const int64_t row_bytes = i64(dtype_storage_bytes(table.dtype, table.shape[1]));
      const at::Tensor rows = at::index_select(at::from_blob(table.data, {vocab, row_bytes}, options(at::kByte)), 0, index);
      view(out, {i64(n), dim}).copy_(detail::dequantize_blocks_aten(table.dtype, rows.contiguous()).view({i64(n), dim}));
      return;
    }
    at::Tensor t = at::from_blob(table.data, {vocab, dim}, options(weight_scalar_type(table.dtype)));
    view(out, {i64(n), dim}).copy_(at::index_select(t, 0, index));
  }

  void linear(const float* x, size_t n, const MatrixView& w, const float* bias, float* y) override {
    const int64_t in = i64(w.in), out = i64(w.out);
    at::Tensor input = view(x, {i64(n), in});
    at::Tensor result = view(y, {i64(n), out});
    // [in, out] for x · W: OutIn (nn.Linear) is the transpose of its storage.
    const bool out_in = w.layout == WeightLayout::OutIn;
    const std::vector<int64_t> stored_shape = out_in ? std::vector<int64_t>{out, in} : std::vector<int64_t>{in, out};
    at::Tensor stored;
    if (dtype_is_quantized(w.dtype)) {  // widened for this product, on the device that holds it
      const int64_t bytes = i64(dtype_storage_bytes(w.dtype, static_cast<uint64_t>(in * out)));
      const at::Tensor blocks = at::from_blob(const_cast<void*>(w.data), {bytes}, options(at::kByte));
      stored = detail::dequantize_blocks_aten(w.dtype, blocks).view(stored_shape);
    } else {
      stored = at::from_blob(const_cast<void*>(w.data), stored_shape, options(weight_scalar_type(w.dtype)));
    }
    at::Tensor weight = out_in ? stored.t() : stored;
    if (w.dtype != DType::F32 && device_.is_cuda()) {
      // On the GPU a narrow weight is used as stored (as transformers runs a
      // bf16 model): the activations are narrowed, the product widened.
      result.copy_(at::mm(input.to(stored.scalar_type()), weight));
      if (bias) result.add_(view(bias, {out}));
      return;
    }
    // LibTorch 1.13's CPU matmul has no mixed-dtype kernel: narrow weights are
    // widened (a temporary the size of the f32 matrix).
    if (weight.scalar_type() != at::kFloat) weight = weight.to(at::kFloat);
    if (bias) {
      at::addmm_out(result, view(bias, {out}), input, weight);
    } else {
      at::mm_out(result, input, weight);
    }
  }

  void layer_norm(const float* x, size_t n, size_t dim, const float* gamma, const float* beta, float eps,
                  float* y) override {
    const int64_t d = i64(dim);
    at::Tensor normed = at::layer_norm(view(x, {i64(n), d}), {d}, view(gamma, {d}),
                                       beta ? view(beta, {d}) : at::Tensor(), eps);
    view(y, {i64(n), d}).copy_(normed);
  }

  // As transformers' LlamaRMSNorm: x * rsqrt(mean(x^2) + eps) * gamma, in f32.
  void rms_norm(const float* x, size_t n, size_t dim, const float* gamma, float gamma_offset, float eps,
                float* y) override {
    const int64_t d = i64(dim);
    at::Tensor input = view(x, {i64(n), d});
    at::Tensor variance = input.pow(2).mean(-1, /*keepdim=*/true);
    at::Tensor normed = input * at::rsqrt(variance + eps);
    at::Tensor result = view(y, {i64(n), d});
    at::Tensor weight = view(gamma, {d});
    if (gamma_offset != 0.0f) weight = weight + gamma_offset;
    at::mul_out(result, weight, normed);
  }

  void rotary(float* x, size_t n, const RotaryShape& shape, const int32_t* positions,
              const float* inv_freq) override {
    const int64_t rows = i64(n), h = i64(shape.heads), hd = i64(shape.head_dim), rd = i64(shape.rotary_dim);
    const int64_t half = rd / 2;
    at::Tensor freqs = positions_.update(positions, n, device_).angle *
                       inv_freq_.get(inv_freq, static_cast<size_t>(half), device_).unsqueeze(0);
    at::Tensor emb = at::cat({freqs, freqs}, -1).unsqueeze(1);  // [n, 1, rotary_dim]
    at::Tensor cos = emb.cos(), sin = emb.sin();
    if (shape.scale != 1.0f) {
      cos = cos * shape.scale;
      sin = sin * shape.scale;
    }
    at::Tensor t = view(x, {rows, h, hd}).narrow(-1, 0, rd);
    at::Tensor rotated = at::cat({-t.narrow(-1, half, half), t.narrow(-1, 0, half)}, -1);
    t.copy_(t * cos + rotated * sin);
  }

  void attention(const float* q, size_t n, const int32_t* positions, const float* k_cache, const float* v_cache,
                 const AttentionShape& shape, float scale, float* out) override {
    const int64_t rows = i64(n), heads = i64(shape.heads), kv_heads = i64(shape.kv_heads), hd = i64(shape.head_dim);
    const DevicePositions& at_positions = positions_.update(positions, n, device_);
    const int64_t slots = at_positions.slots;
    at::Tensor query = view(q, {rows, heads, hd}).transpose(0, 1);           // [heads, n, hd]
    at::Tensor keys = view(k_cache, {slots, kv_heads, hd}).transpose(0, 1);  // [kv, slots, hd]
    at::Tensor values = view(v_cache, {slots, kv_heads, hd}).transpose(0, 1);
    if (kv_heads != heads) {  // grouped-query: each kv head serves heads / kv_heads query heads
      keys = keys.repeat_interleave(heads / kv_heads, 0);
      values = values.repeat_interleave(heads / kv_heads, 0);
    }
    at::Tensor visible = at_positions.visible;  // true = attend
    if (shape.sliding_window != 0) {
      // slot > position - window: the window holds the query's own position.
      visible = visible.logical_and(at::arange(slots, at_positions.index.options()).unsqueeze(0).gt(
          at_positions.index.unsqueeze(1) - i64(shape.sliding_window)));
    }
    at::Tensor context;
    if (shape.logit_softcap > 0) {
      const float cap = shape.logit_softcap;
      at::Tensor scores = at::matmul(query, keys.transpose(1, 2)) * scale;  // [heads, n, slots]
      scores = at::tanh(scores / cap) * cap;
      scores.masked_fill_(visible.logical_not(), -std::numeric_limits<float>::infinity());
      context = at::matmul(at::softmax(scores, -1), values);  // [heads, n, hd]
    } else {
#if WS_TORCH_HAS_SDPA_SCALE
      context = at::scaled_dot_product_attention(query, keys, values, visible, 0.0, false,
                                                 static_cast<double>(scale));
#else
      at::Tensor scores = at::matmul(query, keys.transpose(1, 2)) * scale;  // [heads, n, slots]
      scores.masked_fill_(visible.logical_not(), -std::numeric_limits<float>::infinity());
      context = at::matmul(at::softmax(scores, -1), values);  // [heads, n, hd]
#endif
    }
    view(out, {rows, heads, hd}).copy_(context.transpose(0, 1));
  }

  // GPT-2's gelu_new: the tanh approximation.
  void gelu_new(float* x, size_t n) override {
    at::Tensor t = view(x, {i64(n)});
    t.copy_(at::gelu(t, "tanh"));
  }

  void silu_mul(const float* gate, const float* up, size_t n, float* out) override {
    at::Tensor result = view(out, {i64(n)});
    at::mul_out(result, at::silu(view(gate, {i64(n)})), view(up, {i64(n)}));
  }

  void gelu_tanh_mul(const float* gate, const float* up, size_t n, float* out) override {
    at::Tensor result = view(out, {i64(n)});
    at::mul_out(result, at::gelu(view(gate, {i64(n)}), "tanh"), view(up, {i64(n)}));
  }

  void scale(float* x, size_t n, float factor) override { view(x, {i64(n)}).mul_(factor); }

  void softcap(float* x, size_t n, float cap) override {
    at::Tensor t = view(x, {i64(n)});
    t.copy_(at::tanh(t / cap) * cap);
  }

  void softmax(float* x, size_t n) override {
    at::Tensor t = view(x, {i64(n)});
    t.copy_(at::softmax(t, 0));
  }

  void add(const float* a, const float* b, size_t n, float* out) override {
    at::Tensor result = view(out, {i64(n)});
    at::add_out(result, view(a, {i64(n)}), view(b, {i64(n)}));
  }

 private:
  at::TensorOptions options(at::ScalarType type) const { return at::TensorOptions().dtype(type).device(device_); }
  at::TensorOptions f32() const { return options(at::kFloat); }
  at::Tensor view(const float* data, std::vector<int64_t> sizes) const {
    return at::from_blob(const_cast<float*>(data), sizes, f32());
  }

  // How a weight's destination finds the upload ring: made at the first
  // write when the caller did not ask load_staging() first.
  detail::UploaderSource uploader_source() {
#if defined(WS_CUDA)
    return [this]() -> Result<CudaUploader*> {
      if (!uploader_) {
        if (!load_staging(16ull << 20)) return *upload_error_;
      }
      return uploader_.get();
    };
#else
    return {};
#endif
  }

  at::Device device_;
  DevicePositions positions_;
  FrequenciesOnDevice inv_freq_;
#if defined(WS_CUDA)
  std::unique_ptr<CudaUploader> uploader_;
#endif
  std::optional<Error> upload_error_;
};

}  // namespace

Result<std::unique_ptr<Backend>> make_torch_backend(const TorchDevice& device, const BackendOptions& options) {
  if (options.threads < 0) {
    return make_error(ErrorKind::InvalidArgument, "thread count " + std::to_string(options.threads));
  }
  if (device.cuda) {
#if defined(WS_CUDA)
    WS_TRY(torch_cuda_init(device));
    const at::Device where(at::kCUDA, static_cast<c10::DeviceIndex>(device.index));
    try {
      // cuBLAS handles and attention kernels are made on first use: made
      // here, so the first forward (the prefill) does not pay for them, as a
      // warmed-up transformers run does not.
      for (at::ScalarType type : {at::kFloat, at::kHalf, at::kBFloat16}) {
        at::Tensor a = at::ones({16, 16}, at::TensorOptions().dtype(type).device(where));
        at::mm(a, a);
        at::Tensor q = a.view({1, 16, 16});
        at::softmax(at::matmul(q, q.transpose(1, 2)), -1);
      }
      at::Tensor q = at::ones({2, 4, 8}, at::TensorOptions().dtype(at::kFloat).device(where));
#if WS_TORCH_HAS_SDPA_SCALE
      at::scaled_dot_product_attention(q, q, q, at::ones({4, 4}, q.options().dtype(at::kBool)), 0.0, false, 1.0);
#endif
    } catch (const std::exception& e) {
      return make_error(ErrorKind::Device, device.name() + ": " + e.what());
    }
    return std::unique_ptr<Backend>(std::make_unique<AtenBackend>(where, options.threads));
#else
    return make_error(ErrorKind::Unsupported, "--backend torch --device " + device.name() + ": " +
                                                  torch_cuda_unavailable_reason());
#endif
  }
  return std::unique_ptr<Backend>(std::make_unique<AtenBackend>(at::Device(at::kCPU), options.threads));
}

}  // namespace ws
