// backend: weight tensors and the ~12 ops every model is written against.
//
// The portable backend runs on host memory: a scalar reference kernel for
// every op and an AVX2+FMA variant chosen once at start-up (a WASM SIMD128
// variant slots in the same way). Matrix products are split over output
// rows/columns on a small persistent thread pool.
//
// ggml-backend's rule: host code never dereferences compute memory. The
// backend owns it and hands out handles:
//   weights      WeightTensor, whose WeightStorage (backend/buffer.h) the
//                loader fills in place (f32, f16 or bf16: narrow weights are
//                widened inside the kernels, never copied; or ggml blocks,
//                which the kernels read as blocks);
//   activations  ComputeBuffers (f32, or i32 for token ids and positions),
//   and KV cache passed to ops as ComputeViews; bytes move between them and
//                the host only through Backend::set and Backend::get.
// Only Backend implementations can turn a handle into an address (host memory
// for the portable backend, device memory for a GPU one).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "format/format.h"
#include "backend/buffer.h"

namespace ws {

// ---- weights -------------------------------------------------------------------
struct WeightTensor {
  DType dtype = DType::F32;
  std::vector<uint64_t> shape;
  // The bytes, and the one record of where they are: a HostBuffer, a GPU
  // backend's device allocation, or a view of mapped checkpoint pages
  // (Model::serve_from_view). Null only for a parameter not allocated yet.
  std::unique_ptr<WeightStorage> storage;
  // Set by a backend's prepare_linear_weight when it rearranged the bytes into
  // its own layout (then only that backend's linear() may read them).
  bool packed = false;

  uint64_t numel() const;
  uint64_t bytes() const { return storage ? storage->bytes() : 0; }
  // Host memory: allocates (without touching) dtype_storage_bytes(numel)
  // bytes. Errors: as checked_numel, OutOfBudget when the allocation fails.
  static Result<WeightTensor> allocate(DType dtype, std::vector<uint64_t> shape);
  // numel(), or OutOfBudget when the shape overflows; Unsupported for dtypes
  // other than F32/F16/BF16 and the ggml block types, and for a block type
  // whose rows (last dimension) are not whole blocks (shared by every
  // backend's allocate_weight).
  static Result<uint64_t> checked_numel(DType dtype, const std::vector<uint64_t>& shape);
};

// ---- compute memory --------------------------------------------------------------
enum class ComputeType : uint8_t { F32, I32 };  // both 4 bytes an element

struct ComputeView;

// An array in the memory the backend computes in: activations, the KV cache,
// a forward's token ids and positions, rotary tables. Made by
// Backend::allocate_compute, owned (shared) by the handle; its address is
// private to the Backend that made it, so model code can only pass views of it
// to that backend's ops and move bytes with set/get.
class ComputeBuffer {
 public:
  ComputeBuffer() = default;
  size_t size() const { return count_; }  // elements
  ComputeType type() const { return type_; }
  // The backend that made it (its ops are the only ones that may read it).
  const Backend* backend() const { return backend_; }
  ComputeView view() const;
  // Elements [offset, offset + count).
  ComputeView view(size_t offset, size_t count) const;

 private:
  friend class Backend;
  ComputeBuffer(const Backend* backend, void* base, size_t count, ComputeType type, std::shared_ptr<void> owner)
      : owner_(std::move(owner)), base_(base), count_(count), type_(type), backend_(backend) {}
  std::shared_ptr<void> owner_;
  void* base_ = nullptr;
  size_t count_ = 0;
  ComputeType type_ = ComputeType::F32;
  const Backend* backend_ = nullptr;
};

// Elements [offset, offset + count) of a ComputeBuffer: what ops take. Never
// owns; the buffer (the handle object itself) must outlive the view. An empty
// view (no buffer) stands for "none" where an op says so.
struct ComputeView {
  const ComputeBuffer* buffer = nullptr;
  size_t offset = 0;
  size_t count = 0;
  // Elements [offset, offset + count) of this view.
  ComputeView part(size_t part_offset, size_t part_count) const {
    return ComputeView{buffer, offset + part_offset, part_count};
  }
  explicit operator bool() const { return buffer != nullptr; }
};

inline ComputeView ComputeBuffer::view() const { return ComputeView{this, 0, count_}; }
inline ComputeView ComputeBuffer::view(size_t offset, size_t count) const { return ComputeView{this, offset, count}; }

// How a 2-D weight maps inputs to outputs: torch nn.Linear stores [out, in];
// Hugging Face's Conv1D (GPT-2) stores [in, out]. Both are used as stored.
enum class WeightLayout { OutIn, InOut };

struct MatrixView {
  const WeightTensor* weight = nullptr;  // its bytes: F32, F16, BF16 or a ggml block type (rows are whole blocks)
  DType dtype = DType::F32;
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

// Ops take views of compute memory this backend allocated, weights, and plain
// values; sizes are the views' counts where an op says so. Shapes are the
// caller's promise (model code checks them once when it is built). None of
// them allocates per call except the attention scratch, which grows once per
// thread.
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
  // True when compute memory is this process's host memory (what tensor
  // parallelism's host collectives and host admission need to know).
  virtual bool computes_on_host() const { return true; }
  // Whether ops can read a weight from bytes the backend did not allocate
  // (a mapped checkpoint's pages, read-only): Model::serve_from_view.
  virtual bool computes_from_host_views() const { return false; }
  // `count` zeroed elements (calloc: pages cost nothing until written).
  // Errors: OutOfBudget.
  virtual Result<ComputeBuffer> allocate_compute(size_t count, ComputeType type = ComputeType::F32);
  // dst's dst.count elements = host[0..dst.count) (4 bytes each, dst's type).
  virtual void set(ComputeView dst, const void* host);
  // host[0..src.count) = src's elements.
  virtual void get(ComputeView src, void* host);
  // The index of the first largest of x's elements: greedy decoding fetches
  // this one id, not the logits.
  virtual int32_t argmax(ComputeView x);
  // dst[(rows ? rows[t] : t) * width + i] = src[t * src_stride + i] for
  // t < n, i < width: splits fused projections and stores keys/values in the
  // cache slots of their positions (rows: i32, n of them, or empty).
  virtual void copy_rows(ComputeView src, size_t src_stride, size_t n, size_t width, ComputeView rows,
                         ComputeView dst);
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

  // Vectors (norm scales, biases) are f32 WeightTensors; an optional one is a
  // null pointer.
  // out[t, :] = table[ids[t], :] widened to f32 for t < ids.count. table is
  // [vocab, dim]; every id (i32) must be < vocab.
  virtual void embedding(const WeightTensor& table, ComputeView ids, ComputeView out) = 0;
  // y[t, :] = x[t, :] · W (+ bias) for t < n. x is [n, w.in], y is [n, w.out],
  // bias (w.out) may be null. y must not alias x.
  virtual void linear(ComputeView x, size_t n, const MatrixView& w, const WeightTensor* bias, ComputeView y) = 0;
  // Row-wise over [n, dim]; y may alias x; beta may be null.
  virtual void layer_norm(ComputeView x, size_t n, size_t dim, const WeightTensor& gamma, const WeightTensor* beta,
                          float eps, ComputeView y) = 0;
  // y = x / rms(x) * (gamma + gamma_offset), row-wise; y may alias x.
  // Gemma stores its norm weights w for a scale of (1 + w): gamma_offset 1.
  virtual void rms_norm(ComputeView x, size_t n, size_t dim, const WeightTensor& gamma, float gamma_offset,
                        float eps, ComputeView y) = 0;
  // In place on x [n, heads, head_dim], Hugging Face "rotate_half" layout on
  // the first rotary_dim elements of each head: element i pairs with
  // i + rotary_dim/2, angle positions[t] * inv_freq[i] (rotary_dim/2 f32 of
  // them), cos and sin multiplied by shape.scale. positions: i32, n of them.
  virtual void rotary(ComputeView x, size_t n, const RotaryShape& shape, ComputeView positions,
                      ComputeView inv_freq) = 0;
  // Causal attention of n queries q [n, heads, head_dim] over a cache whose
  // slot p holds the key/value of position p: k_cache, v_cache are the
  // cache's first slots [0, count / (kv_heads * head_dim)), which cover every
  // position; query t sees slots 0..positions[t]. out is [n, heads, head_dim].
  virtual void attention(ComputeView q, size_t n, ComputeView positions, ComputeView k_cache, ComputeView v_cache,
                         const AttentionShape& shape, float scale, ComputeView out) = 0;
  // Element-wise over the views' counts:
  virtual void gelu_new(ComputeView x) = 0;  // tanh approximation, in place
  virtual void silu_mul(ComputeView gate, ComputeView up, ComputeView out) = 0;  // silu(g) * u
  // gelu(g) * u with the tanh approximation (GeGLU: Gemma's gelu_pytorch_tanh); out may alias gate.
  virtual void gelu_tanh_mul(ComputeView gate, ComputeView up, ComputeView out) = 0;
  virtual void scale(ComputeView x, float factor) = 0;  // in place
  virtual void softcap(ComputeView x, float cap) = 0;   // cap * tanh(x / cap), in place
  virtual void softmax(ComputeView x) = 0;              // in place, one row
  virtual void add(ComputeView a, ComputeView b, ComputeView out) = 0;  // out may alias a or b

 protected:
  // For implementations only: a handle this backend made, as an address (the
  // view's first element; host or device memory, as the backend allocated it).
  static void* address(const ComputeView& view);
  static float* f32(const ComputeView& view) { return static_cast<float*>(address(view)); }
  static int32_t* i32(const ComputeView& view) { return static_cast<int32_t*>(address(view)); }
  // A weight's bytes, and a vector weight's floats (nullptr for null).
  static const uint8_t* weight_bytes(const WeightTensor& weight);
  static const float* weight_f32(const WeightTensor* weight);
  // Wraps memory this backend allocated (`owner` frees it) in a handle.
  ComputeBuffer make_compute_buffer(void* base, size_t count, ComputeType type, std::shared_ptr<void> owner) const {
    return ComputeBuffer(this, base, count, type, std::move(owner));
  }
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
