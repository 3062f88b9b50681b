// SHA-256 (FIPS 180-4), for `weightstream load --hash`: users compare bound
// bytes with `sha256sum` / hashlib without trusting our loader.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace ws {

class Sha256 {
 public:
  Sha256();
  void update(const uint8_t* data, uint64_t len);
  std::array<uint8_t, 32> finish();
  std::string finish_hex();

 private:
  void compress(const uint8_t block[64]);
  uint32_t state_[8];
  uint8_t block_[64];
  uint64_t block_used_ = 0;
  uint64_t total_bytes_ = 0;
};

}  // namespace ws
