// An in-memory checkpoint and a ReadAt over it, for load tests.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include "format/header_builder.h"
#include "load/load.h"

namespace ws::test {

struct InMemoryCheckpoint {
  std::vector<std::string> files;
  Checkpoint checkpoint;

  void add_shard(const std::string& file, const std::string& name) {
    files.push_back(file);
    Status status = parse_file(file, checkpoint, name);
    if (!status) throw std::runtime_error(status.error().to_string());
  }
  ReadAt reader() const {
    return [this](size_t shard, uint64_t offset, uint8_t* dst, uint64_t len) -> Status {
      const std::string& f = files[shard];
      if (offset + len > f.size()) return make_error(ErrorKind::Truncated, "past end");
      std::memcpy(dst, f.data() + offset, len);
      return Status::ok();
    };
  }
};

// A safetensors file of F32 tensors whose element i of tensor t is t * 1000 + i.
inline std::string f32_file(const std::vector<std::pair<std::string, uint64_t>>& tensors) {
  std::string header = "{";
  std::string data;
  for (size_t t = 0; t < tensors.size(); ++t) {
    const uint64_t begin = data.size();
    for (uint64_t i = 0; i < tensors[t].second; ++i) {
      const float v = static_cast<float>(t * 1000 + i);
      data.append(reinterpret_cast<const char*>(&v), 4);
    }
    header += (t ? "," : "") + entry(tensors[t].first, "F32", "[" + std::to_string(tensors[t].second) + "]", begin,
                                     data.size());
  }
  header += "}";
  return with_declared_length(header.size(), header) + data;
}

}  // namespace ws::test
