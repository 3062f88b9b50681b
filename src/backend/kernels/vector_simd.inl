// Row kernel bodies (norms, softmax, activations, add) written once against
// the simd:: vector names; included by vector_<isa>.cpp inside
// namespace ws::kernels::<isa>. Tails use the scalar formulas.

inline float sum_of(const float* x, size_t n, size_t& i) {
  simd::V a0 = simd::zero(), a1 = simd::zero();
  for (; i + 2 * simd::kLanes <= n; i += 2 * simd::kLanes) {
    a0 = simd::add(a0, simd::load(x + i));
    a1 = simd::add(a1, simd::load(x + i + simd::kLanes));
  }
  for (; i + simd::kLanes <= n; i += simd::kLanes) a0 = simd::add(a0, simd::load(x + i));
  return simd::hsum(simd::add(a0, a1));
}

void layer_norm(const float* x, size_t dim, const float* gamma, const float* beta, float eps, float* y) {
  size_t i = 0;
  float sum = sum_of(x, dim, i);
  for (; i < dim; ++i) sum += x[i];
  const float mean = sum / static_cast<float>(dim);
  const simd::V mv = simd::set1(mean);
  simd::V acc = simd::zero();
  for (i = 0; i + simd::kLanes <= dim; i += simd::kLanes) {
    const simd::V d = simd::sub(simd::load(x + i), mv);
    acc = simd::fma(d, d, acc);
  }
  float var = simd::hsum(acc);
  for (; i < dim; ++i) var += (x[i] - mean) * (x[i] - mean);
  const float rstd = 1.0f / std::sqrt(var / static_cast<float>(dim) + eps);
  const simd::V rv = simd::set1(rstd);
  for (i = 0; i + simd::kLanes <= dim; i += simd::kLanes) {
    const simd::V n = simd::mul(simd::sub(simd::load(x + i), mv), rv);
    simd::store(y + i, simd::fma(n, simd::load(gamma + i), simd::load(beta + i)));
  }
  for (; i < dim; ++i) y[i] = (x[i] - mean) * rstd * gamma[i] + beta[i];
}

void rms_norm(const float* x, size_t dim, const float* gamma, float offset, float eps, float* y) {
  simd::V acc = simd::zero();
  size_t i = 0;
  for (; i + simd::kLanes <= dim; i += simd::kLanes) {
    const simd::V v = simd::load(x + i);
    acc = simd::fma(v, v, acc);
  }
  float sum = simd::hsum(acc);
  for (; i < dim; ++i) sum += x[i] * x[i];
  const float rstd = 1.0f / std::sqrt(sum / static_cast<float>(dim) + eps);
  const simd::V rv = simd::set1(rstd), ov = simd::set1(offset);
  for (i = 0; i + simd::kLanes <= dim; i += simd::kLanes)
    simd::store(y + i, simd::mul(simd::add(simd::load(gamma + i), ov), simd::mul(simd::load(x + i), rv)));
  for (; i < dim; ++i) y[i] = (gamma[i] + offset) * (x[i] * rstd);
}

void softmax(float* x, size_t n) {
  if (n == 0) return;
  size_t i = 0;
  float max = x[0];
  if (n >= simd::kLanes) {
    simd::V mv = simd::load(x);
    for (i = simd::kLanes; i + simd::kLanes <= n; i += simd::kLanes) mv = simd::max(mv, simd::load(x + i));
    max = simd::hmax(mv);
  }
  for (; i < n; ++i) max = x[i] > max ? x[i] : max;
  const simd::V maxv = simd::set1(max);
  simd::V acc = simd::zero();
  for (i = 0; i + simd::kLanes <= n; i += simd::kLanes) {
    const simd::V e = simd::exp(simd::sub(simd::load(x + i), maxv));
    simd::store(x + i, e);
    acc = simd::add(acc, e);
  }
  float sum = simd::hsum(acc);
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
  const simd::V iv = simd::set1(inv);
  for (i = 0; i + simd::kLanes <= n; i += simd::kLanes) simd::store(x + i, simd::mul(simd::load(x + i), iv));
  for (; i < n; ++i) x[i] *= inv;
}

// tanh(u) = 1 - 2 / (e^{2u} + 1); exp clamps, so large |u| gives exactly +-1.
void gelu_new(float* x, size_t n) {
  const float k = 0.7978845608028654f;
  const simd::V kv = simd::set1(k), cv = simd::set1(0.044715f), one = simd::set1(1.0f),
                two = simd::set1(2.0f), half = simd::set1(0.5f);
  size_t i = 0;
  for (; i + simd::kLanes <= n; i += simd::kLanes) {
    const simd::V v = simd::load(x + i);
    const simd::V u = simd::mul(kv, simd::fma(simd::mul(cv, v), simd::mul(v, v), v));
    const simd::V t = simd::sub(one, simd::div(two, simd::add(simd::exp(simd::mul(two, u)), one)));
    simd::store(x + i, simd::mul(simd::mul(half, v), simd::add(one, t)));
  }
  for (; i < n; ++i) {
    const float v = x[i];
    x[i] = 0.5f * v * (1.0f + std::tanh(k * (v + 0.044715f * v * v * v)));
  }
}

void silu_mul(const float* gate, const float* up, size_t n, float* out) {
  const simd::V one = simd::set1(1.0f), zero = simd::zero();
  size_t i = 0;
  for (; i + simd::kLanes <= n; i += simd::kLanes) {
    const simd::V g = simd::load(gate + i);
    const simd::V s = simd::div(g, simd::add(one, simd::exp(simd::sub(zero, g))));
    simd::store(out + i, simd::mul(s, simd::load(up + i)));
  }
  for (; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void add(const float* a, const float* b, size_t n, float* out) {
  size_t i = 0;
  for (; i + simd::kLanes <= n; i += simd::kLanes) simd::store(out + i, simd::add(simd::load(a + i), simd::load(b + i)));
  for (; i < n; ++i) out[i] = a[i] + b[i];
}

// This ISA's kernel table: the row kernels above and gemm_<isa>.cpp's products.
inline KernelTable make_table(const char* isa, const GemmOiFn* oi, const GemmIoFn* io) {
  return {isa, {oi[0], oi[1], oi[2]}, {io[0], io[1], io[2]}, layer_norm, rms_norm, softmax, gelu_new, silu_mul, add};
}
