#include "source/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csetjmp>
#include <csignal>
#include <cerrno>
#include <cstring>
#include <mutex>

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
  mapped->fd_ = fd;
  mapped->path_ = path;
  return std::shared_ptr<const MappedFile>(std::move(mapped));
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
  if (fd_ >= 0) ::close(fd_);
}

Status MappedFile::check_unchanged() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return make_error(ErrorKind::Io, path_ + ": cannot stat: " + std::strerror(errno));
  if (static_cast<uint64_t>(st.st_size) < size_) {
    return make_error(ErrorKind::Truncated, path_ + ": shrank from " + std::to_string(size_) + " to " +
                                                std::to_string(st.st_size) + " bytes while mapped");
  }
  return Status::ok();
}

namespace {

// The guarded region of this thread: the mapping's bytes and where to jump.
struct GuardedRegion {
  const uint8_t* begin = nullptr;
  const uint8_t* end = nullptr;
  sigjmp_buf jump;
};
thread_local GuardedRegion* t_region = nullptr;
struct sigaction g_previous_sigbus;

void on_sigbus(int signal, siginfo_t* info, void* context) {
  GuardedRegion* region = t_region;
  const auto* address = static_cast<const uint8_t*>(info->si_addr);
  if (region && address >= region->begin && address < region->end) siglongjmp(region->jump, 1);
  // Not ours: behave as before the guard was installed.
  if (g_previous_sigbus.sa_flags & SA_SIGINFO) {
    if (g_previous_sigbus.sa_sigaction) return g_previous_sigbus.sa_sigaction(signal, info, context);
  } else if (g_previous_sigbus.sa_handler != SIG_DFL && g_previous_sigbus.sa_handler != SIG_IGN) {
    return g_previous_sigbus.sa_handler(signal);
  }
  ::signal(SIGBUS, SIG_DFL);
  ::raise(SIGBUS);
}

void install_sigbus_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action {};
    action.sa_sigaction = on_sigbus;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGBUS, &action, &g_previous_sigbus);
  });
}

}  // namespace

Status MappedFile::read_guarded(const std::function<void()>& touch) const {
  install_sigbus_handler();
  GuardedRegion region;
  region.begin = data_;
  region.end = data_ + size_;
  GuardedRegion* outer = t_region;
  if (sigsetjmp(region.jump, 1) != 0) {
    t_region = outer;
    Status changed = check_unchanged();
    if (!changed) return changed;
    return make_error(ErrorKind::Truncated, path_ + ": a mapped page could not be read (SIGBUS): the file changed while mapped");
  }
  t_region = &region;
  touch();
  t_region = outer;
  return Status::ok();
}

}  // namespace ws
