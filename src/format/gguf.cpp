// The GGUF header parser: a cursor over the bytes read so far that reports
// "need more" when a field runs past the prefix, and an error when it runs past
// the file. Nothing is allocated for a length or count before it has been
// checked against the bytes the file can still hold.
#include <cstring>

#include "format/gguf.h"

namespace ws {

namespace {

constexpr uint32_t kMaxDims = 4;  // GGML_MAX_DIMS

// Smallest encoded size of one value of `type` (strings: the u64 length).
uint64_t min_value_bytes(GgufType type) {
  switch (type) {
    case GgufType::U8: case GgufType::I8: case GgufType::BOOL: return 1;
    case GgufType::U16: case GgufType::I16: return 2;
    case GgufType::U32: case GgufType::I32: case GgufType::F32: return 4;
    case GgufType::U64: case GgufType::I64: case GgufType::F64: case GgufType::STRING: return 8;
    case GgufType::ARRAY: return 12;  // element type + count
  }
  return 1;
}

bool valid_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::F64); }

// Why a read stopped: the prefix ended (read more), or the input is bad.
enum class Stop { None, NeedMore, Failed };

class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size, uint64_t file_bytes, std::string_view file_name)
      : data_(data), size_(size), file_bytes_(file_bytes), file_(file_name) {}

  uint64_t offset() const { return offset_; }
  Stop stop() const { return stop_; }
  uint64_t needed() const { return needed_; }
  const Error& error() const { return error_; }
  bool ok() const { return stop_ == Stop::None; }

  void fail(ErrorKind kind, const std::string& what, uint64_t at) {
    if (stop_ != Stop::None) return;
    stop_ = Stop::Failed;
    error_ = make_error(kind, file_ + ": " + what + " at byte " + std::to_string(at));
  }

  // True when `n` bytes at the cursor are available; otherwise records why not.
  bool have(uint64_t n, const char* what) {
    if (stop_ != Stop::None) return false;
    if (n > file_bytes_ || offset_ > file_bytes_ - n) {
      fail(ErrorKind::Truncated, std::string("file ends inside ") + what + " (" + std::to_string(n) + " bytes)",
           offset_);
      return false;
    }
    if (offset_ + n > kMaxGgufHeaderBytes) {
      stop_ = Stop::Failed;
      error_ = make_error(ErrorKind::OutOfBudget, file_ + ": header is larger than " +
                                                      std::to_string(kMaxGgufHeaderBytes) + " bytes");
      return false;
    }
    if (offset_ + n > size_) {
      stop_ = Stop::NeedMore;
      needed_ = offset_ + n;
      return false;
    }
    return true;
  }

  template <class T>
  T read(const char* what) {
    T v{};
    if (!have(sizeof(T), what)) return v;
    std::memcpy(&v, data_ + offset_, sizeof(T));  // GGUF is little-endian, as are our targets
    offset_ += sizeof(T);
    return v;
  }

  std::string read_string(const char* what) {
    const uint64_t at = offset_;
    const uint64_t len = read<uint64_t>(what);
    if (!ok()) return {};
    if (len > file_bytes_ - offset_) {
      fail(ErrorKind::Truncated, std::string(what) + " of " + std::to_string(len) + " bytes runs past the file end",
           at);
      return {};
    }
    if (!have(len, what)) return {};
    std::string s(reinterpret_cast<const char*>(data_ + offset_), len);
    offset_ += len;
    return s;
  }

  // Checks that `count` values of at least `min_bytes` each can fit in the file.
  bool plausible_count(uint64_t count, uint64_t min_bytes, const char* what, uint64_t at) {
    if (!ok()) return false;
    if (count > (file_bytes_ - offset_) / min_bytes) {
      fail(ErrorKind::Truncated, std::string(what) + " count " + std::to_string(count) + " cannot fit in the file",
           at);
      return false;
    }
    return true;
  }

  void skip(uint64_t n, const char* what) {
    if (have(n, what)) offset_ += n;
  }

  // Metadata in memory stays within a small multiple of its bytes in the
  // file: a u8 array takes 8 bytes an element here (a 250 MB array became
  // 2.3 GB of RSS). Real files (token lists, scores, types) decode to 2-3x.
  void charge(uint64_t bytes_in_memory, uint64_t at) {
    decoded_bytes_ += bytes_in_memory;
    if (decoded_bytes_ > kMaxGrowth * offset_ + kFreeBytes && stop_ == Stop::None) {
      stop_ = Stop::Failed;
      error_ = make_error(ErrorKind::OutOfBudget, file_ + ": metadata up to byte " + std::to_string(at) + " would take " +
                                                      std::to_string(decoded_bytes_) + " bytes in memory, more than " +
                                                      std::to_string(kMaxGrowth) + "x its size in the file");
    }
  }
  static constexpr uint64_t kMaxGrowth = 4;
  static constexpr uint64_t kFreeBytes = 16ull << 20;

 private:
  const uint8_t* data_;
  size_t size_;
  uint64_t file_bytes_;
  std::string file_;
  uint64_t offset_ = 0;
  uint64_t decoded_bytes_ = 0;
  Stop stop_ = Stop::None;
  uint64_t needed_ = 0;
  Error error_{ErrorKind::InvalidHeader, ""};
};

void read_element(Cursor& c, GgufType type, GgufValue& value) {
  const uint64_t at = c.offset();
  switch (type) {
    case GgufType::U8: value.integers.push_back(c.read<uint8_t>("a u8 value")); break;
    case GgufType::I8: value.integers.push_back(static_cast<uint64_t>(int64_t{c.read<int8_t>("an i8 value")})); break;
    case GgufType::U16: value.integers.push_back(c.read<uint16_t>("a u16 value")); break;
    case GgufType::I16: value.integers.push_back(static_cast<uint64_t>(int64_t{c.read<int16_t>("an i16 value")})); break;
    case GgufType::U32: value.integers.push_back(c.read<uint32_t>("a u32 value")); break;
    case GgufType::I32: value.integers.push_back(static_cast<uint64_t>(int64_t{c.read<int32_t>("an i32 value")})); break;
    case GgufType::U64: value.integers.push_back(c.read<uint64_t>("a u64 value")); break;
    case GgufType::I64: value.integers.push_back(static_cast<uint64_t>(c.read<int64_t>("an i64 value"))); break;
    case GgufType::F32: value.floats.push_back(c.read<float>("an f32 value")); break;
    case GgufType::F64: value.floats.push_back(c.read<double>("an f64 value")); break;
    case GgufType::BOOL: {
      const uint8_t b = c.read<uint8_t>("a bool value");
      if (c.ok() && b > 1) c.fail(ErrorKind::InvalidHeader, "bool value " + std::to_string(b) + " is not 0 or 1", at);
      value.integers.push_back(b);
      break;
    }
    case GgufType::STRING: value.strings.push_back(c.read_string("a string value")); break;
    case GgufType::ARRAY: break;  // handled by read_value
  }
  // What the element costs here: a slot of its vector, plus a string's heap bytes.
  const uint64_t heap = type == GgufType::STRING && value.strings.back().size() > 15 ? value.strings.back().size() + 1 : 0;
  c.charge(type == GgufType::STRING ? sizeof(std::string) + heap : 8, at);
}

// Reads an array body (element type, count, elements) into `value`; arrays of
// arrays nest at most `depth` more levels and keep only their length.
void read_array_body(Cursor& c, GgufValue& value, int depth) {
  value.type = GgufType::ARRAY;
  const uint64_t at = c.offset();
  const uint32_t element = c.read<uint32_t>("an array element type");
  if (!c.ok()) return;
  if (!valid_type(element)) {
    c.fail(ErrorKind::InvalidHeader, "unknown array element type " + std::to_string(element), at);
    return;
  }
  value.element_type = static_cast<GgufType>(element);
  const uint64_t count_at = c.offset();
  value.count = c.read<uint64_t>("an array length");
  if (!c.plausible_count(value.count, min_value_bytes(value.element_type), "array", count_at)) return;
  if (value.element_type != GgufType::ARRAY) {
    for (uint64_t i = 0; i < value.count && c.ok(); ++i) read_element(c, value.element_type, value);
    return;
  }
  if (depth == 0) {
    c.fail(ErrorKind::InvalidHeader, "arrays nested too deeply", at);
    return;
  }
  for (uint64_t i = 0; i < value.count && c.ok(); ++i) {
    GgufValue nested;
    read_array_body(c, nested, depth - 1);
  }
}

// Reads one value of `type`.
void read_value(Cursor& c, GgufType type, GgufValue& value) {
  value.type = type;
  value.element_type = type;
  if (type == GgufType::ARRAY) return read_array_body(c, value, 2);
  read_element(c, type, value);
}

}  // namespace

const char* gguf_type_name(GgufType type) {
  static const char* const kNames[] = {"u8",  "i8",   "u16",    "i16",   "u32", "i32", "f32",
                                       "bool", "string", "array", "u64", "i64", "f64"};
  const uint32_t t = static_cast<uint32_t>(type);
  return t < sizeof(kNames) / sizeof(kNames[0]) ? kNames[t] : "unknown";
}

bool is_gguf_magic(const uint8_t* data, size_t size) { return size >= 4 && std::memcmp(data, "GGUF", 4) == 0; }

Result<GgufPrefix> parse_gguf_prefix(const uint8_t* prefix, size_t size, uint64_t file_bytes,
                                     std::string_view file_name) {
  Cursor c(prefix, size, file_bytes, file_name);
  GgufHeader header;
  auto outcome = [&]() -> Result<GgufPrefix> {
    if (c.stop() == Stop::Failed) return c.error();
    GgufPrefix more;
    more.bytes_needed = c.needed();
    return more;
  };

  if (!c.have(4, "the magic")) return outcome();
  if (!is_gguf_magic(prefix, size)) {
    return make_error(ErrorKind::InvalidHeader, std::string(file_name) + ": not a GGUF file (no \"GGUF\" magic) at byte 0");
  }
  c.skip(4, "the magic");
  header.version = c.read<uint32_t>("the version");
  if (!c.ok()) return outcome();
  if (header.version != 2 && header.version != 3) {
    return make_error(ErrorKind::InvalidHeader, std::string(file_name) + ": GGUF version " +
                                                    std::to_string(header.version) + " (only 2 and 3) at byte 4");
  }
  const uint64_t tensor_count = c.read<uint64_t>("the tensor count");
  const uint64_t kv_count = c.read<uint64_t>("the metadata count");
  // A tensor info takes at least 8 + 4 + 4 + 8 bytes, a key/value 8 + 4 + 1.
  if (!c.plausible_count(tensor_count, 24, "tensor", 8) || !c.plausible_count(kv_count, 13, "metadata", 16)) {
    return outcome();
  }

  for (uint64_t i = 0; i < kv_count; ++i) {
    const uint64_t at = c.offset();
    std::string key = c.read_string("a metadata key");
    const uint64_t type_at = c.offset();
    const uint32_t type = c.read<uint32_t>("a metadata type");
    if (!c.ok()) return outcome();
    if (!valid_type(type)) {
      c.fail(ErrorKind::InvalidHeader, "metadata \"" + key + "\" has unknown type " + std::to_string(type), type_at);
      return outcome();
    }
    GgufValue value;
    read_value(c, static_cast<GgufType>(type), value);
    if (!c.ok()) return outcome();
    if (header.metadata.count(key)) {
      c.fail(ErrorKind::InvalidHeader, "metadata key \"" + key + "\" appears twice", at);
      return outcome();
    }
    header.keys.push_back(key);
    header.metadata.emplace(std::move(key), std::move(value));
  }

  if (const GgufValue* alignment = header.find("general.alignment")) {
    if (alignment->is_array() || alignment->element_type != GgufType::U32 || alignment->integers.empty() ||
        alignment->integers[0] == 0 || (alignment->integers[0] & (alignment->integers[0] - 1)) != 0) {
      return make_error(ErrorKind::InvalidHeader,
                        std::string(file_name) + ": general.alignment must be a u32 power of two");
    }
    header.alignment = alignment->integers[0];
  }

  header.tensors.reserve(tensor_count);
  for (uint64_t i = 0; i < tensor_count; ++i) {
    const uint64_t at = c.offset();
    GgufTensor t;
    t.name = c.read_string("a tensor name");
    const uint32_t dims = c.read<uint32_t>("a tensor's dimension count");
    if (!c.ok()) return outcome();
    if (dims > kMaxDims) {
      c.fail(ErrorKind::InvalidHeader, "tensor \"" + t.name + "\" has " + std::to_string(dims) + " dimensions (at most 4)", at);
      return outcome();
    }
    t.shape.resize(dims);
    for (uint32_t d = 0; d < dims; ++d) t.shape[dims - 1 - d] = c.read<uint64_t>("a tensor dimension");
    t.ggml_type = c.read<uint32_t>("a tensor type");
    t.offset = c.read<uint64_t>("a tensor offset");
    if (!c.ok()) return outcome();
    header.tensors.push_back(std::move(t));
  }

  // The data section starts at the next multiple of the alignment.
  const uint64_t end = c.offset();
  const uint64_t padding = (header.alignment - end % header.alignment) % header.alignment;
  if (padding > file_bytes - end) {
    return make_error(ErrorKind::Truncated, std::string(file_name) + ": file ends in the padding before the data at byte " +
                                                std::to_string(end));
  }
  header.data_begin = end + padding;
  GgufPrefix done;
  done.header = std::move(header);
  return done;
}

const GgufValue* GgufHeader::find(std::string_view key) const {
  auto it = metadata.find(std::string(key));
  return it == metadata.end() ? nullptr : &it->second;
}

std::optional<uint64_t> GgufHeader::get_uint(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v || v->is_array() || v->integers.empty() || v->type == GgufType::BOOL) return std::nullopt;
  const bool is_signed = v->type == GgufType::I8 || v->type == GgufType::I16 || v->type == GgufType::I32 ||
                         v->type == GgufType::I64;
  if (is_signed && static_cast<int64_t>(v->integers[0]) < 0) return std::nullopt;
  return v->integers[0];
}

std::optional<double> GgufHeader::get_float(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v || v->is_array()) return std::nullopt;
  if (!v->floats.empty()) return v->floats[0];
  if (auto u = get_uint(key)) return static_cast<double>(*u);
  return std::nullopt;
}

std::optional<std::string> GgufHeader::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v || v->is_array() || v->strings.empty()) return std::nullopt;
  return v->strings[0];
}

std::optional<bool> GgufHeader::get_bool(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v || v->is_array() || v->type != GgufType::BOOL || v->integers.empty()) return std::nullopt;
  return v->integers[0] != 0;
}

const std::vector<std::string>* GgufHeader::get_strings(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v || !v->is_array() || v->element_type != GgufType::STRING) return nullptr;
  return &v->strings;
}

}  // namespace ws
