// Fuzzes a whole in-memory GGUF file: the header parser from a growing prefix
// (as a streaming source drives it), the checkpoint view, the synthesized side
// files, then a dequantising plan over every tensor and a load from memory.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "format/gguf.h"
#include "load/load.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ws;
  // Grow the prefix the way ModelSource does; every request must make progress
  // and stay inside the file.
  size_t have = size < 64 ? size : 64;
  Result<GgufPrefix> parsed = parse_gguf_prefix(data, have, size, "fuzz.gguf");
  while (parsed && !parsed->header) {
    if (parsed->bytes_needed <= have || parsed->bytes_needed > size) __builtin_trap();
    have = parsed->bytes_needed;
    parsed = parse_gguf_prefix(data, have, size, "fuzz.gguf");
  }
  if (!parsed) return 0;
  const GgufHeader& header = *parsed->header;
  if (header.data_begin > size) __builtin_trap();
  (void)gguf_config_json(header, "fuzz.gguf");
  (void)gguf_tokenizer_json(header, "fuzz.gguf");
  (void)gguf_tokenizer_config_json(header, "fuzz.gguf");

  Checkpoint checkpoint;
  if (!gguf_checkpoint(header, size, "fuzz.gguf", checkpoint)) return 0;
  std::vector<ManifestEntry> manifest;
  std::vector<HostBuffer> buffers;
  buffers.reserve(checkpoint.tensors.size());
  uint64_t total = 0;
  for (const TensorInfo& t : checkpoint.tensors) {
    if (t.begin < header.data_begin || t.end > size || t.end < t.begin) __builtin_trap();
    const DType to = dtype_is_quantized(t.dtype) ? DType::F32 : t.dtype;
    const uint64_t bytes = dtype_storage_bytes(to, t.numel());
    total += bytes;
    if (total > (64u << 20)) return 0;  // keep each run small
    Result<HostBuffer> buffer = HostBuffer::allocate(bytes);
    if (!buffer) return 0;
    buffers.push_back(std::move(*buffer));
    manifest.push_back({t.name, to, t.shape, &buffers.back()});
  }
  PlanOptions options;
  options.staging_bytes = 256;
  Result<LoadPlan> plan = plan_load(checkpoint, manifest, options);
  if (!plan) return 0;
  if (plan->bytes_to_read > size) __builtin_trap();
  Result<std::unique_ptr<LoadExecutor>> executor = LoadExecutor::create(*plan, manifest);
  if (!executor) return 0;
  (void)run_load(**executor, 1, [&](size_t, uint64_t offset, uint8_t* dst, uint64_t len) -> Status {
    if (offset > size || len > size - offset) __builtin_trap();
    std::memcpy(dst, data + offset, len);
    return Status::ok();
  });
  return 0;
}
