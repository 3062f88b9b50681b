// The portable CPU backend: ops on host memory built from the selected
// microkernel table, matrix products split over output rows on a thread pool.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "backend/backend.h"
#include "backend/kernels/kernels.h"
#include "backend/kernels/quant_kernels.h"
#include "backend/kernels/quant_pack.h"
#include "load/dequant.h"
#include "util/thread_pool.h"

namespace ws {
namespace detail {
void advise_huge_pages(uint8_t* data, uint64_t bytes);  // weight_tensor.cpp
}
namespace {

kernels::WeightType weight_type(DType dtype) {
  switch (dtype) {
    case DType::F16: return kernels::kF16;
    case DType::BF16: return kernels::kBF16;
    default: return kernels::kF32;
  }
}

const uint8_t* offset_elements(const void* base, DType dtype, size_t elements) {
  return static_cast<const uint8_t*>(base) + elements * dtype_size(dtype);
}

static_assert(static_cast<int>(DType::Q5_K) - static_cast<int>(DType::Q4_0) == kernels::kQ5_K &&
                  static_cast<int>(DType::Q6_K) - static_cast<int>(DType::Q4_0) == kernels::kQ6_K,
              "quant_kernels.h's QuantType follows DType's block types");

// Below this many multiply-adds an op runs on the calling thread: waking the
// pool costs more than it saves.
constexpr size_t kMinParallelWork = 1 << 15;

class PortableBackend final : public Backend {
 public:
  PortableBackend(const kernels::KernelTable& table, const kernels::QuantKernelTable& quant, int threads,
                  bool huge_pages)
      : table_(table), quant_(quant), pool_(threads), huge_pages_(huge_pages) {}

  std::string describe() const override {
    std::string isa = table_.isa;
    if (std::string(quant_.isa) != isa) isa += " (blocks: " + std::string(quant_.isa) + ")";
    return "portable " + isa + ", " + std::to_string(pool_.threads()) + " threads";
  }
  int threads() const override { return pool_.threads(); }

  bool supports_weight_dtype(DType dtype) const override {
    return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16 || dtype_is_quantized(dtype);
  }

  bool computes_from_host_views() const override { return true; }

  Result<WeightTensor> allocate_weight(DType dtype, std::vector<uint64_t> shape) override {
    WS_ASSIGN_OR_RETURN(WeightTensor tensor, WeightTensor::allocate(dtype, std::move(shape)));
    if (huge_pages_) detail::advise_huge_pages(tensor.storage->host_data(), tensor.bytes());
    return tensor;
  }

  // Q4_0 / Q8_0 matrices with at least one whole 16-row group go to the
  // packed layout where the kernel table has a packed kernel (AVX-512: both,
  // AVX2: Q4_0); the
  // groups are split over the pool.
  void prepare_linear_weight(WeightTensor& weight) override {
    if (!dtype_is_quantized(weight.dtype) || weight.shape.size() != 2) return;
    // Only bytes this backend owns are rearranged: a weight served from a
    // mapped file (Model::serve_from_view) is read-only and keeps ggml's layout.
    uint8_t* bytes = weight.storage ? weight.storage->host_data() : nullptr;
    if (!bytes) return;
    const auto type = static_cast<kernels::QuantType>(static_cast<int>(weight.dtype) - static_cast<int>(DType::Q4_0));
    if (!kernels::quant::packable(type) || !quant_.packed[type]) return;
    const size_t rows = static_cast<size_t>(weight.shape[0]), k = static_cast<size_t>(weight.shape[1]);
    const size_t groups = rows / kernels::quant::kPackRows;
    if (groups == 0 || weight.packed) return;
    const size_t tasks = std::min(groups, static_cast<size_t>(pool_.threads()) * 4);
    pool_.parallel_for(tasks, [&](size_t t) {
      kernels::quant::pack_groups(type, bytes, k, groups * t / tasks, groups * (t + 1) / tasks);
    });
    weight.packed = true;
  }

  void embedding(const WeightTensor& table, ComputeView id_view, ComputeView out_view) override {
    const size_t dim = table.shape.size() == 2 ? table.shape[1] : 0;
    const size_t n = id_view.count;
    const int32_t* ids = i32(id_view);
    float* out = f32(out_view);
    const uint8_t* data = weight_bytes(table);
    for (size_t t = 0; t < n; ++t) {
      const size_t row = static_cast<size_t>(ids[t]) * dim;
      float* dst = out + t * dim;
      switch (table.dtype) {
        case DType::F16: {
          const uint16_t* src = reinterpret_cast<const uint16_t*>(data) + row;
          for (size_t i = 0; i < dim; ++i) dst[i] = kernels::f16_to_f32(src[i]);
          break;
        }
        case DType::BF16: {
          const uint16_t* src = reinterpret_cast<const uint16_t*>(data) + row;
          for (size_t i = 0; i < dim; ++i) dst[i] = kernels::bf16_to_f32(src[i]);
          break;
        }
        case DType::F32: std::memcpy(dst, reinterpret_cast<const float*>(data) + row, dim * sizeof(float)); break;
        default: {  // ggml blocks: one row is dim / block_elements whole blocks
          const uint64_t row_bytes = dtype_storage_bytes(table.dtype, dim);
          detail::dequantize_blocks(table.dtype, data + static_cast<size_t>(ids[t]) * row_bytes, dst,
                                    dim / dtype_block_elements(table.dtype));
        }
      }
    }
  }

  void linear(ComputeView x_view, size_t n, const MatrixView& w, const WeightTensor* bias_weight,
              ComputeView y_view) override {
    const float* x = f32(x_view);
    const float* bias = weight_f32(bias_weight);
    float* y = f32(y_view);
    if (dtype_is_quantized(w.dtype)) return linear_blocks(x, n, w, bias, y);
    const uint8_t* data = weight_bytes(*w.weight);
    const bool out_in = w.layout == WeightLayout::OutIn;
    const kernels::GemmOiFn kernel =
        out_in ? table_.gemm_oi[weight_type(w.dtype)] : table_.gemm_io[weight_type(w.dtype)];
    // Output tiles match the kernels' register blocking (4 rows / 64 columns).
    // Decode over [in, out] weights reads row segments: one long segment per
    // thread streams better than several short ones.
    const size_t per_thread = !out_in && n <= 2 ? 1 : 4;
    for_each_output_range(n, w, out_in ? 4 : 64, per_thread, bias, y, [&](size_t begin, size_t end) {
      if (out_in) {
        kernel(n, end - begin, w.in, x, w.in, offset_elements(data, w.dtype, begin * w.in), w.in, y + begin, w.out);
      } else {
        kernel(n, end - begin, w.in, x, w.in, offset_elements(data, w.dtype, begin), w.out, y + begin, w.out);
      }
    });
  }

  void layer_norm(ComputeView x_view, size_t n, size_t dim, const WeightTensor& gamma_weight,
                  const WeightTensor* beta_weight, float eps, ComputeView y_view) override {
    const float *x = f32(x_view), *gamma = weight_f32(&gamma_weight), *beta = weight_f32(beta_weight);
    float* y = f32(y_view);
    for (size_t t = 0; t < n; ++t) table_.layer_norm(x + t * dim, dim, gamma, beta, eps, y + t * dim);
  }

  void rms_norm(ComputeView x_view, size_t n, size_t dim, const WeightTensor& gamma_weight, float gamma_offset,
                float eps, ComputeView y_view) override {
    const float *x = f32(x_view), *gamma = weight_f32(&gamma_weight);
    float* y = f32(y_view);
    for (size_t t = 0; t < n; ++t) table_.rms_norm(x + t * dim, dim, gamma, gamma_offset, eps, y + t * dim);
  }

  // Angles are formed in float like Hugging Face (position * inv_freq in f32),
  // so long contexts round the same way the reference does.
  void rotary(ComputeView x_view, size_t n, const RotaryShape& shape, ComputeView position_view,
              ComputeView inv_freq_view) override {
    float* x = f32(x_view);
    const int32_t* positions = i32(position_view);
    const float* inv_freq = f32(inv_freq_view);
    const size_t half = shape.rotary_dim / 2;
    std::vector<float> cos_sin(2 * half);
    for (size_t t = 0; t < n; ++t) {
      for (size_t i = 0; i < half; ++i) {
        const float angle = static_cast<float>(positions[t]) * inv_freq[i];
        cos_sin[i] = static_cast<float>(std::cos(static_cast<double>(angle))) * shape.scale;
        cos_sin[half + i] = static_cast<float>(std::sin(static_cast<double>(angle))) * shape.scale;
      }
      for (size_t h = 0; h < shape.heads; ++h) {
        float* v = x + (t * shape.heads + h) * shape.head_dim;
        for (size_t i = 0; i < half; ++i) {
          const float a = v[i], b = v[i + half], c = cos_sin[i], s = cos_sin[half + i];
          v[i] = a * c - b * s;
          v[i + half] = b * c + a * s;
        }
      }
    }
  }

  // One task per (query token, kv head): the `group` query heads sharing a
  // kv head are scored together, so each cached key is read once per group.
  void attention(ComputeView q_view, size_t n, ComputeView position_view, ComputeView k_view, ComputeView v_view,
                 const AttentionShape& shape, float scale, ComputeView out_view) override {
    const float *q = f32(q_view), *k_cache = f32(k_view), *v_cache = f32(v_view);
    const int32_t* positions = i32(position_view);
    float* out = f32(out_view);
    const size_t group = shape.heads / shape.kv_heads;
    const size_t hd = shape.head_dim;
    const size_t row = shape.kv_heads * hd;
    const kernels::KernelTable& table = table_;
    pool_.parallel_for(n * shape.kv_heads, [&](size_t task) {
      const size_t t = task / shape.kv_heads, g = task % shape.kv_heads;
      const size_t end = static_cast<size_t>(positions[t]) + 1;
      const size_t first = shape.sliding_window != 0 && end > shape.sliding_window ? end - shape.sliding_window : 0;
      const size_t context = end - first;
      thread_local std::vector<float> scores;
      if (scores.size() < group * context) scores.resize(group * context);
      const float* qg = q + (t * shape.heads + g * group) * hd;
      table.gemm_oi[kernels::kF32](group, context, hd, qg, hd, k_cache + first * row + g * hd, row, scores.data(),
                                   context);
      const float cap = shape.logit_softcap;
      for (size_t h = 0; h < group; ++h) {
        float* s = scores.data() + h * context;
        if (cap > 0) {
          for (size_t j = 0; j < context; ++j) s[j] = cap * std::tanh(s[j] * scale / cap);
        } else {
          for (size_t j = 0; j < context; ++j) s[j] *= scale;
        }
        table.softmax(s, context);
      }
      table.gemm_io[kernels::kF32](group, hd, context, scores.data(), context, v_cache + first * row + g * hd, row,
                                   out + (t * shape.heads + g * group) * hd, hd);
    });
  }

  void gelu_new(ComputeView x) override { table_.gelu_new(f32(x), x.count); }
  void silu_mul(ComputeView gate, ComputeView up, ComputeView out) override {
    table_.silu_mul(f32(gate), f32(up), out.count, f32(out));
  }
  void gelu_tanh_mul(ComputeView gate_view, ComputeView up_view, ComputeView out_view) override {
    const float *gate = f32(gate_view), *up = f32(up_view);
    float* out = f32(out_view);
    const size_t n = out_view.count;
    if (out != gate) std::copy(gate, gate + n, out);
    table_.gelu_new(out, n);  // the same tanh approximation
    for (size_t i = 0; i < n; ++i) out[i] *= up[i];
  }
  void scale(ComputeView x_view, float factor) override {
    float* x = f32(x_view);
    for (size_t i = 0; i < x_view.count; ++i) x[i] *= factor;
  }
  void softcap(ComputeView x_view, float cap) override {
    float* x = f32(x_view);
    for (size_t i = 0; i < x_view.count; ++i) x[i] = cap * std::tanh(x[i] / cap);
  }
  void softmax(ComputeView x) override { table_.softmax(f32(x), x.count); }
  void add(ComputeView a, ComputeView b, ComputeView out) override { table_.add(f32(a), f32(b), out.count, f32(out)); }

 private:
  // ggml block weights, read as blocks (no float copy of a weight ever exists).
  //   OutIn: the block kernels (quant_kernels.h): each input row quantized
  //          once, before the outputs are split over the pool; then integer
  //          block dot products.
  //   InOut: (GPT-2's Conv1D: rows run along the outputs, so no block holds a
  //          dot product's operands) each task dequantizes a block-aligned part
  //          of one row at a time into a per-thread buffer:
  //          y[t, begin:end] += x[t, c] * row c[begin:end].
  void linear_blocks(const float* x, size_t n, const MatrixView& w, const float* bias, float* y) {
    if (w.layout == WeightLayout::OutIn) return linear_block_kernels(x, n, w, bias, y);
    const size_t block = static_cast<size_t>(dtype_block_elements(w.dtype));
    const size_t block_bytes = static_cast<size_t>(dtype_block_bytes(w.dtype));
    const size_t row_bytes = w.row_bytes();
    const uint8_t* base = weight_bytes(*w.weight);
    // InOut tasks own whole blocks of output columns.
    for_each_output_range(n, w, std::max<size_t>(block, 64), 4, bias, y, [&](size_t begin, size_t end) {
      thread_local std::vector<float> row;
      row.resize(end - begin);
      for (size_t t = 0; t < n; ++t) std::fill(y + t * w.out + begin, y + t * w.out + end, 0.0f);
      for (size_t c = 0; c < w.in; ++c) {
        detail::dequantize_blocks(w.dtype, base + c * row_bytes + begin / block * block_bytes, row.data(),
                                  (end - begin) / block);
        for (size_t t = 0; t < n; ++t) {
          const float a = x[t * w.in + c];
          float* yt = y + t * w.out + begin;
          for (size_t i = 0; i < end - begin; ++i) yt[i] += a * row[i];
        }
      }
    });
  }

  void linear_block_kernels(const float* x, size_t n, const MatrixView& w, const float* bias, float* y) {
    const kernels::QuantGemm& gemm =
        quant_.types[static_cast<size_t>(w.dtype) - static_cast<size_t>(DType::Q4_0)];
    const size_t act_bytes = gemm.act_row_bytes(w.in);
    // The activation rows hold f32 scales: keep them 4-byte aligned.
    if (activations_.size() < n * act_bytes / sizeof(float) + 1) activations_.resize(n * act_bytes / sizeof(float) + 1);
    uint8_t* xq = reinterpret_cast<uint8_t*>(activations_.data());
    if (n >= 8) {
      pool_.parallel_for(n, [&](size_t t) { gemm.quantize_act(x + t * w.in, w.in, xq + t * act_bytes); });
    } else {
      for (size_t t = 0; t < n; ++t) gemm.quantize_act(x + t * w.in, w.in, xq + t * act_bytes);
    }
    const size_t row_bytes = w.row_bytes();
    const uint8_t* base = weight_bytes(*w.weight);
    if (w.packed) {
      // Rows [0, packed_rows) in 16-row groups, the rest in the ggml layout.
      const kernels::PackedGemmFn packed = quant_.packed[static_cast<size_t>(w.dtype) - static_cast<size_t>(DType::Q4_0)];
      const size_t group = kernels::quant::kPackRows, packed_rows = w.out / group * group;
      for_each_output_range(n, w, group, 4, bias, y, [&](size_t begin, size_t end) {
        const size_t split = std::min(end, packed_rows);
        if (begin < split) packed(n, (split - begin) / group, w.in, xq, base + begin * row_bytes, y + begin, w.out);
        const size_t rest = std::max(begin, split);
        if (rest < end) gemm.gemm(n, end - rest, w.in, xq, base + rest * row_bytes, row_bytes, y + rest, w.out);
      });
      return;
    }
    for_each_output_range(n, w, 4, 4, bias, y, [&](size_t begin, size_t end) {
      gemm.gemm(n, end - begin, w.in, xq, base + begin * row_bytes, row_bytes, y + begin, w.out);
    });
  }

  // Splits the outputs [0, w.out) of a product over the pool in whole tiles,
  // `per_thread` ranges per thread (one when the op is too small to share),
  // runs `compute(begin, end)` on each range and adds the bias to it.
  template <class Compute>
  void for_each_output_range(size_t n, const MatrixView& w, size_t tile, size_t per_thread, const float* bias,
                             float* y, const Compute& compute) {
    const size_t tiles = (w.out + tile - 1) / tile;
    size_t tasks = std::min(tiles, static_cast<size_t>(pool_.threads()) * per_thread);
    if (n * w.in * w.out < kMinParallelWork) tasks = 1;
    const size_t tiles_per_task = (tiles + tasks - 1) / tasks;
    const kernels::KernelTable& table = table_;
    pool_.parallel_for(tasks, [&](size_t task) {
      const size_t begin = std::min(w.out, task * tiles_per_task * tile);
      const size_t end = std::min(w.out, begin + tiles_per_task * tile);
      if (begin >= end) return;
      compute(begin, end);
      if (bias) {
        for (size_t t = 0; t < n; ++t) table.add(y + t * w.out + begin, bias + begin, end - begin, y + t * w.out + begin);
      }
    });
  }

  const kernels::KernelTable& table_;
  const kernels::QuantKernelTable& quant_;
  std::vector<float> activations_;  // quantized activation rows (f32 storage keeps them aligned)
  detail::ThreadPool pool_;
  bool huge_pages_;
};

}  // namespace

Result<std::unique_ptr<Backend>> make_portable_backend(const BackendOptions& options) {
  if (options.threads < 0) {
    return make_error(ErrorKind::InvalidArgument, "thread count must be >= 0, got " + std::to_string(options.threads));
  }
  int threads = options.threads;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  const kernels::KernelTable& table = options.force_scalar ? kernels::scalar_table() : kernels::best_table();
  const kernels::QuantKernelTable& quant =
      options.force_scalar ? kernels::quant_scalar_table() : kernels::quant_best_table();
  return std::unique_ptr<Backend>(new PortableBackend(table, quant, threads, options.huge_page_weights));
}

}  // namespace ws
