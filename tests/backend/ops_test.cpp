// Backend ops against naive formulas written out here (not against the kernels),
// through the handles model code uses: compute buffers the backend allocates,
// filled and read back with set/get.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "backend/backend.h"
#include "test_util.h"

namespace ws {
namespace {

std::unique_ptr<Backend> make(int threads, bool scalar = false) {
  BackendOptions options;
  options.threads = threads;
  options.force_scalar = scalar;
  auto backend = make_portable_backend(options);
  EXPECT_TRUE(backend.is_ok());
  return std::move(backend).value();
}

// A host weight's bytes, written as the loader writes them (host_data()).
uint8_t* host_bytes(WeightTensor& w) { return w.storage->host_data(); }

WeightTensor tensor_from(const std::vector<float>& values, std::vector<uint64_t> shape, DType dtype) {
  auto t = WeightTensor::allocate(dtype, shape);
  EXPECT_TRUE(t.is_ok());
  WeightTensor w = std::move(t).value();
  for (size_t i = 0; i < values.size(); ++i) {
    if (dtype == DType::F32) {
      std::memcpy(host_bytes(w) + 4 * i, &values[i], 4);
    } else {
      const uint16_t h = dtype == DType::F16 ? test::f32_to_f16_trunc(values[i]) : test::f32_to_bf16_trunc(values[i]);
      std::memcpy(host_bytes(w) + 2 * i, &h, 2);
    }
  }
  return w;
}

// Compute memory of `backend` holding `values` (Backend::set), and read back (Backend::get).
template <class T>
ComputeBuffer upload(Backend& backend, const std::vector<T>& values) {
  static_assert(sizeof(T) == 4, "f32 or i32");
  auto buffer = backend.allocate_compute(values.size(), std::is_same_v<T, int32_t> ? ComputeType::I32 : ComputeType::F32);
  EXPECT_TRUE(buffer.is_ok());
  backend.set(buffer->view(), values.data());
  return std::move(buffer).value();
}
std::vector<float> download(Backend& backend, const ComputeView& view) {
  std::vector<float> host(view.count);
  backend.get(view, host.data());
  return host;
}

TEST(Ops, RejectsNegativeThreads) {
  BackendOptions options;
  options.threads = -1;
  auto backend = make_portable_backend(options);
  ASSERT_FALSE(backend.is_ok());
  EXPECT_EQ(backend.error().kind, ErrorKind::InvalidArgument);
}

TEST(Ops, LinearBothLayoutsWithBiasAcrossThreads) {
  const size_t in = 70, out = 300;
  const std::vector<float> w = test::random_floats(in * out, 1);
  const std::vector<float> bias = test::random_floats(out, 2);
  for (size_t n : {1, 6}) {
    const std::vector<float> x = test::random_floats(n * in, 3 + n);
    for (int layout = 0; layout < 2; ++layout) {
      std::vector<uint64_t> shape = layout == 0 ? std::vector<uint64_t>{out, in} : std::vector<uint64_t>{in, out};
      WeightTensor t = tensor_from(w, shape, DType::F32);
      const MatrixView view = matrix_view(t, layout == 0 ? WeightLayout::OutIn : WeightLayout::InOut);
      ASSERT_EQ(view.in, in);
      ASSERT_EQ(view.out, out);
      const WeightTensor bias_weight = tensor_from(bias, {out}, DType::F32);
      for (int threads : {1, 2, 3}) {
        auto backend = make(threads);
        const ComputeBuffer x_buffer = upload(*backend, x), y_buffer = upload(*backend, std::vector<float>(n * out));
        backend->linear(x_buffer.view(), n, view, &bias_weight, y_buffer.view());
        const std::vector<float> y = download(*backend, y_buffer.view());
        for (size_t r = 0; r < n; ++r) {
          for (size_t o = 0; o < out; ++o) {
            double expect = bias[o];
            for (size_t i = 0; i < in; ++i) expect += double(x[r * in + i]) * (layout == 0 ? w[o * in + i] : w[i * out + o]);
            ASSERT_NEAR(y[r * out + o], expect, 1e-4) << "layout " << layout << " threads " << threads;
          }
        }
      }
    }
  }
}

// Q4_0 / Q8_0 weights handed to prepare_linear_weight (the portable backend
// packs whole 16-row groups where it has packed kernels, and keeps the
// rows after the last group as they are): linear() gives the scalar reference
// backend's bits on the packed rows and agrees closely on the rest, for any
// thread split. The scalar backend leaves the bytes alone.
TEST(Ops, PreparedQuantizedLinearMatchesScalar) {
  const size_t in = 96, out = 300;  // 18 groups of 16 rows, then 12 rows
  const std::vector<float> bias = test::random_floats(out, 9);
  for (DType dtype : {DType::Q4_0, DType::Q8_0}) {
    const size_t block_bytes = dtype == DType::Q4_0 ? 18 : 34;
    auto allocated = WeightTensor::allocate(dtype, {out, in});
    ASSERT_TRUE(allocated.is_ok());
    WeightTensor plain = std::move(allocated).value();
    uint32_t state = 12345;
    const WeightTensor bias_weight = tensor_from(bias, {out}, DType::F32);
    for (uint64_t i = 0; i < plain.bytes(); ++i) {
      host_bytes(plain)[i] = static_cast<uint8_t>((state = state * 1664525u + 1013904223u) >> 24);
    }
    for (uint64_t off = 0; off < plain.bytes(); off += block_bytes) {
      const uint16_t h = test::f32_to_f16_trunc(0.01f * static_cast<float>(1 + off % 7));
      std::memcpy(host_bytes(plain) + off, &h, 2);
    }
    auto scalar = make(1, true);
    WeightTensor untouched = std::move(WeightTensor::allocate(dtype, {out, in})).value();
    std::memcpy(host_bytes(untouched), host_bytes(plain), plain.bytes());
    scalar->prepare_linear_weight(untouched);
    EXPECT_FALSE(untouched.packed);
    EXPECT_EQ(0, std::memcmp(host_bytes(untouched), host_bytes(plain), plain.bytes()));
    for (size_t n : {1, 2, 6}) {
      const std::vector<float> x = test::random_floats(n * in, 20 + n);
      const ComputeBuffer x_ref = upload(*scalar, x), y_ref_buffer = upload(*scalar, std::vector<float>(n * out));
      scalar->linear(x_ref.view(), n, matrix_view(plain, WeightLayout::OutIn), &bias_weight, y_ref_buffer.view());
      const std::vector<float> y_ref = download(*scalar, y_ref_buffer.view());
      for (int threads : {1, 2, 3}) {
        auto backend = make(threads);
        WeightTensor prepared = std::move(WeightTensor::allocate(dtype, {out, in})).value();
        std::memcpy(host_bytes(prepared), host_bytes(plain), plain.bytes());
        backend->prepare_linear_weight(prepared);
        // Packed wherever the block kernels have a packed kernel for the type
        // (describe() names the table): Q4_0 with AVX2 or AVX-512, Q8_0 with AVX-512.
        const std::string isa = backend->describe();
        const bool expect_packed = isa.find(dtype == DType::Q4_0 ? "avx" : "avx512") != std::string::npos;
        EXPECT_EQ(prepared.packed, expect_packed) << isa;
        const ComputeBuffer x_buffer = upload(*backend, x), y_buffer = upload(*backend, std::vector<float>(n * out));
        backend->linear(x_buffer.view(), n, matrix_view(prepared, WeightLayout::OutIn), &bias_weight, y_buffer.view());
        const std::vector<float> y = download(*backend, y_buffer.view());
        for (size_t r = 0; r < n; ++r) {
          for (size_t o = 0; o < out; ++o) {
            const float want = y_ref[r * out + o], got = y[r * out + o];
            if (prepared.packed && o < 288) {
              ASSERT_EQ(0, std::memcmp(&got, &want, 4)) << "packed row " << o << " n " << n << " threads " << threads;
            } else {
              ASSERT_NEAR(got, want, 1e-5 * (std::fabs(want) + 1)) << "row " << o << " n " << n << " threads " << threads;
            }
          }
        }
      }
    }
  }
}

TEST(Ops, EmbeddingWidensEveryDtype) {
  const std::vector<float> table = {0.5f, -1.0f, 2.0f, 0.25f, -0.125f, 3.0f};
  for (DType dtype : {DType::F32, DType::F16, DType::BF16}) {
    WeightTensor t = tensor_from(table, {3, 2}, dtype);
    auto backend = make(1);
    const ComputeBuffer ids = upload(*backend, std::vector<int32_t>{2, 0});
    const ComputeBuffer out = upload(*backend, std::vector<float>(4));
    backend->embedding(t, ids.view(), out.view());
    EXPECT_EQ(download(*backend, out.view()), (std::vector<float>{-0.125f, 3.0f, 0.5f, -1.0f})) << dtype_name(dtype);
  }
}

TEST(Ops, RotaryIsRotateHalf) {
  // Whole heads, then partial rotary (Phi-4-mini: the first 6 of 8 rotate)
  // with LongRoPE's factor on cos and sin.
  for (const RotaryShape shape : {RotaryShape{2, 8, 8, 1.0f}, RotaryShape{2, 8, 6, 1.19f}}) {
    const size_t heads = shape.heads, hd = shape.head_dim, rd = shape.rotary_dim, n = 3;
    const std::vector<float> x0 = test::random_floats(n * heads * hd, 5);
    std::vector<float> x = x0;
    std::vector<float> inv_freq(rd / 2);
    for (size_t i = 0; i < rd / 2; ++i) inv_freq[i] = 1.0f / std::pow(10000.0f, 2.0f * i / rd);
    const int32_t positions[] = {0, 5, 17};
    auto backend = make(1);
    const ComputeBuffer x_buffer = upload(*backend, x);
    backend->rotary(x_buffer.view(), n, shape, upload(*backend, std::vector<int32_t>(positions, positions + n)).view(),
                    upload(*backend, inv_freq).view());
    x = download(*backend, x_buffer.view());
    for (size_t t = 0; t < n; ++t)
      for (size_t h = 0; h < heads; ++h)
        for (size_t i = 0; i < hd; ++i) {
          const float* v = x0.data() + (t * heads + h) * hd;
          double expect = v[i];
          if (i < rd) {
            const size_t j = i % (rd / 2);
            const double angle = double(positions[t]) * inv_freq[j];
            const double rotated = i < rd / 2 ? -v[i + rd / 2] : v[i - rd / 2];
            expect = (v[i] * std::cos(angle) + rotated * std::sin(angle)) * shape.scale;
          }
          ASSERT_NEAR(x[(t * heads + h) * hd + i], expect, 1e-5) << "rotary_dim " << rd << " i " << i;
        }
  }
}

// Naive grouped-query causal attention.
std::vector<float> naive_attention(const std::vector<float>& q, size_t n, const int32_t* positions,
                                   const std::vector<float>& k, const std::vector<float>& v, const AttentionShape& s,
                                   float scale) {
  std::vector<float> out(n * s.heads * s.head_dim);
  for (size_t t = 0; t < n; ++t) {
    for (size_t h = 0; h < s.heads; ++h) {
      const size_t g = h / (s.heads / s.kv_heads);
      const size_t ctx = positions[t] + 1;
      std::vector<double> p(ctx);
      double max = -1e30, sum = 0;
      for (size_t j = 0; j < ctx; ++j) {
        double d = 0;
        for (size_t i = 0; i < s.head_dim; ++i)
          d += double(q[(t * s.heads + h) * s.head_dim + i]) * k[(j * s.kv_heads + g) * s.head_dim + i];
        p[j] = d * scale;
        if (s.logit_softcap > 0) p[j] = s.logit_softcap * std::tanh(p[j] / s.logit_softcap);
        if (s.sliding_window != 0 && j + s.sliding_window <= size_t(positions[t])) p[j] = -1e30;  // outside
        max = std::max(max, p[j]);
      }
      for (auto& e : p) sum += (e = std::exp(e - max));
      for (size_t i = 0; i < s.head_dim; ++i) {
        double acc = 0;
        for (size_t j = 0; j < ctx; ++j) acc += p[j] / sum * v[(j * s.kv_heads + g) * s.head_dim + i];
        out[(t * s.heads + h) * s.head_dim + i] = static_cast<float>(acc);
      }
    }
  }
  return out;
}

TEST(Ops, GroupedQueryCausalAttention) {
  // The last two: a sliding window of 7 (queries at 20..24 see 14..20 to
  // 18..24) and Gemma 2's soft-capping with its window.
  for (const AttentionShape shape : {AttentionShape{4, 4, 16}, AttentionShape{6, 2, 8}, AttentionShape{8, 1, 64},
                                     AttentionShape{6, 2, 8, 7}, AttentionShape{4, 2, 16, 7, 0.5f}}) {
    const size_t capacity = 40, n = 5;
    const int32_t positions[] = {20, 21, 22, 23, 24};  // a prefill continuing a cache
    const std::vector<float> q = test::random_floats(n * shape.heads * shape.head_dim, 11);
    const std::vector<float> k = test::random_floats(capacity * shape.kv_heads * shape.head_dim, 12);
    const std::vector<float> v = test::random_floats(capacity * shape.kv_heads * shape.head_dim, 13);
    const float scale = 1.0f / std::sqrt(float(shape.head_dim));
    const std::vector<float> expect = naive_attention(q, n, positions, k, v, shape, scale);
    for (int threads : {1, 2}) {
      for (bool scalar : {true, false}) {
        auto backend = make(threads, scalar);
        const ComputeBuffer q_buffer = upload(*backend, q), k_buffer = upload(*backend, k), v_buffer = upload(*backend, v);
        const ComputeBuffer p_buffer = upload(*backend, std::vector<int32_t>(positions, positions + n));
        const ComputeBuffer out_buffer = upload(*backend, std::vector<float>(expect.size()));
        // The cache's slots up to the largest position (what the model passes).
        const size_t slots = positions[n - 1] + 1, row = shape.kv_heads * shape.head_dim;
        backend->attention(q_buffer.view(), n, p_buffer.view(), k_buffer.view(0, slots * row),
                           v_buffer.view(0, slots * row), shape, scale, out_buffer.view());
        const std::vector<float> out = download(*backend, out_buffer.view());
        for (size_t i = 0; i < out.size(); ++i)
          ASSERT_NEAR(out[i], expect[i], 1e-5) << "heads " << shape.heads << " kv " << shape.kv_heads << " i " << i;
      }
    }
  }
}

TEST(Ops, NormsMatchFormulas) {
  const size_t dim = 37;
  const std::vector<float> x = test::random_floats(2 * dim, 21, 3.0f);
  const std::vector<float> g = test::random_floats(dim, 22);
  const std::vector<float> b = test::random_floats(dim, 23);
  auto backend = make(1);
  const ComputeBuffer x_buffer = upload(*backend, x), y_buffer = upload(*backend, std::vector<float>(2 * dim));
  const WeightTensor g_weight = tensor_from(g, {dim}, DType::F32), b_weight = tensor_from(b, {dim}, DType::F32);
  backend->layer_norm(x_buffer.view(), 2, dim, g_weight, &b_weight, 1e-5f, y_buffer.view());
  std::vector<float> y = download(*backend, y_buffer.view());
  for (size_t r = 0; r < 2; ++r) {
    double mean = 0, var = 0;
    for (size_t i = 0; i < dim; ++i) mean += x[r * dim + i] / double(dim);
    for (size_t i = 0; i < dim; ++i) var += (x[r * dim + i] - mean) * (x[r * dim + i] - mean) / double(dim);
    for (size_t i = 0; i < dim; ++i)
      ASSERT_NEAR(y[r * dim + i], (x[r * dim + i] - mean) / std::sqrt(var + 1e-5) * g[i] + b[i], 1e-5);
  }
  for (float offset : {0.0f, 1.0f}) {  // Gemma's (1 + w)
    backend->rms_norm(x_buffer.view(), 2, dim, g_weight, offset, 1e-6f, y_buffer.view());
    y = download(*backend, y_buffer.view());
    for (size_t r = 0; r < 2; ++r) {
      double ms = 0;
      for (size_t i = 0; i < dim; ++i) ms += double(x[r * dim + i]) * x[r * dim + i] / double(dim);
      for (size_t i = 0; i < dim; ++i)
        ASSERT_NEAR(y[r * dim + i], x[r * dim + i] / std::sqrt(ms + 1e-6) * (g[i] + offset), 1e-5);
    }
  }
}

TEST(Ops, GeluTanhMulScaleAndSoftcapMatchFormulas) {
  const size_t n = 37;
  const std::vector<float> g = test::random_floats(n, 31, 3.0f);
  const std::vector<float> u = test::random_floats(n, 32);
  for (bool scalar : {true, false}) {
    auto backend = make(1, scalar);
    const ComputeBuffer g_buffer = upload(*backend, g), u_buffer = upload(*backend, u);
    const ComputeBuffer y_buffer = upload(*backend, std::vector<float>(n));
    backend->gelu_tanh_mul(g_buffer.view(), u_buffer.view(), y_buffer.view());
    std::vector<float> y = download(*backend, y_buffer.view());
    for (size_t i = 0; i < n; ++i) {
      const double x = g[i];
      const double gelu = 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
      ASSERT_NEAR(y[i], gelu * u[i], 1e-5) << i;
    }
    backend->set(y_buffer.view(), g.data());
    backend->scale(y_buffer.view(), 8.0f);
    y = download(*backend, y_buffer.view());
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(y[i], g[i] * 8.0f);
    backend->set(y_buffer.view(), g.data());
    backend->softcap(y_buffer.view(), 2.5f);
    y = download(*backend, y_buffer.view());
    for (size_t i = 0; i < n; ++i) ASSERT_NEAR(y[i], 2.5 * std::tanh(g[i] / 2.5), 1e-6);
  }
}

}  // namespace
}  // namespace ws
