// GGUF writing (version 3), the byte side only: metadata values and tensor
// infos in, the exact header bytes and every tensor's data offset out. The
// caller writes each tensor's bytes at its offset (so a converter can stream
// tensors one batch at a time and never hold the model). Layout as gguf.h
// describes it; tensor data starts at a multiple of `alignment` and every
// tensor's offset is one too, the gap filled with zero bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "format/format.h"
#include "format/gguf.h"

namespace ws {

// Metadata value builders (GgufValue as the parser fills it).
GgufValue gguf_u32(uint32_t value);
GgufValue gguf_i32(int32_t value);
GgufValue gguf_f32(float value);
GgufValue gguf_bool(bool value);
GgufValue gguf_string(std::string value);
GgufValue gguf_string_array(std::vector<std::string> values);
GgufValue gguf_i32_array(const std::vector<int32_t>& values);
GgufValue gguf_f32_array(const std::vector<float>& values);

// The ggml type id of a DType, or nullopt for dtypes GGUF has no type for
// (BOOL, U16, U32, U64, the F8 types).
std::optional<uint32_t> ggml_type_from_dtype(DType dtype);

struct GgufTensorToWrite {
  std::string name;             // llama.cpp's name ("blk.0.attn_q.weight")
  DType dtype;
  std::vector<uint64_t> shape;  // row-major ([rows, cols]); written as ne, reversed
};

struct GgufFileLayout {
  std::string header;             // every byte before the data section, padding included
  std::vector<uint64_t> offsets;  // absolute file offset of each tensor's data
  std::vector<uint64_t> bytes;    // each tensor's data bytes
  uint64_t file_bytes = 0;        // the whole file, the last tensor padded to `alignment`
};

// Serializes the header for `metadata` (written in the order given) and
// `tensors` (data laid out in the order given). general.alignment, when in
// `metadata`, must equal `alignment`. Errors: InvalidArgument (a duplicate
// key or tensor name, an empty name, a dtype GGUF cannot hold, a row that is
// not a whole number of blocks, more than 4 dimensions, an alignment that is
// not a power of two, a size that overflows 64 bits).
Result<GgufFileLayout> gguf_file_layout(const std::vector<std::pair<std::string, GgufValue>>& metadata,
                                        const std::vector<GgufTensorToWrite>& tensors, uint64_t alignment = 32);

}  // namespace ws
