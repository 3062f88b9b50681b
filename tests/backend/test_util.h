// Random inputs for kernel tests (fixed seeds) and narrow-float encoders.
#pragma once

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

namespace ws::test {

inline std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

inline uint16_t f32_to_bf16_trunc(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return static_cast<uint16_t>(bits >> 16);
}

// Values in [-1, 1] are normal or zero in binary16; truncating the mantissa
// is enough for test data (the kernels only have to widen exactly).
inline uint16_t f32_to_f16_trunc(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const int exponent = static_cast<int>((bits >> 23) & 0xffu) - 127 + 15;
  if (exponent <= 0) return sign;
  return static_cast<uint16_t>(sign | (exponent << 10) | ((bits >> 13) & 0x3ffu));
}

}  // namespace ws::test
