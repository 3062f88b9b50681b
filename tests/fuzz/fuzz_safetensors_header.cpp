// Fuzzes a whole in-memory safetensors file: prefix, header JSON, validation,
// then a plan over every tensor (which trusts the validated offsets).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "format/format.h"
#include "load/load.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ws;
  uint8_t prefix[8] = {0};
  for (size_t i = 0; i < 8 && i < size; ++i) prefix[i] = data[i];
  Result<uint64_t> header_bytes = parse_safetensors_prefix(prefix, size, "fuzz.safetensors");
  if (!header_bytes) return 0;
  Checkpoint checkpoint;
  ShardInfo shard;
  std::string_view header(reinterpret_cast<const char*>(data) + 8, *header_bytes);
  if (!parse_safetensors_header(header, size, "fuzz.safetensors", 0, shard, checkpoint.tensors)) return 0;
  checkpoint.shards.push_back(shard);
  // Every validated tensor lies inside the file.
  for (const TensorInfo& t : checkpoint.tensors) {
    if (t.begin < 8 + *header_bytes || t.end > size || t.end < t.begin) __builtin_trap();
  }
  std::vector<ManifestEntry> manifest;
  for (const TensorInfo& t : checkpoint.tensors) manifest.push_back({t.name, t.dtype, t.shape, nullptr});
  PlanOptions options;
  options.staging_bytes = 4096;
  Result<LoadPlan> plan = plan_load(checkpoint, manifest, options);
  if (plan && plan->bytes_to_read > size) __builtin_trap();
  return 0;
}
