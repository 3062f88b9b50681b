// Backend ops against naive formulas written out here (not against the kernels).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
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

WeightTensor tensor_from(const std::vector<float>& values, std::vector<uint64_t> shape, DType dtype) {
  auto t = WeightTensor::allocate(dtype, shape);
  EXPECT_TRUE(t.is_ok());
  WeightTensor w = std::move(t).value();
  for (size_t i = 0; i < values.size(); ++i) {
    if (dtype == DType::F32) {
      std::memcpy(w.data + 4 * i, &values[i], 4);
    } else {
      const uint16_t h = dtype == DType::F16 ? test::f32_to_f16_trunc(values[i]) : test::f32_to_bf16_trunc(values[i]);
      std::memcpy(w.data + 2 * i, &h, 2);
    }
  }
  return w;
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
      for (int threads : {1, 2, 3}) {
        std::vector<float> y(n * out);
        make(threads)->linear(x.data(), n, view, bias.data(), y.data());
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
    for (uint64_t i = 0; i < plain.bytes; ++i) plain.data[i] = static_cast<uint8_t>((state = state * 1664525u + 1013904223u) >> 24);
    for (uint64_t off = 0; off < plain.bytes; off += block_bytes) {
      const uint16_t h = test::f32_to_f16_trunc(0.01f * static_cast<float>(1 + off % 7));
      std::memcpy(plain.data + off, &h, 2);
    }
    auto scalar = make(1, true);
    WeightTensor untouched = std::move(WeightTensor::allocate(dtype, {out, in})).value();
    std::memcpy(untouched.data, plain.data, plain.bytes);
    scalar->prepare_linear_weight(untouched);
    EXPECT_FALSE(untouched.packed);
    EXPECT_EQ(0, std::memcmp(untouched.data, plain.data, plain.bytes));
    for (size_t n : {1, 2, 6}) {
      const std::vector<float> x = test::random_floats(n * in, 20 + n);
      std::vector<float> y_ref(n * out);
      scalar->linear(x.data(), n, matrix_view(plain, WeightLayout::OutIn), bias.data(), y_ref.data());
      for (int threads : {1, 2, 3}) {
        auto backend = make(threads);
        WeightTensor prepared = std::move(WeightTensor::allocate(dtype, {out, in})).value();
        std::memcpy(prepared.data, plain.data, plain.bytes);
        backend->prepare_linear_weight(prepared);
        // Packed wherever the block kernels have a packed kernel for the type
        // (describe() names the table): Q4_0 with AVX2 or AVX-512, Q8_0 with AVX-512.
        const std::string isa = backend->describe();
        const bool expect_packed = isa.find(dtype == DType::Q4_0 ? "avx" : "avx512") != std::string::npos;
        EXPECT_EQ(prepared.packed, expect_packed) << isa;
        std::vector<float> y(n * out);
        backend->linear(x.data(), n, matrix_view(prepared, WeightLayout::OutIn), bias.data(), y.data());
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
  const int32_t ids[] = {2, 0};
  for (DType dtype : {DType::F32, DType::F16, DType::BF16}) {
    WeightTensor t = tensor_from(table, {3, 2}, dtype);
    std::vector<float> out(4);
    make(1)->embedding(t, ids, 2, out.data());
    EXPECT_EQ(out, (std::vector<float>{-0.125f, 3.0f, 0.5f, -1.0f})) << dtype_name(dtype);
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
    make(1)->rotary(x.data(), n, shape, positions, inv_freq.data());
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
        std::vector<float> out(expect.size());
        make(threads, scalar)->attention(q.data(), n, positions, k.data(), v.data(), shape, scale, out.data());
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
  std::vector<float> y(2 * dim);
  auto backend = make(1);
  backend->layer_norm(x.data(), 2, dim, g.data(), b.data(), 1e-5f, y.data());
  for (size_t r = 0; r < 2; ++r) {
    double mean = 0, var = 0;
    for (size_t i = 0; i < dim; ++i) mean += x[r * dim + i] / double(dim);
    for (size_t i = 0; i < dim; ++i) var += (x[r * dim + i] - mean) * (x[r * dim + i] - mean) / double(dim);
    for (size_t i = 0; i < dim; ++i)
      ASSERT_NEAR(y[r * dim + i], (x[r * dim + i] - mean) / std::sqrt(var + 1e-5) * g[i] + b[i], 1e-5);
  }
  for (float offset : {0.0f, 1.0f}) {  // Gemma's (1 + w)
    backend->rms_norm(x.data(), 2, dim, g.data(), offset, 1e-6f, y.data());
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
    std::vector<float> y(n);
    backend->gelu_tanh_mul(g.data(), u.data(), n, y.data());
    for (size_t i = 0; i < n; ++i) {
      const double x = g[i];
      const double gelu = 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
      ASSERT_NEAR(y[i], gelu * u[i], 1e-5) << i;
    }
    y = g;
    backend->scale(y.data(), n, 8.0f);
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(y[i], g[i] * 8.0f);
    y = g;
    backend->softcap(y.data(), n, 2.5f);
    for (size_t i = 0; i < n; ++i) ASSERT_NEAR(y[i], 2.5 * std::tanh(g[i] / 2.5), 1e-6);
  }
}

}  // namespace
}  // namespace ws
