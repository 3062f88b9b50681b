#include "source/memory_stats.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ws {

namespace {
uint64_t status_field_kib(const char* field) {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  uint64_t kib = 0;
  const size_t field_len = std::strlen(field);
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, field, field_len) == 0 && line[field_len] == ':') {
      kib = std::strtoull(line + field_len + 1, nullptr, 10);
      break;
    }
  }
  std::fclose(f);
  return kib;
}
}  // namespace

uint64_t io_read_bytes() {
  FILE* f = std::fopen("/proc/self/io", "r");
  if (!f) return 0;
  char line[128];
  uint64_t bytes = 0;
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, "rchar:", 6) == 0) {
      bytes = std::strtoull(line + 6, nullptr, 10);
      break;
    }
  }
  std::fclose(f);
  return bytes;
}

uint64_t current_rss_bytes() { return status_field_kib("VmRSS") * 1024; }
uint64_t peak_rss_bytes() { return status_field_kib("VmHWM") * 1024; }

bool reset_peak_rss() {
  FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (!f) return false;
  const bool ok = std::fputs("5", f) >= 0;
  return std::fclose(f) == 0 && ok;
}

}  // namespace ws
