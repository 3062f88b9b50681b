// ggml-backend's rule, made checkable: host code never dereferences compute
// memory; ops take handles the backend made, and host arrays reach compute
// memory only through Backend::set.
//   - at compile time: ComputeBuffer, ComputeView and WeightStorage give model
//     code no address, and no op takes a raw float pointer;
//   - at run time: every architecture's forward runs on a strict backend that
//     checks each handle it is given (made by this backend, of the right
//     element type, inside its buffer, big enough for the op's shape) and
//     counts the host transfers, and gives the portable backend's logits bit
//     for bit.
#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <string>
#include <type_traits>
#include <vector>

#include "model_fixture.h"

namespace ws::test {
namespace {

// ---- compile time ------------------------------------------------------------------
template <class T, class = void>
struct HasData : std::false_type {};
template <class T>
struct HasData<T, std::void_t<decltype(std::declval<const T&>().data())>> : std::true_type {};
template <class T, class = void>
struct HasComputeAddress : std::false_type {};
template <class T>
struct HasComputeAddress<T, std::void_t<decltype(std::declval<const T&>().compute_address())>> : std::true_type {};

static_assert(!HasData<ComputeBuffer>::value, "a compute buffer's address is the backend's alone");
static_assert(!HasData<ComputeView>::value, "a view is a handle, not an address");
static_assert(!std::is_convertible_v<ComputeView, const float*> && !std::is_convertible_v<float*, ComputeView>,
              "no raw pointer passes for compute memory");
static_assert(!HasComputeAddress<WeightStorage>::value && !HasComputeAddress<HostBuffer>::value,
              "a weight's compute address (maybe a device address) is for backends only");
static_assert(!std::is_invocable_v<decltype(&Backend::linear), Backend&, const float*, size_t, const MatrixView&,
                                   const WeightTensor*, float*>,
              "linear takes handles");
static_assert(!std::is_invocable_v<decltype(&Backend::add), Backend&, const float*, const float*, float*>,
              "element-wise ops take handles");

// ---- run time ------------------------------------------------------------------------
// The portable backend behind a check of every handle an op is given.
class StrictBackend final : public Backend {
 public:
  explicit StrictBackend(std::unique_ptr<Backend> inner) : inner_(std::move(inner)) {}

  std::vector<std::string> violations;
  size_t views_checked = 0;
  size_t sets = 0;  // host -> compute transfers
  size_t gets = 0;  // compute -> host transfers

  std::string describe() const override { return "strict(" + inner_->describe() + ")"; }
  int threads() const override { return inner_->threads(); }
  bool supports_weight_dtype(DType dtype) const override { return inner_->supports_weight_dtype(dtype); }
  bool computes_from_host_views() const override { return inner_->computes_from_host_views(); }
  Result<WeightTensor> allocate_weight(DType dtype, std::vector<uint64_t> shape) override {
    return inner_->allocate_weight(dtype, std::move(shape));
  }
  void prepare_linear_weight(WeightTensor& weight) override { inner_->prepare_linear_weight(weight); }
  Result<ComputeBuffer> allocate_compute(size_t count, ComputeType type) override {
    return inner_->allocate_compute(count, type);
  }

  void set(ComputeView dst, const void* host) override {
    ++sets;
    check(dst, ComputeType::F32, 0, "set", /*any_type=*/true);
    inner_->set(dst, host);
  }
  void get(ComputeView src, void* host) override {
    ++gets;
    check(src, ComputeType::F32, 0, "get", /*any_type=*/true);
    inner_->get(src, host);
  }
  int32_t argmax(ComputeView x) override {
    check(x, ComputeType::F32, 1, "argmax");
    return inner_->argmax(x);
  }
  void copy_rows(ComputeView src, size_t src_stride, size_t n, size_t width, ComputeView rows,
                 ComputeView dst) override {
    check(src, ComputeType::F32, (n - 1) * src_stride + width, "copy_rows src");
    if (rows) check(rows, ComputeType::I32, n, "copy_rows rows");
    check(dst, ComputeType::F32, rows ? width : n * width, "copy_rows dst");
    if (dst.count % width != 0) fail("copy_rows dst: not whole rows");
    inner_->copy_rows(src, src_stride, n, width, rows, dst);
  }

  void embedding(const WeightTensor& table, ComputeView ids, ComputeView out) override {
    check(ids, ComputeType::I32, 1, "embedding ids");
    check(out, ComputeType::F32, ids.count * table.shape[1], "embedding out");
    inner_->embedding(table, ids, out);
  }
  void linear(ComputeView x, size_t n, const MatrixView& w, const WeightTensor* bias, ComputeView y) override {
    check(x, ComputeType::F32, n * w.in, "linear x");
    check(y, ComputeType::F32, n * w.out, "linear y");
    if (x.buffer == y.buffer) fail("linear: y aliases x");
    inner_->linear(x, n, w, bias, y);
  }
  void layer_norm(ComputeView x, size_t n, size_t dim, const WeightTensor& gamma, const WeightTensor* beta, float eps,
                  ComputeView y) override {
    check(x, ComputeType::F32, n * dim, "layer_norm x");
    check(y, ComputeType::F32, n * dim, "layer_norm y");
    inner_->layer_norm(x, n, dim, gamma, beta, eps, y);
  }
  void rms_norm(ComputeView x, size_t n, size_t dim, const WeightTensor& gamma, float offset, float eps,
                ComputeView y) override {
    check(x, ComputeType::F32, n * dim, "rms_norm x");
    check(y, ComputeType::F32, n * dim, "rms_norm y");
    inner_->rms_norm(x, n, dim, gamma, offset, eps, y);
  }
  void rotary(ComputeView x, size_t n, const RotaryShape& shape, ComputeView positions,
              ComputeView inv_freq) override {
    check(x, ComputeType::F32, n * shape.heads * shape.head_dim, "rotary x");
    check(positions, ComputeType::I32, n, "rotary positions");
    check(inv_freq, ComputeType::F32, shape.rotary_dim / 2, "rotary inv_freq");
    inner_->rotary(x, n, shape, positions, inv_freq);
  }
  void attention(ComputeView q, size_t n, ComputeView positions, ComputeView k_cache, ComputeView v_cache,
                 const AttentionShape& shape, float scale, ComputeView out) override {
    const size_t row = shape.kv_heads * shape.head_dim;
    check(q, ComputeType::F32, n * shape.heads * shape.head_dim, "attention q");
    check(positions, ComputeType::I32, n, "attention positions");
    check(k_cache, ComputeType::F32, row, "attention keys");
    check(v_cache, ComputeType::F32, row, "attention values");
    if (k_cache.count % row != 0 || v_cache.count != k_cache.count) fail("attention: cache views of unequal slots");
    check(out, ComputeType::F32, n * shape.heads * shape.head_dim, "attention out");
    inner_->attention(q, n, positions, k_cache, v_cache, shape, scale, out);
  }
  void gelu_new(ComputeView x) override {
    check(x, ComputeType::F32, 1, "gelu_new");
    inner_->gelu_new(x);
  }
  void silu_mul(ComputeView gate, ComputeView up, ComputeView out) override {
    elementwise({gate, up, out}, "silu_mul");
    inner_->silu_mul(gate, up, out);
  }
  void gelu_tanh_mul(ComputeView gate, ComputeView up, ComputeView out) override {
    elementwise({gate, up, out}, "gelu_tanh_mul");
    inner_->gelu_tanh_mul(gate, up, out);
  }
  void scale(ComputeView x, float factor) override {
    check(x, ComputeType::F32, 1, "scale");
    inner_->scale(x, factor);
  }
  void softcap(ComputeView x, float cap) override {
    check(x, ComputeType::F32, 1, "softcap");
    inner_->softcap(x, cap);
  }
  void softmax(ComputeView x) override {
    check(x, ComputeType::F32, 1, "softmax");
    inner_->softmax(x);
  }
  void add(ComputeView a, ComputeView b, ComputeView out) override {
    elementwise({a, b, out}, "add");
    inner_->add(a, b, out);
  }

 private:
  void fail(const std::string& what) { violations.push_back(what); }
  // A handle this backend made (through inner_, whose buffers it hands out),
  // inside its buffer, of `type`, with at least `at_least` elements.
  void check(const ComputeView& v, ComputeType type, size_t at_least, const char* what, bool any_type = false) {
    ++views_checked;
    if (!v.buffer) return fail(std::string(what) + ": no buffer");
    if (v.buffer->backend() != inner_.get()) return fail(std::string(what) + ": a buffer another backend made");
    if (v.offset + v.count > v.buffer->size()) return fail(std::string(what) + ": past its buffer's end");
    if (!any_type && v.buffer->type() != type) return fail(std::string(what) + ": wrong element type");
    if (v.count < at_least) {
      fail(std::string(what) + ": " + std::to_string(v.count) + " elements for " + std::to_string(at_least));
    }
  }
  void elementwise(std::initializer_list<ComputeView> views, const char* what) {
    for (const ComputeView& v : views) {
      check(v, ComputeType::F32, 1, what);
      if (v.count != views.begin()->count) fail(std::string(what) + ": views of different lengths");
    }
  }

  std::unique_ptr<Backend> inner_;
};

BackendOptions two_threads() {
  BackendOptions options;
  options.threads = 2;
  return options;
}

std::vector<float> prefill_logits(Model& model, KVCache& cache, const std::vector<int32_t>& prompt) {
  std::vector<int32_t> positions(prompt.size());
  std::iota(positions.begin(), positions.end(), 0);
  std::vector<float> logits(model.config().vocab_size);
  EXPECT_TRUE(model.forward(prompt.data(), positions.data(), prompt.size(), cache, logits.data()).is_ok());
  return logits;
}

// Every architecture and switch: GPT-2 (Conv1D, learned positions), Llama
// (grouped-query), Qwen2 (biases, windows), Qwen3 (q/k norms), Gemma 2
// (soft-capping, sandwich norms), Gemma 3 (local rope tables), Phi-3 (fused
// projections, LongRoPE), Phi-4-mini (partial rotary).
class Handles : public testing::TestWithParam<const char*> {};

TEST_P(Handles, EveryOpGetsValidHandlesAndLogitsAreThePortableOnes) {
  const std::string fixture = GetParam();
  const Reference ref = read_reference(fixture);
  ASSERT_FALSE(ref.prompt.empty()) << "missing " << fixture_dir(fixture) << "/reference.json";
  Result<LoadedModel> plain = load_model(fixture_dir(fixture), WeightDType::Keep, two_threads());
  ASSERT_TRUE(plain.is_ok()) << plain.error().to_string();
  auto strict_owned = std::make_unique<StrictBackend>(std::move(make_portable_backend(two_threads())).value());
  StrictBackend& strict = *strict_owned;
  Result<LoadedModel> checked = load_model_on(std::move(strict_owned), fixture_dir(fixture), WeightDType::Keep);
  ASSERT_TRUE(checked.is_ok()) << checked.error().to_string();

  Result<KVCache> plain_cache = plain->model->make_cache(64), checked_cache = checked->model->make_cache(64);
  ASSERT_TRUE(plain_cache.is_ok() && checked_cache.is_ok());
  const std::vector<float> want = prefill_logits(*plain->model, *plain_cache, ref.prompt);
  const std::vector<float> got = prefill_logits(*checked->model, *checked_cache, ref.prompt);
  ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float))) << fixture;

  // One decode step: its host inputs (token id, position) are sent once,
  // whatever the number of layers, and one id comes back.
  const size_t sets = strict.sets, gets = strict.gets;
  const int32_t token = ref.greedy.empty() ? 0 : ref.greedy[0];
  const int32_t position = static_cast<int32_t>(ref.prompt.size());
  Result<int32_t> plain_id = plain->model->forward_argmax(&token, &position, 1, *plain_cache);
  Result<int32_t> checked_id = checked->model->forward_argmax(&token, &position, 1, *checked_cache);
  ASSERT_TRUE(plain_id.is_ok() && checked_id.is_ok());
  EXPECT_EQ(*plain_id, *checked_id);
  EXPECT_EQ(strict.sets - sets, 2u) << "a decode step sends its token id and position, nothing else";
  EXPECT_EQ(strict.gets - gets, 0u) << "greedy decoding reads back one id (argmax), not logits";

  EXPECT_GT(strict.views_checked, 10 * checked->model->config().layers);
  EXPECT_TRUE(strict.violations.empty()) << strict.violations.size() << " violations, the first: "
                                         << (strict.violations.empty() ? "" : strict.violations.front());
}

INSTANTIATE_TEST_SUITE_P(Architectures, Handles,
                         testing::Values("gpt2", "llama_gqa", "qwen2_window", "qwen3", "gemma2", "gemma3", "phi3",
                                         "phi4_mini"));

}  // namespace
}  // namespace ws::test
