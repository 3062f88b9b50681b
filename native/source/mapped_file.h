// A read-only memory mapping of a whole file: zero-copy binding for CPU
// tensors whose dtype and layout already match. The pages are the kernel's page
// cache, shared with every other reader and reclaimable under pressure.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/result.h"

namespace ws {

class MappedFile {
 public:
  // Maps `path` read-only. With `populate`, page tables are filled up front
  // (MAP_POPULATE: the file is read now if it is not cached), so later
  // accesses do not fault. Errors: NotFound, Io.
  static Result<std::shared_ptr<const MappedFile>> map(const std::string& path, bool populate);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace ws
