// The native transports behind ModelSource.
#pragma once

#include <memory>
#include <string>

#include "source/http_options.h"
#include "source/model_source.h"

namespace ws {

// Files under a local directory, read with pread straight into destination
// windows. Shards of at least `drop_cache_min_bytes` are dropped from the page
// cache behind the reader (posix_fadvise DONTNEED), so loading a 20 GB model
// does not evict everything else or fill a container's memory cgroup.
struct FileTransportOptions {
  uint64_t drop_cache_min_bytes = 1ull << 30;
  uint64_t read_chunk_bytes = 16ull << 20;
  // Threads one read is split over (pieces of >= 1 MiB). A single pread from
  // the page cache copies at one core's memcpy speed (8.9 GB/s on the H200
  // host, bench/RESULTS.md), far below a GPU's pinned copy bandwidth.
  // 0: min(8, hardware threads).
  unsigned read_threads = 0;
};
std::unique_ptr<Transport> make_file_transport(std::string directory, FileTransportOptions options = {});

// Files under an http(s) URL, read with Range requests. A dropped connection
// is resumed with a new Range request from the first byte not yet received.
std::unique_ptr<Transport> make_http_transport(std::string base_url, HttpTransportOptions options = {});

// `url` with any user:password@ replaced by ***@: what messages show.
std::string redact_url(const std::string& url);

}  // namespace ws
