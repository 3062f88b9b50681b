#include "cli/file_write.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ws::cli {

Status write_all_at(int fd, const uint8_t* data, uint64_t len, uint64_t offset, const std::string& path) {
  while (len > 0) {
    const ssize_t n = ::pwrite(fd, data, std::min<uint64_t>(len, 1ull << 30), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return make_error(ErrorKind::Io, path + ": write failed: " + std::strerror(errno));
    data += n;
    len -= static_cast<uint64_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return Status::ok();
}

}  // namespace ws::cli
