// Float conversions: exact widening, round-to-nearest-even narrowing, special
// values. (Bit-exact agreement with torch over real tensors is checked in
// tests/native/roundtrip_test.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "load/load.h"

namespace ws {
namespace {

uint16_t to_half(float f) {
  uint16_t h;
  convert_elements(DType::F32, reinterpret_cast<const uint8_t*>(&f), DType::F16, reinterpret_cast<uint8_t*>(&h), 1);
  return h;
}
uint16_t to_bfloat(float f) {
  uint16_t b;
  convert_elements(DType::F32, reinterpret_cast<const uint8_t*>(&f), DType::BF16, reinterpret_cast<uint8_t*>(&b), 1);
  return b;
}
float from(DType dtype, uint16_t bits) {
  float f;
  convert_elements(dtype, reinterpret_cast<const uint8_t*>(&bits), DType::F32, reinterpret_cast<uint8_t*>(&f), 1);
  return f;
}

TEST(Convert, EveryHalfSurvivesTheRoundTripThroughFloat) {
  for (uint32_t bits = 0; bits < 65536; ++bits) {
    const float f = from(DType::F16, static_cast<uint16_t>(bits));
    const bool is_nan = (bits & 0x7c00) == 0x7c00 && (bits & 0x3ff);
    if (is_nan) {
      EXPECT_TRUE(std::isnan(f));
      EXPECT_EQ(to_half(f) & 0x7c00, 0x7c00);
    } else {
      ASSERT_EQ(to_half(f), bits) << "half 0x" << std::hex << bits;
    }
  }
}

TEST(Convert, EveryBfloatSurvivesTheRoundTripThroughFloat) {
  for (uint32_t bits = 0; bits < 65536; ++bits) {
    const float f = from(DType::BF16, static_cast<uint16_t>(bits));
    if (std::isnan(f)) continue;
    ASSERT_EQ(to_bfloat(f), bits) << "bfloat 0x" << std::hex << bits;
  }
}

TEST(Convert, HalfRoundsToNearestEven) {
  EXPECT_EQ(to_half(1.0f + std::ldexp(1.0f, -11)), 0x3c00);       // tie -> even (1.0)
  EXPECT_EQ(to_half(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);   // tie -> even (up)
  EXPECT_EQ(to_half(65504.0f), 0x7bff);                           // largest half
  EXPECT_EQ(to_half(65519.0f), 0x7bff);                           // below the halfway point
  EXPECT_EQ(to_half(65520.0f), 0x7c00);                           // halfway to 65536 -> inf
  EXPECT_EQ(to_half(1e10f), 0x7c00);
  EXPECT_EQ(to_half(-INFINITY), 0xfc00);
  EXPECT_EQ(to_half(std::ldexp(1.0f, -24)), 0x0001);              // smallest subnormal
  EXPECT_EQ(to_half(std::ldexp(1.0f, -25)), 0x0000);              // tie -> even (zero)
  EXPECT_EQ(to_half(3 * std::ldexp(1.0f, -26)), 0x0001);          // above the tie
  EXPECT_EQ(to_half(-0.0f), 0x8000);
  EXPECT_EQ(to_half(NAN) & 0x7e00, 0x7e00);
}

TEST(Convert, BfloatRoundsToNearestEven) {
  EXPECT_EQ(to_bfloat(1.0f), 0x3f80);
  EXPECT_EQ(to_bfloat(1.0f + std::ldexp(1.0f, -8)), 0x3f80);      // tie -> even
  EXPECT_EQ(to_bfloat(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);  // tie -> even (up)
  EXPECT_EQ(to_bfloat(3.0e38f), 0x7f62);
  EXPECT_EQ(to_bfloat(3.4028235e38f), 0x7f80);                     // FLT_MAX rounds to inf
  EXPECT_EQ(to_bfloat(NAN) & 0x7fc0, 0x7fc0);                      // stays a quiet NaN
}

TEST(Convert, HalfToBfloatRoundsOnce) {
  // 1 + 2^-8 + 2^-10 is exact in half; bfloat keeps 7 mantissa bits: rounds up.
  const uint16_t half = 0x3c00 | 0x4 | 0x1;
  uint16_t bfloat;
  convert_elements(DType::F16, reinterpret_cast<const uint8_t*>(&half), DType::BF16,
                   reinterpret_cast<uint8_t*>(&bfloat), 1);
  EXPECT_EQ(bfloat, 0x3f81);
}

TEST(Convert, WhichPairsAreSupported) {
  EXPECT_TRUE(can_convert(DType::I64, DType::I64));
  EXPECT_TRUE(can_convert(DType::BF16, DType::F16));
  EXPECT_FALSE(can_convert(DType::F64, DType::F32));
  EXPECT_FALSE(can_convert(DType::I32, DType::F32));
}

}  // namespace
}  // namespace ws
