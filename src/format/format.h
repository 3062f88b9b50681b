// format: parse and validate checkpoint headers. Never allocates weight memory,
// never touches a tensor's bytes. Everything here is pure (bytes in, values out)
// so the same code runs natively and in WebAssembly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace ws {

// ---- dtypes ---------------------------------------------------------------
// Every dtype of the safetensors spec, then the ggml block-quantised types GGUF
// files use (append only: the numbering is part of the web API).
//
// Every dtype is stored in blocks: a plain dtype is a 1-element block, a ggml
// type packs dtype_block_elements() values (32 or 256) into dtype_block_bytes()
// bytes. A tensor of a block type has a whole number of blocks per row.
enum class DType : uint8_t {
  F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, F8_E4M3, F8_E5M2, U16, U32, U64,
  Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q6_K, Q5_K,
};

// Bytes of one block: the element size for plain dtypes. (For block types
// `numel * dtype_size` over-estimates; use dtype_storage_bytes.)
size_t dtype_size(DType dtype);
uint64_t dtype_block_elements(DType dtype);               // 1 for plain dtypes
uint64_t dtype_block_bytes(DType dtype);                  // == dtype_size
// Bytes of `numel` elements; `numel` must be a multiple of the block size.
uint64_t dtype_storage_bytes(DType dtype, uint64_t numel);
bool dtype_is_quantized(DType dtype);                     // ggml block types
const char* dtype_name(DType dtype);                     // "F32", "Q4_1", ...
// Exact safetensors spec spelling; the ggml block types are not safetensors
// dtypes and are rejected (InvalidHeader) like any unknown name.
Result<DType> parse_dtype(std::string_view safetensors_name);
bool dtype_is_float(DType dtype);                         // F64 F32 F16 BF16 F8_*

// ---- a checkpoint, as far as the loader cares ------------------------------
struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<uint64_t> shape;  // empty = 0-d scalar
  size_t shard;                 // index into Checkpoint::shards
  uint64_t begin;               // absolute byte offset in the shard file
  uint64_t end;                 // one past the last byte; end - begin = dtype_storage_bytes(dtype, numel)
  // llama.cpp's GGUF converter stores the rows of each attention head of
  // q_proj/k_proj with the head's two halves interleaved (for its rotary
  // kernel). When non-zero, the tensor's rows form this many heads stored that
  // way, and the load plan routes every row to its Hugging Face position.
  uint64_t interleaved_heads = 0;

  uint64_t bytes() const { return end - begin; }
  uint64_t numel() const;
};

struct ShardInfo {
  std::string file_name;        // relative to the checkpoint directory (or URL)
  uint64_t file_bytes = 0;
  uint64_t data_begin = 0;      // 8 + header length
  std::map<std::string, std::string> metadata;  // __metadata__
};

struct Checkpoint {
  std::vector<ShardInfo> shards;
  std::vector<TensorInfo> tensors;  // shard order, then file order within a shard
  std::map<std::string, std::string> index_metadata;  // index.json "metadata", stringified

  const TensorInfo* find(std::string_view name) const;
  uint64_t data_bytes() const;  // sum of tensor bytes
};

// ---- safetensors ------------------------------------------------------------
// The reference implementation's cap: headers above this are refused before
// anything is allocated for them.
constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

// Reads the 8-byte little-endian header length and checks it against the cap
// and the file size. `file_bytes` is the full size of the file.
Result<uint64_t> parse_safetensors_prefix(const uint8_t prefix[8], uint64_t file_bytes,
                                          std::string_view file_name);

// Parses and fully validates one safetensors header: JSON object of
// name -> {dtype, shape, data_offsets} plus optional string->string
// __metadata__; offsets sorted, contiguous from 0, ending exactly at the end of
// the file (as the reference implementation enforces), shape x size == bytes,
// no duplicate names. Appends tensors (with absolute offsets) to `out`.
// Errors: InvalidHeader (naming file, tensor, byte offset) or Truncated.
Status parse_safetensors_header(std::string_view header_json, uint64_t file_bytes,
                                std::string_view file_name, size_t shard_index,
                                ShardInfo& shard, std::vector<TensorInfo>& out);

// ---- sharded checkpoints ----------------------------------------------------
struct ShardIndex {
  std::vector<std::string> shard_files;                 // in first-seen order of weight_map
  std::map<std::string, std::string> weight_map;        // tensor -> shard file
  std::optional<uint64_t> total_size;                   // metadata.total_size when given
  std::map<std::string, std::string> metadata;
};

// Parses model.safetensors.index.json. Shard names must be plain relative file
// names (no '/', no "..") so a malicious index cannot point outside the model.
Result<ShardIndex> parse_shard_index(std::string_view json, std::string_view file_name);

// Cross-checks an index against the shards' parsed tensors: every mapped tensor
// exists in the named shard, every shard tensor is mapped to it, total_size
// (when present) equals the tensor bytes. Errors: InvalidIndex.
Status check_shard_index(const ShardIndex& index, const Checkpoint& checkpoint,
                         std::string_view index_file_name);

}  // namespace ws
