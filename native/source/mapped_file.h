// A read-only memory mapping of a whole file: zero-copy binding for CPU
// tensors whose dtype and layout already match. The pages are the kernel's page
// cache, shared with every other reader and reclaimable under pressure.
#pragma once

#include <cstdint>
#include <functional>
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

  // A file that shrinks while mapped turns reads of its lost pages into
  // SIGBUS. Two defences, both Truncated errors naming the file and sizes:
  // check_unchanged() compares the file's size now with the mapping's (call
  // it after a load, before reporting success); read_guarded() runs `touch`,
  // which reads this mapping and must allocate nothing and hold no locks
  // (it may be abandoned midway), turning a SIGBUS inside the mapping into
  // the error instead of killing the process.
  Status check_unchanged() const;
  Status read_guarded(const std::function<void()>& touch) const;

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  int fd_ = -1;  // kept open for check_unchanged()
  std::string path_;
};

}  // namespace ws
