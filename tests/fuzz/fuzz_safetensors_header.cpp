// Fuzzes a whole in-memory safetensors file: prefix, header JSON, validation,
// then a plan over every tensor (which trusts the validated offsets). The
// one-pass plain reader is checked against the general JSON parser: whatever
// it accepts must parse there to the same entries.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "format/format.h"
#include "format/json_strict.h"
#include "format/safetensors_plain_header.h"
#include "load/load.h"

namespace {

void check_plain_reader_agrees(std::string_view header) {
  std::vector<ws::TensorInfo> plain;
  std::map<std::string, std::string> metadata;
  if (!ws::detail::read_plain_safetensors_header(header, 0, plain, metadata)) return;
  ws::Result<nlohmann::json> general = ws::detail::parse_json_strict(header, ws::ErrorKind::InvalidHeader, "h");
  if (!general || !general->is_object()) __builtin_trap();
  size_t entries = 0;
  for (auto it = general->begin(); it != general->end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_null() && it->get<std::map<std::string, std::string>>() != metadata) __builtin_trap();
      continue;
    }
    ++entries;
  }
  if (entries != plain.size()) __builtin_trap();
  for (const ws::TensorInfo& t : plain) {
    auto found = general->find(t.name);
    if (found == general->end()) __builtin_trap();
    const nlohmann::json& e = *found;
    if (e.size() != 3 || e["dtype"] != ws::dtype_name(t.dtype) || e["shape"] != nlohmann::json(t.shape) ||
        e["data_offsets"] != nlohmann::json({t.begin, t.end})) {
      __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ws;
  uint8_t prefix[8] = {0};
  for (size_t i = 0; i < 8 && i < size; ++i) prefix[i] = data[i];
  Result<uint64_t> header_bytes = parse_safetensors_prefix(prefix, size, "fuzz.safetensors");
  if (!header_bytes) return 0;
  Checkpoint checkpoint;
  ShardInfo shard;
  std::string_view header(reinterpret_cast<const char*>(data) + 8, *header_bytes);
  check_plain_reader_agrees(header);
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
