// GGUF header serialization: the mirror of gguf.cpp's parser. Every size is
// computed with overflow checks before the header is returned, so a caller
// that writes tensors at the returned offsets writes a file the parser (and
// llama.cpp's gguf.cpp) accepts.
#include <cstring>
#include <set>

#include "format/gguf_writer.h"

namespace ws {

namespace {

constexpr size_t kMaxDims = 4;  // GGML_MAX_DIMS

class ByteSink {
 public:
  template <class T>
  void put(T value) {  // little-endian, as are our targets
    char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    out_.append(bytes, sizeof(T));
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    out_ += s;
  }
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

// One element of `value` (index i of its integers / floats / strings).
void put_element(ByteSink& sink, GgufType type, const GgufValue& value, size_t i) {
  switch (type) {
    case GgufType::U8: sink.put<uint8_t>(static_cast<uint8_t>(value.integers[i])); break;
    case GgufType::I8: sink.put<int8_t>(static_cast<int8_t>(value.integers[i])); break;
    case GgufType::U16: sink.put<uint16_t>(static_cast<uint16_t>(value.integers[i])); break;
    case GgufType::I16: sink.put<int16_t>(static_cast<int16_t>(value.integers[i])); break;
    case GgufType::U32: sink.put<uint32_t>(static_cast<uint32_t>(value.integers[i])); break;
    case GgufType::I32: sink.put<int32_t>(static_cast<int32_t>(value.integers[i])); break;
    case GgufType::U64: sink.put<uint64_t>(value.integers[i]); break;
    case GgufType::I64: sink.put<int64_t>(static_cast<int64_t>(value.integers[i])); break;
    case GgufType::F32: sink.put<float>(static_cast<float>(value.floats[i])); break;
    case GgufType::F64: sink.put<double>(value.floats[i]); break;
    case GgufType::BOOL: sink.put<uint8_t>(value.integers[i] != 0); break;
    case GgufType::STRING: sink.put_string(value.strings[i]); break;
    case GgufType::ARRAY: break;  // arrays of arrays are not written
  }
}

// How many elements `value` holds of its element type, or nullopt when the
// value is inconsistent (arrays of arrays, a count that does not match).
std::optional<size_t> element_count(const GgufValue& value) {
  const GgufType t = value.element_type;
  size_t n = 0;
  switch (t) {
    case GgufType::F32: case GgufType::F64: n = value.floats.size(); break;
    case GgufType::STRING: n = value.strings.size(); break;
    case GgufType::ARRAY: return std::nullopt;
    default: n = value.integers.size(); break;
  }
  if (!value.is_array() && n != 1) return std::nullopt;
  if (value.is_array() && n != value.count) return std::nullopt;
  return n;
}

Error bad(const std::string& what) { return make_error(ErrorKind::InvalidArgument, "GGUF writer: " + what); }

}  // namespace

GgufValue gguf_u32(uint32_t v) {
  GgufValue out;
  out.type = out.element_type = GgufType::U32;
  out.integers = {v};
  return out;
}
GgufValue gguf_i32(int32_t v) {
  GgufValue out;
  out.type = out.element_type = GgufType::I32;
  out.integers = {static_cast<uint64_t>(int64_t{v})};
  return out;
}
GgufValue gguf_f32(float v) {
  GgufValue out;
  out.type = out.element_type = GgufType::F32;
  out.floats = {v};
  return out;
}
GgufValue gguf_bool(bool v) {
  GgufValue out;
  out.type = out.element_type = GgufType::BOOL;
  out.integers = {v ? 1u : 0u};
  return out;
}
GgufValue gguf_string(std::string v) {
  GgufValue out;
  out.type = out.element_type = GgufType::STRING;
  out.strings = {std::move(v)};
  return out;
}
GgufValue gguf_string_array(std::vector<std::string> values) {
  GgufValue out;
  out.type = GgufType::ARRAY;
  out.element_type = GgufType::STRING;
  out.count = values.size();
  out.strings = std::move(values);
  return out;
}
GgufValue gguf_i32_array(const std::vector<int32_t>& values) {
  GgufValue out;
  out.type = GgufType::ARRAY;
  out.element_type = GgufType::I32;
  out.count = values.size();
  for (int32_t v : values) out.integers.push_back(static_cast<uint64_t>(int64_t{v}));
  return out;
}
GgufValue gguf_f32_array(const std::vector<float>& values) {
  GgufValue out;
  out.type = GgufType::ARRAY;
  out.element_type = GgufType::F32;
  out.count = values.size();
  out.floats.assign(values.begin(), values.end());
  return out;
}

std::optional<uint32_t> ggml_type_from_dtype(DType dtype) {
  switch (dtype) {
    case DType::F32: return 0;
    case DType::F16: return 1;
    case DType::Q4_0: return 2;
    case DType::Q4_1: return 3;
    case DType::Q5_0: return 6;
    case DType::Q5_1: return 7;
    case DType::Q8_0: return 8;
    case DType::Q4_K: return 12;
    case DType::Q5_K: return 13;
    case DType::Q6_K: return 14;
    case DType::I8: return 24;
    case DType::I16: return 25;
    case DType::I32: return 26;
    case DType::I64: return 27;
    case DType::F64: return 28;
    case DType::BF16: return 30;
    default: return std::nullopt;
  }
}

Result<GgufFileLayout> gguf_file_layout(const std::vector<std::pair<std::string, GgufValue>>& metadata,
                                        const std::vector<GgufTensorToWrite>& tensors, uint64_t alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > (1u << 30)) {
    return bad("alignment " + std::to_string(alignment) + " is not a power of two");
  }
  ByteSink sink;
  sink.bytes().append("GGUF", 4);
  sink.put<uint32_t>(3);
  sink.put<uint64_t>(tensors.size());
  sink.put<uint64_t>(metadata.size());

  std::set<std::string> keys;
  for (const auto& [key, value] : metadata) {
    if (key.empty()) return bad("an empty metadata key");
    if (!keys.insert(key).second) return bad("metadata key \"" + key + "\" given twice");
    const std::optional<size_t> n = element_count(value);
    if (!n) return bad("metadata \"" + key + "\" is not a consistent scalar or array of scalars");
    if (key == "general.alignment" &&
        (value.is_array() || value.type != GgufType::U32 || value.integers[0] != alignment)) {
      return bad("general.alignment must be the u32 " + std::to_string(alignment));
    }
    sink.put_string(key);
    sink.put<uint32_t>(static_cast<uint32_t>(value.type));
    if (value.is_array()) {
      sink.put<uint32_t>(static_cast<uint32_t>(value.element_type));
      sink.put<uint64_t>(*n);
    }
    for (size_t i = 0; i < *n; ++i) put_element(sink, value.element_type, value, i);
  }

  GgufFileLayout layout;
  std::set<std::string> names;
  uint64_t relative = 0;  // offset in the data section
  std::vector<uint64_t> relative_offsets;
  for (const GgufTensorToWrite& t : tensors) {
    const std::string where = "tensor \"" + t.name + "\"";
    if (t.name.empty()) return bad("a tensor without a name");
    if (!names.insert(t.name).second) return bad(where + " given twice");
    const std::optional<uint32_t> type = ggml_type_from_dtype(t.dtype);
    if (!type) return bad(where + " is " + dtype_name(t.dtype) + ", which GGUF has no type for");
    if (t.shape.size() > kMaxDims) return bad(where + " has more than 4 dimensions");
    uint64_t numel = 1;
    for (uint64_t d : t.shape) {
      if (__builtin_mul_overflow(numel, d, &numel)) return bad(where + ": element count overflows 64 bits");
    }
    const uint64_t row = t.shape.empty() ? 1 : t.shape.back();
    if (row % dtype_block_elements(t.dtype) != 0) {
      return bad(where + ": rows of " + std::to_string(row) + " elements are not whole " + dtype_name(t.dtype) +
                 " blocks");
    }
    const uint64_t bytes = dtype_storage_bytes(t.dtype, numel);
    if (numel != 0 && bytes / dtype_block_bytes(t.dtype) != numel / dtype_block_elements(t.dtype)) {
      return bad(where + ": byte size overflows 64 bits");
    }
    sink.put_string(t.name);
    sink.put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
    for (size_t d = t.shape.size(); d-- > 0;) sink.put<uint64_t>(t.shape[d]);  // ne: fastest-varying first
    sink.put<uint32_t>(*type);
    sink.put<uint64_t>(relative);
    relative_offsets.push_back(relative);
    layout.bytes.push_back(bytes);
    const uint64_t padded = (bytes + alignment - 1) / alignment * alignment;
    if (padded < bytes || __builtin_add_overflow(relative, padded, &relative)) {
      return bad(where + ": data section size overflows 64 bits");
    }
  }
  std::string& header = sink.bytes();
  header.append((alignment - header.size() % alignment) % alignment, '\0');
  const uint64_t data_begin = header.size();
  for (uint64_t offset : relative_offsets) layout.offsets.push_back(data_begin + offset);
  if (__builtin_add_overflow(data_begin, relative, &layout.file_bytes)) return bad("file size overflows 64 bits");
  layout.header = std::move(header);
  return layout;
}

}  // namespace ws
