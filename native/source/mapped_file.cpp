#include "source/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ws {

Result<std::shared_ptr<const MappedFile>> MappedFile::map(const std::string& path, bool populate) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return make_error(errno == ENOENT ? ErrorKind::NotFound : ErrorKind::Io, path + ": cannot open: " + std::strerror(errno));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return make_error(ErrorKind::Io, path + ": cannot stat: " + std::strerror(err));
  }
  std::shared_ptr<MappedFile> mapped(new MappedFile());
  mapped->size_ = static_cast<uint64_t>(st.st_size);
  if (mapped->size_ > 0) {
    void* p = ::mmap(nullptr, mapped->size_, PROT_READ, MAP_PRIVATE | (populate ? MAP_POPULATE : 0), fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      return make_error(ErrorKind::Io, path + ": mmap failed: " + std::strerror(err));
    }
    mapped->data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);  // the mapping keeps the file alive
  return std::shared_ptr<const MappedFile>(std::move(mapped));
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace ws
