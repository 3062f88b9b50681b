// The ggml block layouts the quantized kernels read (ggml-common.h; the same
// structs and reference dequantisation are in src/load/dequant.cpp). Offsets
// are in bytes from the start of a block; every multi-byte field is little
// endian and may be unaligned (blocks of 18, 22, 210 bytes...), so kernels
// read them with memcpy or unaligned loads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "backend/kernels/quant_kernels.h"

namespace ws::kernels::quant {

// Elements and bytes of one block of each QuantType, in enum order.
constexpr size_t kBlockElements[kQuantTypes] = {32, 32, 32, 32, 32, 256, 256, 256};
constexpr size_t kBlockBytes[kQuantTypes] = {
    18,   // Q4_0 {f16 d; u8 qs[16]}                     element j: qs[j%16] nibble j/16, minus 8
    20,   // Q4_1 {f16 d; f16 m; u8 qs[16]}              d * nibble + m
    22,   // Q5_0 {f16 d; u8 qh[4]; u8 qs[16]}           (nibble | bit j of qh << 4) - 16
    24,   // Q5_1 {f16 d; f16 m; u8 qh[4]; u8 qs[16]}    d * (nibble | bit j of qh << 4) + m
    34,   // Q8_0 {f16 d; i8 qs[32]}
    144,  // Q4_K {f16 d; f16 dmin; u8 scales[12]; u8 qs[128]}  8 groups of 32, 6-bit scale and min each
    210,  // Q6_K {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}  16 groups of 16, 6-bit values minus 32
    176,  // Q5_K {f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]}
};

inline uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The eight 6-bit scales and eight 6-bit mins of a Q4_K/Q5_K block, packed in
// its 12 scale bytes (ggml's get_scale_min_k4, all eight at once): groups 0-3
// keep scale and min in the low 6 bits of bytes 0-3 and 4-7; groups 4-7 have
// their low 4 bits in bytes 8-11 and their top 2 bits in the spare top bits
// of bytes 0-7.
inline void unpack_scales_k4(const uint8_t* packed, uint8_t scale[8], uint8_t min[8]) {
  for (int j = 0; j < 4; ++j) {
    scale[j] = packed[j] & 63;
    min[j] = packed[j + 4] & 63;
    scale[j + 4] = static_cast<uint8_t>((packed[j + 8] & 0xF) | ((packed[j] >> 6) << 4));
    min[j + 4] = static_cast<uint8_t>((packed[j + 8] >> 4) | ((packed[j + 4] >> 6) << 4));
  }
}

}  // namespace ws::kernels::quant
