// How much memory this process may still commit: the smallest of the
// kernel's MemAvailable, the cgroup's memory limit less what the group uses,
// and RLIMIT_AS less the address space already mapped. Admission control
// (src/model/admission.h) compares a load's need with it.
#pragma once

#include <cstdint>
#include <string>

namespace ws {

struct MemoryBudget {
  uint64_t bytes = UINT64_MAX;  // UINT64_MAX when nothing could be read (no limit known)
  std::string source;           // which limit decided, e.g. "MemAvailable in /proc/meminfo"
};

MemoryBudget process_memory_budget();

}  // namespace ws
