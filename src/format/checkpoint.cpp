#include "format/format.h"

namespace ws {

uint64_t TensorInfo::numel() const {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;  // validated against overflow when parsed
  return n;
}

const TensorInfo* Checkpoint::find(std::string_view name) const {
  for (const TensorInfo& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

uint64_t Checkpoint::data_bytes() const {
  uint64_t total = 0;
  for (const TensorInfo& t : tensors) total += t.bytes();
  return total;
}

}  // namespace ws
