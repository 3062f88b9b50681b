// Fuzzes model.safetensors.index.json parsing and its cross-check against a
// fixed two-tensor checkpoint.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "format/format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ws;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Result<ShardIndex> index = parse_shard_index(text, "fuzz.index.json");
  if (!index) return 0;
  for (const std::string& file : index->shard_files) {
    if (file.find('/') != std::string::npos || file == "..") __builtin_trap();
  }
  Checkpoint checkpoint;
  checkpoint.shards.push_back(ShardInfo{"a.safetensors", 100, 20, {}});
  checkpoint.tensors.push_back(TensorInfo{"x", DType::F32, {2}, 0, 20, 28});
  checkpoint.tensors.push_back(TensorInfo{"y", DType::F16, {4}, 0, 28, 36});
  (void)check_shard_index(*index, checkpoint, "fuzz.index.json");
  return 0;
}
