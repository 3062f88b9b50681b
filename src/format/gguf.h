// GGUF (llama.cpp's single-file model format, versions 2 and 3): a total,
// bounds-checked header parser that works from a prefix of the file, and the
// views the rest of weightstream needs of it: a Checkpoint with Hugging Face
// tensor names, and synthesized config.json / tokenizer.json /
// tokenizer_config.json texts.
//
// Layout (little-endian): "GGUF", u32 version, u64 tensor_count, u64 kv_count,
// kv_count x {string key, u32 type, value}, tensor_count x {string name,
// u32 n_dims, u64 ne[n_dims] (fastest-varying first), u32 ggml_type,
// u64 offset}, padding to general.alignment (default 32), tensor data.
// A string is u64 length + bytes (no terminator).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "format/format.h"

namespace ws {

enum class GgufType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7, STRING = 8, ARRAY = 9,
  U64 = 10, I64 = 11, F64 = 12,
};
const char* gguf_type_name(GgufType type);

// One metadata value. Scalars are arrays of one element. Integers (and bools)
// live in `integers` (signed types sign-extended into the 64 bits), floats in
// `floats`, strings in `strings`. Arrays of arrays keep only their length.
struct GgufValue {
  GgufType type = GgufType::U8;          // ARRAY for arrays
  GgufType element_type = GgufType::U8;  // the element type (== type for scalars)
  uint64_t count = 1;                    // elements
  std::vector<uint64_t> integers;
  std::vector<double> floats;
  std::vector<std::string> strings;

  bool is_array() const { return type == GgufType::ARRAY; }
};

struct GgufTensor {
  std::string name;                // as stored ("blk.0.attn_q.weight")
  uint32_t ggml_type = 0;
  std::vector<uint64_t> shape;     // row-major (ne reversed): [rows, cols] for a matrix
  uint64_t offset = 0;             // relative to data_begin
};

struct GgufHeader {
  uint32_t version = 0;
  std::vector<std::string> keys;              // metadata keys in file order
  std::map<std::string, GgufValue> metadata;
  std::vector<GgufTensor> tensors;            // in header order
  uint64_t alignment = 32;                    // general.alignment
  uint64_t data_begin = 0;                    // absolute offset of the data section

  const GgufValue* find(std::string_view key) const;
  // Typed look-ups: nullopt when absent or of another kind (integer, float, string).
  std::optional<uint64_t> get_uint(std::string_view key) const;
  std::optional<double> get_float(std::string_view key) const;  // integers too
  std::optional<std::string> get_string(std::string_view key) const;
  std::optional<bool> get_bool(std::string_view key) const;
  const std::vector<std::string>* get_strings(std::string_view key) const;  // array of strings
};

// Refused before anything is allocated for it (the SmolLM2 header is 1.7 MB,
// a 150k-token vocabulary with merges about 10 MB).
constexpr uint64_t kMaxGgufHeaderBytes = 256ull << 20;

// True when the bytes start with the GGUF magic.
bool is_gguf_magic(const uint8_t* data, size_t size);

// The outcome of parsing a prefix: either the complete header, or how many
// bytes (from the start of the file) the parser needs before it can go on.
struct GgufPrefix {
  std::optional<GgufHeader> header;
  uint64_t bytes_needed = 0;  // when !header: read at least this many bytes and retry
};

// Parses the header from `prefix` (the first `size` bytes of a file of
// `file_bytes` bytes). Every length and count is checked against the file size
// before anything is allocated. Errors name the file and byte offset:
// InvalidHeader (bad magic, version, type, alignment, duplicate key/tensor,
// too many dims, ...), Truncated (the file ends inside the header),
// OutOfBudget (header above kMaxGgufHeaderBytes).
Result<GgufPrefix> parse_gguf_prefix(const uint8_t* prefix, size_t size, uint64_t file_bytes,
                                     std::string_view file_name);

// The Checkpoint view of one parsed GGUF file (one shard: the file itself).
// Tensors get Hugging Face names (gguf_to_hf_name), absolute offsets, and are
// ordered by offset; llama q/k projections are marked interleaved_heads.
// Validates every tensor: known and supported ggml type, rows of whole blocks,
// offset aligned, data inside the file, no overlap, no duplicate name.
// Errors: InvalidHeader, Truncated (data past the end of the file),
// Unsupported (a ggml type weightstream cannot dequantise, named).
Status gguf_checkpoint(const GgufHeader& header, uint64_t file_bytes, std::string_view file_name,
                       Checkpoint& checkpoint);

// The DType of a ggml type id, or nullopt for ids weightstream does not read.
std::optional<DType> dtype_from_ggml_type(uint32_t ggml_type);
// "Q4_K", "IQ2_XXS", ... or "unknown".
const char* ggml_type_name(uint32_t ggml_type);

// llama.cpp tensor names -> Hugging Face names for the llama family
// ("token_embd.weight" -> "model.embed_tokens.weight", "blk.3.attn_q.weight"
// -> "model.layers.3.self_attn.q_proj.weight", ...), with `arch`'s own
// meanings first (general.architecture: Gemma 2/3's sandwich norms, Phi-3's
// fused projections). Unknown names are kept.
std::string gguf_to_hf_name(std::string_view gguf_name, std::string_view arch = "llama");
// The inverse, for writing GGUF: Hugging Face names -> llama.cpp's.
// Unknown names are kept.
std::string hf_to_gguf_name(std::string_view hf_name, std::string_view arch = "llama");

// config.json for the model in `header` (general.architecture llama, qwen2,
// qwen3, gemma, gemma2, gemma3 or phi3), from the <arch>.* keys and the token
// list, with the values llama.cpp derives where the file has no key.
// Errors: Unsupported (another architecture, a Phi-3 with LongRoPE factor
// tensors), InvalidConfig (a required key missing).
Result<std::string> gguf_config_json(const GgufHeader& header, std::string_view file_name);
// The key a config.json synthesized from a Gemma GGUF carries: its RMSNorm
// weights already include Gemma's +1 (llama.cpp's converter adds it).
inline constexpr const char* kNormWeightsPlusOne = "weightstream_gguf_norm_weights_plus_one";
// tokenizer.json from tokenizer.ggml.* ("gpt2": byte-level BPE with merges;
// "llama": SentencePiece-style BPE with byte fallback). Errors: Unsupported,
// InvalidConfig.
Result<std::string> gguf_tokenizer_json(const GgufHeader& header, std::string_view file_name);
// tokenizer_config.json: bos/eos/unk/pad tokens, add_bos_token, chat_template.
Result<std::string> gguf_tokenizer_config_json(const GgufHeader& header, std::string_view file_name);

}  // namespace ws
