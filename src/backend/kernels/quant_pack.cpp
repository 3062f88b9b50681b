// Packing and unpacking the 16-row interleaved layout (quant_pack.h): a byte
// permutation, one 16-row group at a time through a group-sized buffer.
#include "backend/kernels/quant_pack.h"

#include <cstring>
#include <vector>

#include "backend/kernels/quant_blocks.h"

namespace ws::kernels::quant {

namespace {


template <bool kPack>
void permute_groups(QuantType type, uint8_t* w, size_t k, size_t first_group, size_t end_group) {
  const size_t bb = kBlockBytes[type], nb = k / 32, row_bytes = nb * bb, qs_bytes = bb - 2;
  const size_t group_bytes = kPackRows * row_bytes;
  // Q8_0 values are stored offset by 128 (x ^ 0x80) in the packed layout.
  const uint32_t flip = type == kQ8_0 ? 0x80808080u : 0u;
  std::vector<uint8_t> buffer(group_bytes);
  for (size_t g = first_group; g < end_group; ++g) {
    uint8_t* group = w + g * group_bytes;
    std::memcpy(buffer.data(), group, group_bytes);
    for (size_t b = 0; b < nb; ++b) {
      uint8_t* column = (kPack ? group : buffer.data()) + b * kPackRows * bb;
      for (size_t r = 0; r < kPackRows; ++r) {
        uint8_t* block = (kPack ? buffer.data() : group) + r * row_bytes + b * bb;
        uint8_t* scale = column + 2 * r;
        if (kPack) std::memcpy(scale, block, 2);
        else std::memcpy(block, scale, 2);
        for (size_t c = 0; c < qs_bytes; c += 4) {
          uint8_t* slice = column + 2 * kPackRows + (c / 4) * 4 * kPackRows + 4 * r;
          uint8_t* from = kPack ? block + 2 + c : slice;
          uint8_t* to = kPack ? slice : block + 2 + c;
          const uint32_t v = load_u32(from) ^ flip;
          std::memcpy(to, &v, 4);
        }
      }
    }
  }
}

}  // namespace

void pack_groups(QuantType type, uint8_t* w, size_t k, size_t first_group, size_t end_group) {
  permute_groups<true>(type, w, k, first_group, end_group);
}

void unpack_groups(QuantType type, uint8_t* w, size_t k, size_t first_group, size_t end_group) {
  permute_groups<false>(type, w, k, first_group, end_group);
}

}  // namespace ws::kernels::quant
