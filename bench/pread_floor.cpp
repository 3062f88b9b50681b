// The copy floor measured in DESIGN.md: pread each shard in 16 MiB chunks into
// FRESH anonymous memory (page faults + zero-fill included), nothing else.
// usage: ws_pread_floor FILE...
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

int main(int argc, char** argv) {
  const auto start = std::chrono::steady_clock::now();
  unsigned long long total = 0;
  for (int i = 1; i < argc; ++i) {
    const int fd = ::open(argv[i], O_RDONLY);
    struct stat st;
    if (fd < 0 || ::fstat(fd, &st) != 0) return 1;
    const size_t size = static_cast<size_t>(st.st_size);
    auto* dst = static_cast<unsigned char*>(::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    for (size_t off = 0; off < size;) {
      const ssize_t got = ::pread(fd, dst + off, std::min<size_t>(16 << 20, size - off), static_cast<off_t>(off));
      if (got <= 0) return 1;
      off += static_cast<size_t>(got);
    }
    total += size;
    ::close(fd);
    // kept mapped until exit, like tensors would be
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("{\"bytes\": %llu, \"seconds\": %.4f}\n", total, seconds);
  return 0;
}
