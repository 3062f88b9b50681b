// Bit-exact float conversions between F32, F16 and BF16: round to nearest,
// ties to even (as torch, numpy and safetensors do); NaN stays a quiet NaN,
// infinities stay infinite. One definition for the host converter
// (convert.cpp) and the CUDA conversion kernels (native/cuda), so a tensor
// converted on the GPU has the same bits as one converted on the host.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define WS_HOST_DEVICE __host__ __device__
#else
#define WS_HOST_DEVICE
#endif

namespace ws::fp {

WS_HOST_DEVICE inline uint32_t float_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
#endif
}
WS_HOST_DEVICE inline float bits_float(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}

WS_HOST_DEVICE inline float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exponent = (h >> 10) & 0x1f;
  const uint32_t mantissa = h & 0x3ff;
  if (exponent == 0x1f) return bits_float(sign | 0x7f800000 | (mantissa << 13));  // inf / NaN
  if (exponent != 0) return bits_float(sign | ((exponent + 112) << 23) | (mantissa << 13));
  // Zero or subnormal: mantissa x 2^-24, exact in f32.
  const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-8f;
  return bits_float(sign | float_bits(magnitude));
}

WS_HOST_DEVICE inline uint16_t float_to_half(float f) {
  uint32_t u = float_bits(f);
  const uint32_t sign = (u >> 16) & 0x8000;
  u &= 0x7fffffff;
  if (u >= 0x47800000) {  // >= 65536 (rounds to inf), inf or NaN
    return static_cast<uint16_t>(sign | (u > 0x7f800000 ? 0x7e00 : 0x7c00));
  }
  if (u < 0x38800000) {  // below the smallest normal half (2^-14): subnormal or zero
    // Adding 0.5 aligns the half's subnormal LSB with the float's LSB; the FPU rounds.
    const uint32_t rounded = float_bits(bits_float(u) + 0.5f) - 0x3f000000;
    return static_cast<uint16_t>(sign | rounded);
  }
  const uint32_t mantissa_odd = (u >> 13) & 1;
  u += 0xc8000fff + mantissa_odd;  // rebias exponent (-112 << 23) and round to nearest even
  return static_cast<uint16_t>(sign | (u >> 13));
}

WS_HOST_DEVICE inline float bfloat_to_float(uint16_t b) { return bits_float(static_cast<uint32_t>(b) << 16); }

WS_HOST_DEVICE inline uint16_t float_to_bfloat(float f) {
  const uint32_t u = float_bits(f);
  if ((u & 0x7fffffff) > 0x7f800000) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
  return static_cast<uint16_t>((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

}  // namespace ws::fp
