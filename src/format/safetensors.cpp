// The safetensors format: [u64 little-endian N][N bytes of JSON header][data].
// Validation follows the reference implementation (huggingface/safetensors):
// tensors sorted by offset must tile the data section exactly, from 0 to its
// end, with no hole and no overlap, and shape x element size == byte length.
#include <algorithm>

#include "format/format.h"
#include "format/json_strict.h"
#include "format/safetensors_plain_header.h"

namespace ws {

namespace {

using json = nlohmann::json;

std::string at_tensor(std::string_view file, std::string_view tensor) {
  return std::string(file) + ": tensor \"" + std::string(tensor) + "\"";
}

Error header_error(std::string message) { return make_error(ErrorKind::InvalidHeader, std::move(message)); }

bool checked_mul(uint64_t a, uint64_t b, uint64_t& out) { return !__builtin_mul_overflow(a, b, &out); }

template <typename Where>
Result<std::vector<uint64_t>> parse_shape(const json& value, const Where& where) {
  if (!value.is_array()) return header_error(where() + ": \"shape\" must be an array of non-negative integers");
  std::vector<uint64_t> shape;
  shape.reserve(value.size());
  for (const json& d : value) {
    if (!d.is_number_unsigned()) {
      return header_error(where() + ": \"shape\" must be an array of non-negative integers");
    }
    shape.push_back(d.get<uint64_t>());
  }
  return shape;
}

template <typename Where>
Status parse_offsets(const json& value, const Where& where, uint64_t& begin, uint64_t& end) {
  if (!value.is_array() || value.size() != 2 || !value[0].is_number_unsigned() ||
      !value[1].is_number_unsigned()) {
    return header_error(where() + ": \"data_offsets\" must be [begin, end] non-negative integers");
  }
  begin = value[0].get<uint64_t>();
  end = value[1].get<uint64_t>();
  return Status::ok();
}

Status parse_metadata(const json& value, std::string_view file_name, ShardInfo& shard) {
  if (value.is_null()) return Status::ok();
  if (!value.is_object()) {
    return header_error(std::string(file_name) + ": \"__metadata__\" must be an object of strings");
  }
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (!it.value().is_string()) {
      return header_error(std::string(file_name) + ": \"__metadata__\" value for \"" + it.key() +
                          "\" is not a string");
    }
    shard.metadata[it.key()] = it.value().get<std::string>();
  }
  return Status::ok();
}

// The general path: every header the plain reader declined, parsed as JSON
// values entry by entry; the errors name the tensor and what is wrong.
Status parse_general_header(std::string_view header_json, std::string_view file_name, size_t shard_index,
                            uint64_t data_begin, ShardInfo& shard, std::vector<TensorInfo>& tensors) {
  const std::string file(file_name);
  auto on_entry = [&](std::string name, json info) -> Status {
    if (name == "__metadata__") return parse_metadata(info, file_name, shard);
    // The message prefix is built only on error: 1M tensors, 1M strings saved.
    auto where = [&] { return at_tensor(file_name, name); };
    if (!info.is_object()) return header_error(where() + ": entry is not an object");
    auto dtype_it = info.find("dtype");
    auto shape_it = info.find("shape");
    auto offsets_it = info.find("data_offsets");
    if (dtype_it == info.end() || shape_it == info.end() || offsets_it == info.end()) {
      return header_error(where() + ": needs \"dtype\", \"shape\" and \"data_offsets\"");
    }
    if (!dtype_it->is_string()) return header_error(where() + ": \"dtype\" is not a string");
    Result<DType> dtype = parse_dtype(dtype_it->get_ref<const std::string&>());
    if (!dtype) return header_error(where() + ": " + dtype.error().message);
    WS_ASSIGN_OR_RETURN(std::vector<uint64_t> shape, parse_shape(*shape_it, where));
    uint64_t begin = 0, end = 0;
    WS_TRY(parse_offsets(*offsets_it, where, begin, end));
    tensors.push_back(TensorInfo{std::move(name), *dtype, std::move(shape), shard_index, begin, end});
    return Status::ok();
  };
  return detail::parse_json_object_members(header_json, ErrorKind::InvalidHeader,
                                           file + ": header (bytes 8.." + std::to_string(data_begin) + ")",
                                           on_entry);
}

}  // namespace

Result<uint64_t> parse_safetensors_prefix(const uint8_t prefix[8], uint64_t file_bytes,
                                          std::string_view file_name) {
  const std::string file(file_name);
  if (file_bytes < 8) {
    return make_error(ErrorKind::Truncated, file + ": " + std::to_string(file_bytes) +
                                                " bytes, too short for the 8-byte header length");
  }
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | prefix[i];
  if (n > kMaxSafetensorsHeaderBytes) {
    return make_error(ErrorKind::OutOfBudget, file + ": header length " + std::to_string(n) +
                                                  " at byte 0 exceeds the " +
                                                  std::to_string(kMaxSafetensorsHeaderBytes) + "-byte cap");
  }
  if (n > file_bytes - 8) {
    return make_error(ErrorKind::Truncated, file + ": header length " + std::to_string(n) +
                                                " at byte 0 runs past the end of the " +
                                                std::to_string(file_bytes) + "-byte file");
  }
  return n;
}

Status parse_safetensors_header(std::string_view header_json, uint64_t file_bytes,
                                std::string_view file_name, size_t shard_index, ShardInfo& shard,
                                std::vector<TensorInfo>& out) {
  const std::string file(file_name);
  const uint64_t data_begin = 8 + header_json.size();
  if (data_begin > file_bytes) {
    return make_error(ErrorKind::Truncated, file + ": header ends past the end of the file");
  }
  if (header_json.empty() || header_json.front() != '{') {
    return header_error(file + ": header (bytes 8.." + std::to_string(data_begin) +
                        ") does not start with '{'");
  }
  shard.file_name = file;
  shard.file_bytes = file_bytes;
  shard.data_begin = data_begin;
  shard.metadata.clear();

  // Entry by entry as the parser completes them: the header is never held as
  // one JSON value (linear time, memory a small multiple of the entries).
  // The plain reader takes what every writer produces; whatever it does not
  // take goes through the general parser, which accepts extra fields and
  // words the errors.
  std::vector<TensorInfo> tensors;
  if (!detail::read_plain_safetensors_header(header_json, shard_index, tensors, shard.metadata)) {
    tensors.clear();
    shard.metadata.clear();
    WS_TRY(parse_general_header(header_json, file_name, shard_index, data_begin, shard, tensors));
  }

  // Offsets are relative to the data section: sort, then prove they tile it.
  // Writers usually list entries in offset order already; checking is O(n).
  auto by_offset = [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  };
  if (!std::is_sorted(tensors.begin(), tensors.end(), by_offset)) {
    std::sort(tensors.begin(), tensors.end(), by_offset);
  }
  uint64_t expected_begin = 0;
  for (TensorInfo& t : tensors) {
    auto where = [&] { return at_tensor(file_name, t.name); };
    if (t.end < t.begin) {
      return header_error(where() + ": data_offsets [" + std::to_string(t.begin) + ", " +
                          std::to_string(t.end) + "] end before they begin");
    }
    if (t.begin != expected_begin) {
      return header_error(where() + ": data_offsets begin at " + std::to_string(t.begin) +
                          " but the previous tensor ends at " + std::to_string(expected_begin) +
                          (t.begin < expected_begin ? " (overlap)" : " (hole)"));
    }
    uint64_t numel = 1;
    for (uint64_t d : t.shape) {
      if (!checked_mul(numel, d, numel)) return header_error(where() + ": shape element count overflows 64 bits");
    }
    uint64_t bytes = 0;
    if (!checked_mul(numel, dtype_size(t.dtype), bytes)) {
      return header_error(where() + ": byte size overflows 64 bits");
    }
    if (bytes != t.end - t.begin) {
      return header_error(where() + ": shape x " + dtype_name(t.dtype) + " is " + std::to_string(bytes) +
                          " bytes but data_offsets span " + std::to_string(t.end - t.begin));
    }
    expected_begin = t.end;
    // Absolute file offsets from here on. No overflow: end <= file size is checked below.
    t.begin += data_begin;
    t.end += data_begin;
  }
  const uint64_t data_bytes = file_bytes - data_begin;
  if (expected_begin != data_bytes) {
    if (expected_begin > data_bytes) {
      return make_error(ErrorKind::Truncated,
                        file + ": tensors end at data byte " + std::to_string(expected_begin) + " (file byte " +
                            std::to_string(data_begin + expected_begin) + ") but the file has " +
                            std::to_string(file_bytes) + " bytes");
    }
    return header_error(file + ": " + std::to_string(data_bytes - expected_begin) +
                        " trailing bytes after the last tensor (file byte " +
                        std::to_string(data_begin + expected_begin) + ")");
  }
  out.insert(out.end(), std::make_move_iterator(tensors.begin()), std::make_move_iterator(tensors.end()));
  return Status::ok();
}

}  // namespace ws
