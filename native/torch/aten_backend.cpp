// The Backend ops with ATen, on the CPU or a CUDA device. Every handle the
// model passes (weights, activations, the KV cache, token ids, positions,
// rotary tables) is memory this backend allocated, viewed with at::from_blob
// on its device, never copied; results are written into the views with the
// *_out ops or copy_. Host arrays reach the device only through set() (the
// model sends a forward's ids and positions once, the rotary tables once), so
// no op compares or re-sends host contents.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/version.h>

#include <algorithm>
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
    tensor.storage = std::make_unique<detail::TensorDestination>(storage, dtype, uploader_source(), bytes);
    return tensor;
  }

  // ---- memory: the host defaults on the CPU, device memory on CUDA ----
  bool computes_on_host() const override { return device_.is_cpu(); }

  // Compute memory is ATen's on either device (on the CPU the host defaults
  // would do as well; one path keeps both devices alike).
  Result<ComputeBuffer> allocate_compute(size_t count, ComputeType type) override {
    try {
      auto owner = std::make_shared<at::Tensor>(at::zeros({i64(std::max<size_t>(count, 1))}, options(scalar_type(type))));
      return make_compute_buffer(owner->data_ptr(), count, type, owner);
    } catch (const std::exception& e) {
      return make_error(ErrorKind::OutOfBudget,
                        "cannot allocate " + std::to_string(count) + " elements on " + device_.str() + ": " + e.what());
    }
  }

  void set(ComputeView dst, const void* host) override {
    if (dst.count == 0) return;
    const at::ScalarType type = scalar_type(dst.buffer->type());
    view(dst, {i64(dst.count)}).copy_(at::from_blob(const_cast<void*>(host), {i64(dst.count)}, at::TensorOptions().dtype(type)));
  }

  void get(ComputeView src, void* host) override {
    if (src.count == 0) return;
    const at::ScalarType type = scalar_type(src.buffer->type());
    at::from_blob(host, {i64(src.count)}, at::TensorOptions().dtype(type)).copy_(view(src, {i64(src.count)}));
  }

  // at::argmax returns the first of equal maxima, as the host default does.
  int32_t argmax(ComputeView x) override {
    if (device_.is_cpu()) return Backend::argmax(x);
    return static_cast<int32_t>(at::argmax(view(x, {i64(x.count)})).item<int64_t>());
  }

  void copy_rows(ComputeView src, size_t src_stride, size_t n, size_t width, ComputeView rows,
                 ComputeView dst) override {
    if (device_.is_cpu()) return Backend::copy_rows(src, src_stride, n, width, rows, dst);
    at::Tensor from = at::from_blob(f32(src), {i64(n), i64(width)}, {i64(src_stride), 1}, options(at::kFloat));
    if (!rows) {
      view(dst, {i64(n), i64(width)}).copy_(from);
      return;
    }
    view(dst, {i64(dst.count / width), i64(width)}).index_copy_(0, view(rows, {i64(n)}).to(at::kLong), from);
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
  void embedding(const WeightTensor& table, ComputeView ids, ComputeView out) override {
    const int64_t vocab = i64(table.shape[0]), dim = i64(table.shape[1]), n = i64(ids.count);
    const at::Tensor index = view(ids, {n}).to(at::kLong);
    void* data = const_cast<uint8_t*>(weight_bytes(table));
    if (dtype_is_quantized(table.dtype)) {  // only the looked-up rows are widened
      const int64_t row_bytes = i64(dtype_storage_bytes(table.dtype, table.shape[1]));
      const at::Tensor rows = at::index_select(at::from_blob(data, {vocab, row_bytes}, options(at::kByte)), 0, index);
      view(out, {n, dim}).copy_(detail::dequantize_blocks_aten(table.dtype, rows.contiguous()).view({n, dim}));
      return;
    }
    at::Tensor t = at::from_blob(data, {vocab, dim}, options(weight_scalar_type(table.dtype)));
    view(out, {n, dim}).copy_(at::index_select(t, 0, index));
  }

  void linear(ComputeView x, size_t n, const MatrixView& w, const WeightTensor* bias, ComputeView y) override {
    const int64_t in = i64(w.in), out = i64(w.out);
    at::Tensor input = view(x, {i64(n), in});
    at::Tensor result = view(y, {i64(n), out});
    // [in, out] for x · W: OutIn (nn.Linear) is the transpose of its storage.
    const bool out_in = w.layout == WeightLayout::OutIn;
    const std::vector<int64_t> stored_shape = out_in ? std::vector<int64_t>{out, in} : std::vector<int64_t>{in, out};
    at::Tensor stored;
    if (dtype_is_quantized(w.dtype)) {  // widened for this product, on the device that holds it
      const int64_t bytes = i64(dtype_storage_bytes(w.dtype, static_cast<uint64_t>(in * out)));
      const at::Tensor blocks = at::from_blob(weight_data(*w.weight), {bytes}, options(at::kByte));
      stored = detail::dequantize_blocks_aten(w.dtype, blocks).view(stored_shape);
    } else {
      stored = at::from_blob(weight_data(*w.weight), stored_shape, options(weight_scalar_type(w.dtype)));
    }
    at::Tensor weight = out_in ? stored.t() : stored;
    if (w.dtype != DType::F32 && device_.is_cuda()) {
      // On the GPU a narrow weight is used as stored (as transformers runs a
      // bf16 model): the activations are narrowed, the product widened.
      result.copy_(at::mm(input.to(stored.scalar_type()), weight));
      if (bias) result.add_(vector(*bias, out));
      return;
    }
    // LibTorch 1.13's CPU matmul has no mixed-dtype kernel: narrow weights are
    // widened (a temporary the size of the f32 matrix).
    if (weight.scalar_type() != at::kFloat) weight = weight.to(at::kFloat);
    if (bias) {
      at::addmm_out(result, vector(*bias, out), input, weight);
    } else {
      at::mm_out(result, input, weight);
    }
  }

  void layer_norm(ComputeView x, size_t n, size_t dim, const WeightTensor& gamma, const WeightTensor* beta, float eps,
                  ComputeView y) override {
    const int64_t d = i64(dim);
    at::Tensor normed = at::layer_norm(view(x, {i64(n), d}), {d}, vector(gamma, d),
                                       beta ? vector(*beta, d) : at::Tensor(), eps);
    view(y, {i64(n), d}).copy_(normed);
  }

  // As transformers' LlamaRMSNorm: x * rsqrt(mean(x^2) + eps) * gamma, in f32.
  void rms_norm(ComputeView x, size_t n, size_t dim, const WeightTensor& gamma, float gamma_offset, float eps,
                ComputeView y) override {
    const int64_t d = i64(dim);
    at::Tensor input = view(x, {i64(n), d});
    at::Tensor variance = input.pow(2).mean(-1, /*keepdim=*/true);
    at::Tensor normed = input * at::rsqrt(variance + eps);
    at::Tensor result = view(y, {i64(n), d});
    at::Tensor weight = vector(gamma, d);
    if (gamma_offset != 0.0f) weight = weight + gamma_offset;
    at::mul_out(result, weight, normed);
  }

  void rotary(ComputeView x, size_t n, const RotaryShape& shape, ComputeView positions,
              ComputeView inv_freq) override {
    const int64_t rows = i64(n), h = i64(shape.heads), hd = i64(shape.head_dim), rd = i64(shape.rotary_dim);
    const int64_t half = rd / 2;
    const at::Tensor angle = view(positions, {rows}).to(at::kFloat).unsqueeze(1);  // [n, 1]
    at::Tensor freqs = angle * view(inv_freq, {half}).unsqueeze(0);
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

  void attention(ComputeView q, size_t n, ComputeView positions, ComputeView k_cache, ComputeView v_cache,
                 const AttentionShape& shape, float scale, ComputeView out) override {
    const int64_t rows = i64(n), heads = i64(shape.heads), kv_heads = i64(shape.kv_heads), hd = i64(shape.head_dim);
    // The slots the model passed are those its positions reach (0..max).
    const int64_t slots = i64(k_cache.count) / (kv_heads * hd);
    const at::Tensor ints = view(positions, {rows});
    at::Tensor query = view(q, {rows, heads, hd}).transpose(0, 1);           // [heads, n, hd]
    at::Tensor keys = view(k_cache, {slots, kv_heads, hd}).transpose(0, 1);  // [kv, slots, hd]
    at::Tensor values = view(v_cache, {slots, kv_heads, hd}).transpose(0, 1);
    if (kv_heads != heads) {  // grouped-query: each kv head serves heads / kv_heads query heads
      keys = keys.repeat_interleave(heads / kv_heads, 0);
      values = values.repeat_interleave(heads / kv_heads, 0);
    }
    // true = attend: query t sees slots 0..positions[t].
    at::Tensor visible = at::arange(slots, ints.options()).unsqueeze(0).le(ints.unsqueeze(1));
    if (shape.sliding_window != 0) {
      // slot > position - window: the window holds the query's own position.
      const at::Tensor index = ints.to(at::kLong);
      visible = visible.logical_and(
          at::arange(slots, index.options()).unsqueeze(0).gt(index.unsqueeze(1) - i64(shape.sliding_window)));
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
  void gelu_new(ComputeView x) override {
    at::Tensor t = flat(x);
    t.copy_(at::gelu(t, "tanh"));
  }

  void silu_mul(ComputeView gate, ComputeView up, ComputeView out) override {
    at::Tensor result = flat(out);
    at::mul_out(result, at::silu(flat(gate)), flat(up));
  }

  void gelu_tanh_mul(ComputeView gate, ComputeView up, ComputeView out) override {
    at::Tensor result = flat(out);
    at::mul_out(result, at::gelu(flat(gate), "tanh"), flat(up));
  }

  void scale(ComputeView x, float factor) override { flat(x).mul_(factor); }

  void softcap(ComputeView x, float cap) override {
    at::Tensor t = flat(x);
    t.copy_(at::tanh(t / cap) * cap);
  }

  void softmax(ComputeView x) override {
    at::Tensor t = flat(x);
    t.copy_(at::softmax(t, 0));
  }

  void add(ComputeView a, ComputeView b, ComputeView out) override {
    at::Tensor result = flat(out);
    at::add_out(result, flat(a), flat(b));
  }

 private:
  static at::ScalarType scalar_type(ComputeType type) { return type == ComputeType::I32 ? at::kInt : at::kFloat; }
  at::TensorOptions options(at::ScalarType type) const { return at::TensorOptions().dtype(type).device(device_); }
  // A handle of this backend's compute memory as a tensor of `sizes` (its own
  // element type), and the whole view flat.
  at::Tensor view(const ComputeView& v, std::vector<int64_t> sizes) const {
    return at::from_blob(address(v), sizes, options(scalar_type(v.buffer->type())));
  }
  at::Tensor flat(const ComputeView& v) const { return view(v, {i64(v.count)}); }
  // A weight's bytes (this backend's storage), and an f32 vector weight.
  static void* weight_data(const WeightTensor& w) { return const_cast<uint8_t*>(weight_bytes(w)); }
  at::Tensor vector(const WeightTensor& w, int64_t n) const {
    return at::from_blob(weight_data(w), {n}, options(at::kFloat));
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
