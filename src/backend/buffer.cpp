#include <cstdlib>
#include <utility>

#include "backend/buffer.h"

namespace ws {

Status Destination::write_source(uint64_t, DType, const uint8_t*, uint64_t) {
  return make_error(ErrorKind::Unsupported, "this destination accepts only host writes");
}

Result<HostBuffer> HostBuffer::allocate(uint64_t bytes) {
  constexpr uint64_t kAlign = 64;
  // Never zero: a host buffer always has an address (host_data() == nullptr
  // means "not host memory" to the executor).
  const uint64_t rounded = bytes == 0 ? kAlign : (bytes + kAlign - 1) / kAlign * kAlign;
  if (rounded < bytes || rounded > static_cast<uint64_t>(SIZE_MAX)) {
    return make_error(ErrorKind::OutOfBudget, "cannot allocate " + std::to_string(bytes) + " bytes");
  }
  void* p = std::aligned_alloc(kAlign, static_cast<size_t>(rounded));
  if (!p) {
    return make_error(ErrorKind::OutOfBudget, "out of memory allocating " + std::to_string(bytes) + " bytes");
  }
  HostBuffer buffer;
  buffer.data_ = static_cast<uint8_t*>(p);
  buffer.bytes_ = bytes;
  return buffer;
}

HostBuffer::HostBuffer(HostBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

HostBuffer& HostBuffer::operator=(HostBuffer&& other) noexcept {
  if (this != &other) {
    std::free(data_);
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

HostBuffer::~HostBuffer() { std::free(data_); }

}  // namespace ws
