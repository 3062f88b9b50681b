// The darts-clone lookups follow spm_precompiled's DoubleArray (unit layout:
// bits 0-7 label, bit 8 has_leaf, bit 9 offset scale, bits 10-31 offset; a
// leaf unit's low 31 bits are its value), with every index checked.
#include "tokenizer/precompiled.h"

#include <algorithm>

#include "tokenizer/unicode.h"

namespace ws::tokenizer_detail {

namespace {

Error charsmap_error(const std::string& message) {
  return make_error(ErrorKind::InvalidConfig, "tokenizer.json: normalizer Precompiled: " + message);
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// RFC 4648 base64 with optional '=' padding (what serde writes for Vec<u8>).
Result<std::string> decode_base64(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  out.reserve(text.size() / 4 * 3 + 3);
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    const int v = base64_value(c);
    if (v < 0) return charsmap_error("precompiled_charsmap is not base64");
    bits = (bits << 6) | static_cast<uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xFF);
    }
  }
  if (count >= 6) return charsmap_error("precompiled_charsmap is not base64 (truncated)");
  return out;
}

constexpr bool has_leaf(uint32_t unit) { return ((unit >> 8) & 1) == 1; }
constexpr uint32_t value_of(uint32_t unit) { return unit & ((1u << 31) - 1); }
constexpr uint32_t label_of(uint32_t unit) { return unit & ((1u << 31) | 0xFF); }
constexpr size_t offset_of(uint32_t unit) {
  return static_cast<size_t>((static_cast<uint64_t>(unit >> 10)) << ((unit & (1u << 9)) >> 6));
}

}  // namespace

Result<PrecompiledCharsmap> PrecompiledCharsmap::from_base64(std::string_view base64) {
  WS_ASSIGN_OR_RETURN(std::string bytes, decode_base64(base64));
  if (bytes.size() < 4) return charsmap_error("precompiled_charsmap shorter than its 4-byte header");
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  const uint32_t trie_bytes = static_cast<uint32_t>(b[0]) | static_cast<uint32_t>(b[1]) << 8 |
                              static_cast<uint32_t>(b[2]) << 16 | static_cast<uint32_t>(b[3]) << 24;
  if (trie_bytes % 4 != 0 || trie_bytes > bytes.size() - 4) {
    return charsmap_error("trie size " + std::to_string(trie_bytes) + " does not fit the " +
                          std::to_string(bytes.size()) + "-byte charsmap");
  }
  PrecompiledCharsmap map;
  map.trie_.resize(trie_bytes / 4);
  for (size_t i = 0; i < map.trie_.size(); ++i) {
    const unsigned char* u = b + 4 + 4 * i;
    map.trie_[i] = static_cast<uint32_t>(u[0]) | static_cast<uint32_t>(u[1]) << 8 | static_cast<uint32_t>(u[2]) << 16 |
                   static_cast<uint32_t>(u[3]) << 24;
  }
  map.replacements_ = bytes.substr(4 + trie_bytes);
  if (!utf8_valid(map.replacements_)) return charsmap_error("replacement strings are not UTF-8");
  for (size_t start = 0; start < map.replacements_.size();) {
    size_t end = map.replacements_.find('\0', start);
    if (end == std::string::npos) end = map.replacements_.size();
    map.longest_replacement_ = std::max(map.longest_replacement_, end - start);
    start = end + 1;
  }
  WS_ASSIGN_OR_RETURN(Regex graphemes, Regex::compile("\\X"));
  map.graphemes_ = std::move(graphemes);
  return map;
}

std::optional<std::string_view> PrecompiledCharsmap::transform(std::string_view chunk) const {
  if (trie_.empty()) return std::nullopt;
  size_t node = offset_of(trie_[0]);
  for (unsigned char c : chunk) {
    if (c == 0) break;
    node ^= c;
    if (node >= trie_.size()) return std::nullopt;
    const uint32_t unit = trie_[node];
    if (label_of(unit) != c) return std::nullopt;
    node ^= offset_of(unit);
    if (has_leaf(unit)) {
      // The first (shortest) prefix with a value is the one the crate uses.
      if (node >= trie_.size()) return std::nullopt;
      const size_t start = value_of(trie_[node]);
      if (start > replacements_.size()) return std::nullopt;
      size_t end = replacements_.find('\0', start);
      if (end == std::string::npos) end = replacements_.size();
      const std::string_view out(replacements_.data() + start, end - start);
      // The crate slices a str here: a start inside a character would panic
      // there; we treat it as no entry.
      if (!utf8_valid(out)) return std::nullopt;
      return out;
    }
  }
  return std::nullopt;
}

std::string PrecompiledCharsmap::normalize(std::string_view text) const {
  std::string out;
  out.reserve(text.size());
  std::vector<std::pair<size_t, size_t>> clusters;
  // Text from a caller may hold invalid bytes (Python's str cannot): then
  // character by character, an invalid byte kept as it is.
  if (utf8_valid(text)) graphemes_->find_all(text, &clusters);
  size_t covered = 0;
  auto by_character = [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end;) {
      const size_t n = std::min(utf8_char_length(text, i), end - i);
      const std::string_view ch = text.substr(i, n);
      if (std::optional<std::string_view> to = transform(ch)) out += *to;
      else out += ch;
      i += n;
    }
  };
  for (const auto& [begin, end] : clusters) {
    by_character(covered, begin);  // \X matches every character: nothing, normally
    const std::string_view cluster = text.substr(begin, end - begin);
    std::optional<std::string_view> whole = cluster.size() < 6 ? transform(cluster) : std::nullopt;
    if (whole) out += *whole;
    else by_character(begin, end);
    covered = end;
  }
  by_character(covered, text.size());
  return out;
}

}  // namespace ws::tokenizer_detail
