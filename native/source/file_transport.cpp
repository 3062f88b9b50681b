#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "source/transports.h"
#include "util/thread_pool.h"

namespace ws {

namespace {

class FileTransport final : public Transport {
 public:
  FileTransport(std::string directory, FileTransportOptions options)
      : directory_(std::move(directory)), options_(options) {
    if (options_.read_threads == 0) {
      options_.read_threads = std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
    }
  }

  std::string describe(const std::string& file) const override { return directory_ + "/" + file; }

  Result<std::shared_ptr<const MappedFile>> map(const std::string& file, bool populate) override {
    return MappedFile::map(describe(file), populate);
  }

  Result<uint64_t> file_size(const std::string& file) override {
    struct stat st;
    if (::stat(describe(file).c_str(), &st) != 0) {
      if (errno == ENOENT) return make_error(ErrorKind::NotFound, describe(file) + ": no such file");
      return io_error(file, "cannot stat");
    }
    if (!S_ISREG(st.st_mode)) return make_error(ErrorKind::Io, describe(file) + ": not a regular file");
    return static_cast<uint64_t>(st.st_size);
  }

  Status read(const std::string& file, uint64_t offset, uint8_t* dst, uint64_t len) override {
    const int fd = ::open(describe(file).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return io_error(file, "cannot open");
    Status status = pread_exact(fd, file, offset, dst, len);
    ::close(fd);
    return status;
  }

  Status stream(const std::string& file, size_t shard, LoadExecutor& executor, const ParallelFill& readers) override {
    const int fd = ::open(describe(file).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return io_error(file, "cannot open");
    struct stat st;
    const bool drop_cache = ::fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) >= options_.drop_cache_min_bytes;
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    if (readers.readers > 1 && executor.can_fill_parallel(shard)) {
      Status status = stream_parallel(fd, file, shard, executor, readers, drop_cache);
      if (drop_cache) ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
      ::close(fd);
      return status;
    }
    if (!pool_) pool_ = std::make_unique<detail::ThreadPool>(static_cast<int>(options_.read_threads));
    uint64_t dropped_until = 0;
    Status status;
    for (FillTarget t = executor.next(shard); t.len != 0 && status; t = executor.next(shard)) {
      if (!t.dst) {  // a tensor nobody asked for: seek past it
        status = executor.commit(shard, t.len);
        continue;
      }
      const uint64_t n = std::min(t.len, options_.read_chunk_bytes);
      status = pread_parallel(fd, file, t.file_offset, t.dst, n);
      if (status) status = executor.commit(shard, n);
      if (drop_cache && t.file_offset + n - dropped_until >= (64ull << 20)) {
        ::posix_fadvise(fd, static_cast<off_t>(dropped_until), static_cast<off_t>(t.file_offset + n - dropped_until),
                        POSIX_FADV_DONTNEED);
        dropped_until = t.file_offset + n;
      }
    }
    if (drop_cache) ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
    return status;
  }

 private:
  // Several readers, each pread()ing its pieces straight into their final
  // place (a converting window: into its staging slot). Buffered reads, not
  // O_DIRECT: on this VM's virtio disk a cold O_DIRECT read (dd, 16 MiB) of
  // the 1 GiB checkpoint was slower than `cat` in one run (1.47-1.65 s vs
  // 0.97-1.00 s) and faster in another (bench/RESULTS-readers.md): no clear
  // gain, and O_DIRECT needs block-aligned offsets and lengths that
  // safetensors' data sections do not have (a bounce buffer, a second copy).
  Status stream_parallel(int fd, const std::string& file, size_t shard, LoadExecutor& executor,
                         const ParallelFill& readers, bool drop_cache) const {
    ParallelFill fill = readers;
    fill.piece_bytes = std::min(fill.piece_bytes, options_.read_chunk_bytes);
    return executor.fill_parallel(shard, fill, [&](PieceFill& piece) -> Status {
      for (FillTarget t = piece.next(); t.len != 0; t = piece.next()) {
        if (t.dst) WS_TRY(pread_exact(fd, file, t.file_offset, t.dst, t.len));
        WS_TRY(piece.commit(t.len));
      }
      if (drop_cache) {  // behind this piece: its bytes are in place
        ::posix_fadvise(fd, static_cast<off_t>(piece.begin()), static_cast<off_t>(piece.end() - piece.begin()),
                        POSIX_FADV_DONTNEED);
      }
      return Status::ok();
    });
  }

  Error io_error(const std::string& file, const char* what) const {
    return make_error(ErrorKind::Io, describe(file) + ": " + what + ": " + std::strerror(errno));
  }

  // One read split over the pool, each thread a contiguous piece of at least
  // 1 MiB; the first error (in file order) is the result.
  Status pread_parallel(int fd, const std::string& file, uint64_t offset, uint8_t* dst, uint64_t len) const {
    constexpr uint64_t kMinPiece = 1ull << 20;
    const uint64_t pieces =
        std::min<uint64_t>(static_cast<uint64_t>(pool_->threads()), std::max<uint64_t>(len / kMinPiece, 1));
    if (pieces <= 1) return pread_exact(fd, file, offset, dst, len);
    const uint64_t piece = (len + pieces - 1) / pieces;
    std::vector<Status> results(pieces);
    pool_->parallel_for(pieces, [&](size_t i) {
      const uint64_t begin = i * piece, count = std::min(piece, len - begin);
      results[i] = pread_exact(fd, file, offset + begin, dst + begin, count);
    });
    for (const Status& r : results) WS_TRY(r);
    return Status::ok();
  }

  Status pread_exact(int fd, const std::string& file, uint64_t offset, uint8_t* dst, uint64_t len) const {
    while (len > 0) {
      const ssize_t got = ::pread(fd, dst, len, static_cast<off_t>(offset));
      if (got < 0) {
        if (errno == EINTR) continue;
        return make_error(ErrorKind::Io, describe(file) + ": read failed at byte " + std::to_string(offset) + ": " +
                                             std::strerror(errno));
      }
      if (got == 0) {
        return make_error(ErrorKind::Truncated, describe(file) + ": file ends at byte " + std::to_string(offset) +
                                                    ", " + std::to_string(len) + " bytes short");
      }
      offset += static_cast<uint64_t>(got);
      dst += got;
      len -= static_cast<uint64_t>(got);
    }
    return Status::ok();
  }

  std::string directory_;
  FileTransportOptions options_;
  std::unique_ptr<detail::ThreadPool> pool_;  // made by the first stream()
};

}  // namespace

std::unique_ptr<Transport> make_file_transport(std::string directory, FileTransportOptions options) {
  return std::make_unique<FileTransport>(std::move(directory), options);
}

}  // namespace ws
