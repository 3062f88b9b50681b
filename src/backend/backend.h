// backend: weight tensors and the ~12 ops every model is written against.
//
// The portable backend runs on host memory: a scalar reference kernel for
// every op and an AVX2+FMA variant chosen once at start-up (a WASM SIMD128
// variant slots in the same way). Matrix products are split over output
// rows/columns on a small persistent thread pool.
//
// Activations and the KV cache are f32 ComputeBuffers the backend allocates
// (host memory here; device memory on a GPU backend, which model code never
// dereferences); weights are WeightTensors whose storage the loader fills in
// place (f32, f16 or bf16: narrow weights are widened inside the kernels,
// never copied; or ggml blocks, which the kernels read as blocks). Token ids, positions and rotary frequencies stay host arrays.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "format/format.h"
#include "load/load.h"

namespace ws {

// ---- weights -------------------------------------------------------------------
// Owns its bytes through `storage`, the loader's Destination for it
// (ManifestEntry::destination): a HostBuffer, or a GPU backend's device
// allocation. `data` is where the backend's ops find the bytes.
struct WeightTensor {
  DType dtype = DType::F32;
  std::vector<uint64_t> shape;
  std::unique_ptr<Destination> storage;
  uint8_t* data = nullptr;  // host or device address, as the backend computes
  uint64_t bytes = 0;
  // Set by a backend's prepare_linear_weight when it rearranged the bytes into
  // its own layout (then only that backend's linear() may read them).
  bool packed = false;

  uint64_t numel() const;
  // Host memory: allocates (without touching) dtype_storage_bytes(numel)
  // bytes. Errors: as checked_numel, OutOfBudget when the allocation fails.
  static Result<WeightTensor> allocate(DType dtype, std::vector<uint64_t> shape);
  // numel(), or OutOfBudget when the shape overflows; Unsupported for dtypes
  // other than F32/F16/BF16 and the ggml block types, and for a block type
  // whose rows (last dimension) are not whole blocks (shared by every
  // backend's allocate_weight).
  static Result<uint64_t> checked_numel(DType dtype, const std::vector<uint64_t>& shape);
  // The data as f32; only valid when dtype == F32.
  const float* f32() const { return reinterpret_cast<const float*>(data); }
};

// ---- compute memory --------------------------------------------------------------
// An f32 array in the memory the backend computes in: activations and the KV
// cache. Host memory for CPU backends; device memory for a GPU backend, so
// model code only passes it to ops (and copy_to_host) and never reads it.
class ComputeBuffer {
 public:
  ComputeBuffer() = default;
  ComputeBuffer(float* data, size_t floats, std::shared_ptr<void> owner)
      : owner_(std::move(owner)), data_(data), floats_(floats) {}
  float* data() const { return data_; }
  size_t size() const { return floats_; }

 private:
  std::shared_ptr<void> owner_;
  float* data_ = nullptr;
  size_t floats_ = 0;
};

// How a 2-D weight maps inputs to outputs: torch nn.Linear stores [out, in];
// Hugging Face's Conv1D (GPT-2) stores [in, out]. Both are used as stored.
enum class WeightLayout { OutIn, InOut };

struct MatrixView {
  const void* data = nullptr;
  DType dtype = DType::F32;  // F32, F16, BF16 or a ggml block type (rows are whole blocks)
  WeightLayout layout = WeightLayout::OutIn;
  size_t in = 0;
  size_t out = 0;
  bool packed = false;  // the backend's own layout (WeightTensor::packed)
  // Bytes between consecutive stored rows (rows are `in` long for OutIn,
  // `out` long for InOut).
  size_t row_bytes() const;
};
// View of a 2-D tensor (shape [out, in] for OutIn, [in, out] for InOut).
MatrixView matrix_view(const WeightTensor& weight, WeightLayout layout);

// ---- the op interface ------------------------------------------------------------
struct AttentionShape {
  size_t heads = 0;     // query heads
  size_t kv_heads = 0;  // key/value heads; heads % kv_heads == 0 (grouped-query)
  size_t head_dim = 0;
  // Sliding-window attention (Mistral, Gemma 2/3 local layers): 0 = every
  // earlier position; else the query at position p sees positions
  // p - sliding_window + 1 .. p (transformers' mask: kv > q - window).
  size_t sliding_window = 0;
  // Gemma 2's attention logit soft-capping: scores become
  // cap * tanh(scale * q.k / cap) before the softmax; 0 = none.
  float logit_softcap = 0.0f;
};

// Which part of each head rotates, and how much: rotary_dim <= head_dim
// (partial rotary, Phi-4-mini: the first rotary_dim elements rotate, element
// i pairing with i + rotary_dim/2; the rest pass through), and a factor on
// cos and sin (LongRoPE's attention factor; 1 otherwise).
struct RotaryShape {
  size_t heads = 0;
  size_t head_dim = 0;
  size_t rotary_dim = 0;
  float scale = 1.0f;
};

// Ops take raw pointers; shapes are the caller's promise (model code checks
// them once when it is built). None of them allocates per call except the
// attention scratch, which grows once per thread.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string describe() const = 0;  // e.g. "portable avx2+fma, 2 threads"
  virtual int threads() const = 0;

  // A weight buffer placed where this backend computes best; the loader fills
  // it in place. Errors as WeightTensor::allocate.
  virtual Result<WeightTensor> allocate_weight(DType dtype, std::vector<uint64_t> shape) = 0;
  // True when linear() and embedding() take weights of this dtype (F32, F16
  // and BF16 everywhere; ggml blocks where the backend has kernels for them).
  virtual bool supports_weight_dtype(DType dtype) const {
    return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16;
  }

  // ---- memory (host defaults; a GPU backend overrides all of these) ----
  // True when ComputeBuffers are host memory the caller may read directly.
  virtual bool computes_on_host() const { return true; }
  // Whether ops can read a weight from bytes the backend did not allocate
  // (a mapped checkpoint's pages, read-only): Model::serve_from_view.
  virtual bool computes_from_host_views() const { return false; }
  // `floats` zeroed f32 values (calloc: pages cost nothing until written).
  // Errors: OutOfBudget.
  virtual Result<ComputeBuffer> allocate_compute(size_t floats);
  // host[i] = src[i] for i < n (src is compute memory).
  virtual void copy_to_host(const float* src, size_t n, float* host);
  // The index of the first largest of x[0..n) (compute memory): greedy
  // decoding fetches this one id, not the logits.
  virtual int32_t argmax(const float* x, size_t n);
  // dst[(rows ? rows[t] : t) * width + i] = src[t * src_stride + i] for
  // t < n, i < width: splits fused projections and stores keys/values in the
  // cache slots of their positions (rows is a host array).
  virtual void copy_rows(const float* src, size_t src_stride, size_t n, size_t width, const int32_t* rows,
                         float* dst);
  // Loading: where the executor should stage windows that are not written in
  // place (nullptr: its own host buffer), and a barrier after the last byte
  // that reports any deferred copy error and frees load-only resources.
  virtual StagingProvider* load_staging(uint64_t staging_bytes) { return nullptr; }
  virtual Status finish_load() { return Status::ok(); }
  // After loading, once for each weight the model reads only through
  // linear() with WeightLayout::OutIn (never embedding(), never hashed or
  // written out again): the backend may rearrange its bytes, in place, into a
  // layout its kernels read faster (the portable backend's 16-row packed
  // Q4_0/Q8_0, same byte count) and set weight.packed.
  virtual void prepare_linear_weight(WeightTensor& weight) {}

  // out[t, :] = table[ids[t], :] widened to f32. table is [vocab, dim]; every
  // id must be < vocab.
  virtual void embedding(const WeightTensor& table, const int32_t* ids, size_t n, float* out) = 0;
  // y[t, :] = x[t, :] · W (+ bias) for t < n. x is [n, w.in], y is [n, w.out],
  // bias (f32, w.out) may be null. y must not alias x.
  virtual void linear(const float* x, size_t n, const MatrixView& w, const float* bias, float* y) = 0;
  // Row-wise over [n, dim]; y may alias x.
  virtual void layer_norm(const float* x, size_t n, size_t dim, const float* gamma, const float* beta,
                          float eps, float* y) = 0;
  // y = x / rms(x) * (gamma + gamma_offset), row-wise; y may alias x.
  // Gemma stores its norm weights w for a scale of (1 + w): gamma_offset 1.
  virtual void rms_norm(const float* x, size_t n, size_t dim, const float* gamma, float gamma_offset, float eps,
                        float* y) = 0;
  // In place on x [n, heads, head_dim], Hugging Face "rotate_half" layout on
  // the first rotary_dim elements of each head: element i pairs with
  // i + rotary_dim/2, angle positions[t] * inv_freq[i] (rotary_dim/2 of them),
  // cos and sin multiplied by shape.scale.
  virtual void rotary(float* x, size_t n, const RotaryShape& shape, const int32_t* positions,
                      const float* inv_freq) = 0;
  // Causal attention of n queries q [n, heads, head_dim] over a cache whose
  // slot p holds the key/value of position p: k_cache, v_cache are
  // [capacity, kv_heads, head_dim]; query t sees slots 0..positions[t].
  // out is [n, heads, head_dim].
  virtual void attention(const float* q, size_t n, const int32_t* positions, const float* k_cache,
                         const float* v_cache, const AttentionShape& shape, float scale, float* out) = 0;
  virtual void gelu_new(float* x, size_t n) = 0;  // tanh approximation, in place
  virtual void silu_mul(const float* gate, const float* up, size_t n, float* out) = 0;  // silu(g) * u
  // gelu(g) * u with the tanh approximation (GeGLU: Gemma's gelu_pytorch_tanh); out may alias gate.
  virtual void gelu_tanh_mul(const float* gate, const float* up, size_t n, float* out) = 0;
  virtual void scale(float* x, size_t n, float factor) = 0;  // in place
  virtual void softcap(float* x, size_t n, float cap) = 0;   // cap * tanh(x / cap), in place
  virtual void softmax(float* x, size_t n) = 0;   // in place, one row
  virtual void add(const float* a, const float* b, size_t n, float* out) = 0;  // out may alias a or b
};

struct BackendOptions {
  int threads = 0;            // 0: one per hardware thread
  bool force_scalar = false;  // use the scalar reference kernels (tests, debugging)
  // Ask for 2 MiB pages for weights (Linux madvise; a no-op elsewhere or when
  // transparent huge pages are off). The GEMV kernels stream 15-25% faster
  // from 2 MiB pages (154 MB matrix: 14.2 vs 12.0 GB/s), but loading the
  // 2.2 GB bf16 1B Llama took 2.2-5.0 s instead of 1.3 s (the kernel zeroes
  // and compacts 2 MiB pages) and whole-model decode gains were within the
  // noise of the shared 2-core VM. Off by default: load time comes first.
  bool huge_page_weights = false;
};

// The portable CPU backend. Errors: InvalidArgument for a negative thread count.
Result<std::unique_ptr<Backend>> make_portable_backend(const BackendOptions& options = {});

}  // namespace ws
