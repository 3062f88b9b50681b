// Writing a converted model: every byte of a buffer at an absolute offset.
#pragma once

#include <cstdint>
#include <string>

#include "core/result.h"

namespace ws::cli {

// pwrite()s all `len` bytes at `offset` (retrying short writes and EINTR).
// Errors: Io naming `path` and the system's reason.
Status write_all_at(int fd, const uint8_t* data, uint64_t len, uint64_t offset, const std::string& path);

}  // namespace ws::cli
