#include "format/safetensors_plain_header.h"

#include <functional>

#include <nlohmann/json.hpp>

namespace ws::detail {

namespace {

using json = nlohmann::json;

// Where the next event lands. Each event either moves to the next state or
// rejects (returns false, which also stops nlohmann's parser).
enum class At { Start, Root, Metadata, MetadataObject, Entry, EntryObject, Dtype, Shape, ShapeArray, Offsets, OffsetsArray, End };

class PlainHeaderSax {
 public:
  PlainHeaderSax(size_t shard_index, std::vector<TensorInfo>& tensors, std::map<std::string, std::string>& metadata)
      : shard_index_(shard_index), tensors_(tensors), metadata_(metadata) {}

  bool null() {
    if (at_ != At::Metadata) return false;
    at_ = At::Root;
    return true;
  }
  bool boolean(bool) { return false; }
  bool number_integer(json::number_integer_t) { return false; }  // negative
  bool number_float(json::number_float_t, const std::string&) { return false; }
  bool binary(json::binary_t&) { return false; }
  bool number_unsigned(json::number_unsigned_t v) {
    if (at_ == At::ShapeArray) {
      entry().shape.push_back(v);
      return true;
    }
    if (at_ != At::OffsetsArray || offsets_seen_ == 2) return false;
    (offsets_seen_++ == 0 ? entry().begin : entry().end) = v;
    return true;
  }
  bool string(json::string_t& v) {
    if (at_ == At::MetadataObject) return metadata_.emplace(std::move(metadata_key_), std::move(v)).second;
    if (at_ != At::Dtype) return false;
    Result<DType> dtype = parse_dtype(v);
    if (!dtype) return false;
    entry().dtype = *dtype;
    at_ = At::EntryObject;
    return true;
  }
  bool start_object(size_t) {
    if (at_ == At::Start) return to(At::Root);
    if (at_ == At::Metadata) return to(At::MetadataObject);
    if (at_ != At::Entry) return false;
    fields_seen_ = 0;
    return to(At::EntryObject);
  }
  bool end_object() {
    if (at_ == At::Root) return to(At::End);
    if (at_ == At::MetadataObject) return to(At::Root);
    if (at_ != At::EntryObject || fields_seen_ != kAllFields) return false;
    return to(At::Root);
  }
  bool start_array(size_t) {
    if (at_ == At::Shape) return to(At::ShapeArray);
    if (at_ != At::Offsets) return false;
    offsets_seen_ = 0;
    return to(At::OffsetsArray);
  }
  bool end_array() {
    if (at_ == At::ShapeArray) return to(At::EntryObject);
    if (at_ != At::OffsetsArray || offsets_seen_ != 2) return false;
    return to(At::EntryObject);
  }
  bool key(json::string_t& k) {
    if (at_ == At::MetadataObject) {
      metadata_key_ = std::move(k);
      return true;
    }
    if (at_ == At::Root) {
      if (k == "__metadata__") {
        if (metadata_seen_) return false;
        metadata_seen_ = true;
        return to(At::Metadata);
      }
      tensors_.push_back(TensorInfo{std::move(k), DType::F32, {}, shard_index_, 0, 0});
      return to(At::Entry);
    }
    if (at_ != At::EntryObject) return false;
    if (k == "dtype") return field(kDtype, At::Dtype);
    if (k == "shape") return field(kShape, At::Shape);
    if (k == "data_offsets") return field(kOffsets, At::Offsets);
    return false;
  }
  bool parse_error(size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

  bool finished() const { return at_ == At::End; }

 private:
  static constexpr unsigned kDtype = 1, kShape = 2, kOffsets = 4, kAllFields = 7;

  size_t shard_index_;
  std::vector<TensorInfo>& tensors_;
  std::map<std::string, std::string>& metadata_;
  At at_ = At::Start;
  unsigned fields_seen_ = 0;
  int offsets_seen_ = 0;
  bool metadata_seen_ = false;
  std::string metadata_key_;

  TensorInfo& entry() { return tensors_.back(); }
  bool to(At next) {
    at_ = next;
    return true;
  }
  bool field(unsigned bit, At next) {
    if (fields_seen_ & bit) return false;
    fields_seen_ |= bit;
    return to(next);
  }
};

// Duplicate names, found once every name sits still in `tensors`: an
// open-addressing table of indices, no allocation per name.
bool has_duplicate_name(const std::vector<TensorInfo>& tensors, size_t first) {
  const size_t n = tensors.size() - first;
  size_t capacity = 16;
  while (capacity < 2 * n) capacity *= 2;
  std::vector<uint32_t> slots(capacity, 0);  // index + 1; 0 = empty
  const std::hash<std::string_view> hash;
  for (size_t i = 0; i < n; ++i) {
    const std::string& name = tensors[first + i].name;
    for (size_t s = hash(name) & (capacity - 1);; s = (s + 1) & (capacity - 1)) {
      if (slots[s] == 0) {
        slots[s] = static_cast<uint32_t>(i + 1);
        break;
      }
      if (tensors[first + slots[s] - 1].name == name) return true;
    }
  }
  return false;
}

}  // namespace

bool read_plain_safetensors_header(std::string_view header_json, size_t shard_index,
                                   std::vector<TensorInfo>& tensors, std::map<std::string, std::string>& metadata) {
  // The indices above are 32-bit; a header is capped far below 4G entries.
  if (header_json.size() >= (size_t{1} << 32) || header_json.find('\0') != std::string_view::npos) return false;
  const size_t first = tensors.size();
  PlainHeaderSax sax(shard_index, tensors, metadata);
  const bool ok = json::sax_parse(header_json.begin(), header_json.end(), &sax, json::input_format_t::json,
                                  /*strict=*/true);
  return ok && sax.finished() && !has_duplicate_name(tensors, first);
}

}  // namespace ws::detail
