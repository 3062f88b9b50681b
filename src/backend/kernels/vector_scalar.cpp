// Scalar reference row kernels: norms, softmax, activations, add.
// Accumulations are in float like torch's CPU kernels; the SIMD variants are
// tested against these with a tolerance.
#include <cmath>
#include <cstddef>

namespace ws::kernels {

void layer_norm_scalar(const float* x, size_t dim, const float* gamma, const float* beta, float eps,
                       float* y) {
  float sum = 0.0f;
  for (size_t i = 0; i < dim; ++i) sum += x[i];
  const float mean = sum / static_cast<float>(dim);
  float var = 0.0f;
  for (size_t i = 0; i < dim; ++i) {
    const float d = x[i] - mean;
    var += d * d;
  }
  const float rstd = 1.0f / std::sqrt(var / static_cast<float>(dim) + eps);
  for (size_t i = 0; i < dim; ++i) y[i] = (x[i] - mean) * rstd * gamma[i] + beta[i];
}

void rms_norm_scalar(const float* x, size_t dim, const float* gamma, float offset, float eps, float* y) {
  float sum = 0.0f;
  for (size_t i = 0; i < dim; ++i) sum += x[i] * x[i];
  const float rstd = 1.0f / std::sqrt(sum / static_cast<float>(dim) + eps);
  for (size_t i = 0; i < dim; ++i) y[i] = (gamma[i] + offset) * (x[i] * rstd);
}

void softmax_scalar(float* x, size_t n) {
  if (n == 0) return;
  float max = x[0];
  for (size_t i = 1; i < n; ++i) max = x[i] > max ? x[i] : max;
  float sum = 0.0f;
  for (size_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
  for (size_t i = 0; i < n; ++i) x[i] *= inv;
}

// GPT-2's gelu_new: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
void gelu_new_scalar(float* x, size_t n) {
  const float k = 0.7978845608028654f;  // sqrt(2 / pi)
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i];
    x[i] = 0.5f * v * (1.0f + std::tanh(k * (v + 0.044715f * v * v * v)));
  }
}

void silu_mul_scalar(const float* gate, const float* up, size_t n, float* out) {
  for (size_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void add_scalar(const float* a, const float* b, size_t n, float* out) {
  for (size_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

}  // namespace ws::kernels
