// Process memory figures from /proc (Linux).
#pragma once

#include <cstdint>

namespace ws {

uint64_t current_rss_bytes();  // VmRSS
uint64_t peak_rss_bytes();     // VmHWM: the high-water mark since start or the last reset
// Resets VmHWM to the current RSS (writes 5 to /proc/self/clear_refs) so a
// later peak_rss_bytes() measures one phase. Returns false where unsupported.
bool reset_peak_rss();
// Bytes this process has had returned by read/pread calls (/proc/self/io
// "rchar": page-cache hits included, so it counts what was asked, not what
// the disk served); 0 where unsupported.
uint64_t io_read_bytes();

}  // namespace ws
