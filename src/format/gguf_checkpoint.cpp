// A parsed GGUF header as a Checkpoint: ggml types to DTypes, offsets made
// absolute and validated, names mapped to Hugging Face's, and llama's q/k
// projections marked as stored with interleaved rotary rows.
#include <algorithm>
#include <set>

#include "format/gguf.h"

namespace ws {

namespace {

// ggml_type ids (ggml.h); 4 and 5 (Q4_2, Q4_3) were removed long ago.
constexpr const char* kGgmlNames[] = {
    "F32",  "F16",   "Q4_0",    "Q4_1",   "Q4_2", "Q4_3",    "Q5_0",  "Q5_1",  "Q8_0",  "Q8_1",
    "Q2_K", "Q3_K",  "Q4_K",    "Q5_K",   "Q6_K", "Q8_K",    "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S",
    "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS", "I8",   "I16",     "I32",   "I64",   "F64",   "IQ1_M",
    "BF16",
};

bool checked_mul(uint64_t a, uint64_t b, uint64_t& out) { return !__builtin_mul_overflow(a, b, &out); }

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

Error header_error(std::string_view file, const std::string& what) {
  return make_error(ErrorKind::InvalidHeader, std::string(file) + ": " + what);
}

}  // namespace

const char* ggml_type_name(uint32_t ggml_type) {
  return ggml_type < sizeof(kGgmlNames) / sizeof(kGgmlNames[0]) ? kGgmlNames[ggml_type] : "unknown";
}

std::optional<DType> dtype_from_ggml_type(uint32_t ggml_type) {
  switch (ggml_type) {
    case 0: return DType::F32;
    case 1: return DType::F16;
    case 2: return DType::Q4_0;
    case 3: return DType::Q4_1;
    case 6: return DType::Q5_0;
    case 7: return DType::Q5_1;
    case 8: return DType::Q8_0;
    case 12: return DType::Q4_K;
    case 13: return DType::Q5_K;
    case 14: return DType::Q6_K;
    case 24: return DType::I8;
    case 25: return DType::I16;
    case 26: return DType::I32;
    case 27: return DType::I64;
    case 28: return DType::F64;
    case 30: return DType::BF16;
    default: return std::nullopt;
  }
}

Status gguf_checkpoint(const GgufHeader& header, uint64_t file_bytes, std::string_view file_name,
                       Checkpoint& checkpoint) {
  const size_t shard_index = checkpoint.shards.size();
  const std::optional<std::string> architecture = header.get_string("general.architecture");
  // Only llama.cpp's "llama" converter permutes q/k rows (qwen2 and others use
  // the NEOX rotary layout and store rows as Hugging Face does).
  const bool interleaved = architecture && *architecture == "llama";
  const uint64_t heads = interleaved ? header.get_uint("llama.attention.head_count").value_or(0) : 0;
  const uint64_t kv_heads = interleaved ? header.get_uint("llama.attention.head_count_kv").value_or(heads) : 0;

  std::vector<TensorInfo> tensors;
  std::set<std::string> names;
  for (const GgufTensor& g : header.tensors) {
    const std::string where = "tensor \"" + g.name + "\"";
    std::optional<DType> dtype = dtype_from_ggml_type(g.ggml_type);
    if (!dtype) {
      if (g.ggml_type >= sizeof(kGgmlNames) / sizeof(kGgmlNames[0]) || g.ggml_type == 4 || g.ggml_type == 5) {
        return header_error(file_name, where + " has unknown ggml type " + std::to_string(g.ggml_type));
      }
      return make_error(ErrorKind::Unsupported, std::string(file_name) + ": " + where + " is " +
                                                    ggml_type_name(g.ggml_type) +
                                                    ", which weightstream cannot dequantise (supported: F32 F16 BF16 "
                                                    "Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q4_K Q5_K Q6_K)");
    }
    uint64_t numel = 1;
    for (uint64_t d : g.shape) {
      if (!checked_mul(numel, d, numel)) return header_error(file_name, where + ": element count overflows 64 bits");
    }
    const uint64_t row = g.shape.empty() ? 1 : g.shape.back();
    if (row % dtype_block_elements(*dtype) != 0) {
      return header_error(file_name, where + ": row of " + std::to_string(row) + " elements is not a whole number of " +
                                         dtype_name(*dtype) + " blocks");
    }
    uint64_t bytes = 0;
    if (!checked_mul(numel / dtype_block_elements(*dtype), dtype_block_bytes(*dtype), bytes)) {
      return header_error(file_name, where + ": byte size overflows 64 bits");
    }
    if (g.offset % header.alignment != 0) {
      return header_error(file_name, where + ": offset " + std::to_string(g.offset) + " is not a multiple of the " +
                                         std::to_string(header.alignment) + "-byte alignment");
    }
    if (g.offset > file_bytes || header.data_begin > file_bytes - g.offset ||
        bytes > file_bytes - header.data_begin - g.offset) {
      return make_error(ErrorKind::Truncated, std::string(file_name) + ": " + where + " (bytes [" +
                                                  std::to_string(g.offset) + ", +" + std::to_string(bytes) +
                                                  ") of the data section at byte " + std::to_string(header.data_begin) +
                                                  ") runs past the end of the " + std::to_string(file_bytes) +
                                                  "-byte file");
    }
    TensorInfo t;
    t.name = gguf_to_hf_name(g.name, architecture.value_or("llama"));
    if (!names.insert(t.name).second) return header_error(file_name, where + " appears twice");
    t.dtype = *dtype;
    t.shape = g.shape;
    t.shard = shard_index;
    t.begin = header.data_begin + g.offset;
    t.end = t.begin + bytes;
    // convert_hf_to_gguf.py permutes q_proj/k_proj weights and biases alike.
    if (interleaved && !t.shape.empty() && t.shape.size() <= 2) {
      const bool q = ends_with(g.name, ".attn_q.weight") || ends_with(g.name, ".attn_q.bias");
      const bool k = ends_with(g.name, ".attn_k.weight") || ends_with(g.name, ".attn_k.bias");
      if (q) t.interleaved_heads = heads;
      if (k) t.interleaved_heads = kv_heads;
      if ((q || k) && t.interleaved_heads == 0) {
        return header_error(file_name, where + ": llama.attention.head_count is missing, so its rotary rows "
                                               "cannot be put back in order");
      }
    }
    tensors.push_back(std::move(t));
  }
  std::stable_sort(tensors.begin(), tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (size_t i = 1; i < tensors.size(); ++i) {
    if (tensors[i].begin < tensors[i - 1].end) {
      return header_error(file_name, "tensor \"" + tensors[i].name + "\" at byte " + std::to_string(tensors[i].begin) +
                                         " overlaps \"" + tensors[i - 1].name + "\"");
    }
  }
  ShardInfo shard;
  shard.file_bytes = file_bytes;
  shard.data_begin = header.data_begin;
  shard.file_name = std::string(file_name);
  for (const std::string& key : header.keys) {
    if (std::optional<std::string> s = header.get_string(key)) shard.metadata[key] = *s;
  }
  checkpoint.shards.push_back(std::move(shard));
  for (TensorInfo& t : tensors) checkpoint.tensors.push_back(std::move(t));
  return Status::ok();
}

}  // namespace ws
