#include "api/memory_budget.h"

#include <sys/resource.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace ws {

namespace {

// "Key:   1234 kB" lines of /proc/meminfo and /proc/self/status.
std::optional<uint64_t> proc_kib(const char* path, const char* key) {
  std::ifstream in(path);
  std::string line;
  const size_t key_length = std::strlen(key);
  while (std::getline(in, line)) {
    if (line.compare(0, key_length, key) == 0 && line.size() > key_length && line[key_length] == ':') {
      unsigned long long kib = 0;
      if (std::sscanf(line.c_str() + key_length + 1, "%llu", &kib) == 1) return uint64_t{kib} * 1024;
    }
  }
  return std::nullopt;
}

// A file holding one number ("max" = no limit).
std::optional<uint64_t> read_number(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text == "max") return std::nullopt;
  unsigned long long value = 0;
  if (std::sscanf(text.c_str(), "%llu", &value) != 1) return std::nullopt;
  return uint64_t{value};
}

// The cgroup (v2, else v1 memory controller) this process is in.
std::optional<uint64_t> cgroup_headroom() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    // v2: "0::/path"; v1: "N:memory:/path" (or with other controllers).
    const size_t first = line.find(':'), second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    std::optional<uint64_t> limit, usage;
    if (controllers.empty()) {
      limit = read_number("/sys/fs/cgroup" + path + "/memory.max");
      usage = read_number("/sys/fs/cgroup" + path + "/memory.current");
    } else if (("," + controllers + ",").find(",memory,") != std::string::npos) {
      limit = read_number("/sys/fs/cgroup/memory" + path + "/memory.limit_in_bytes");
      usage = read_number("/sys/fs/cgroup/memory" + path + "/memory.usage_in_bytes");
      if (limit && *limit >= (uint64_t{1} << 62)) limit.reset();  // v1 spells "no limit" as a huge number
    }
    if (limit) return *limit > usage.value_or(0) ? *limit - usage.value_or(0) : 0;
  }
  return std::nullopt;
}

}  // namespace

MemoryBudget process_memory_budget() {
  MemoryBudget budget;
  auto consider = [&](std::optional<uint64_t> bytes, const char* source) {
    if (bytes && *bytes < budget.bytes) {
      budget.bytes = *bytes;
      budget.source = source;
    }
  };
  consider(proc_kib("/proc/meminfo", "MemAvailable"), "MemAvailable in /proc/meminfo");
  consider(cgroup_headroom(), "the cgroup's memory limit less its usage");
  rlimit limit{};
  if (getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    const uint64_t mapped = proc_kib("/proc/self/status", "VmSize").value_or(0);
    consider(limit.rlim_cur > mapped ? limit.rlim_cur - mapped : 0, "RLIMIT_AS less the mapped address space");
  }
  return budget;
}

}  // namespace ws
