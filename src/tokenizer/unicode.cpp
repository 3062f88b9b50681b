#include "tokenizer/unicode.h"

#include <algorithm>
#include <iterator>

namespace ws::tokenizer_detail {
namespace {

struct CodepointRange {
  uint32_t first;
  uint32_t last;
};

#include "tokenizer/unicode_tables.inc"

struct ScriptRange {
  uint32_t first;
  uint32_t last;
  uint8_t script;
};

#include "tokenizer/script_tables.inc"
constexpr uint8_t kScriptAny = 0;

template <size_t N>
bool in_ranges(const CodepointRange (&ranges)[N], uint32_t codepoint) {
  const CodepointRange* end = ranges + N;
  const CodepointRange* it = std::upper_bound(
      ranges, end, codepoint, [](uint32_t cp, const CodepointRange& r) { return cp < r.first; });
  if (it == ranges) return false;
  --it;
  return codepoint <= it->last;
}

constexpr uint32_t kReplacement = 0xFFFD;

// Length of a valid sequence at text[pos], or 0 with *valid_prefix set to the
// length of the maximal invalid subpart (Unicode 3.9, "U+FFFD substitution of
// maximal subparts", which Rust and WHATWG follow).
size_t valid_sequence(std::string_view text, size_t pos, uint32_t* codepoint, size_t* invalid_len) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  uint8_t b0 = byte(pos);
  *invalid_len = 1;
  if (b0 < 0x80) {
    *codepoint = b0;
    return 1;
  }
  size_t need;
  uint32_t cp;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  for (size_t k = 1; k <= need; ++k) {
    if (pos + k >= text.size()) return 0;
    uint8_t b = byte(pos + k);
    uint8_t min = k == 1 ? lo : 0x80, max = k == 1 ? hi : 0xBF;
    if (b < min || b > max) return 0;
    cp = (cp << 6) | (b & 0x3F);
    *invalid_len = k + 1;
  }
  *codepoint = cp;
  return need + 1;
}

}  // namespace

size_t utf8_decode(std::string_view text, size_t pos, uint32_t* codepoint) {
  size_t invalid_len;
  size_t len = valid_sequence(text, pos, codepoint, &invalid_len);
  if (len == 0) {
    *codepoint = kReplacement;
    return 1;
  }
  return len;
}

void utf8_append(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t pos = 0;
  while (pos < bytes.size()) {
    uint32_t cp;
    size_t invalid_len;
    size_t len = valid_sequence(bytes, pos, &cp, &invalid_len);
    if (len == 0) {
      utf8_append(kReplacement, &out);
      pos += invalid_len;
    } else {
      out.append(bytes.substr(pos, len));
      pos += len;
    }
  }
  return out;
}

bool utf8_valid(std::string_view bytes) {
  size_t pos = 0;
  while (pos < bytes.size()) {
    uint32_t cp;
    size_t invalid_len;
    size_t len = valid_sequence(bytes, pos, &cp, &invalid_len);
    if (len == 0) return false;
    pos += len;
  }
  return true;
}

size_t leading_whitespace(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    uint32_t cp;
    size_t len = utf8_decode(text, pos, &cp);
    if (!is_whitespace(cp)) break;
    pos += len;
  }
  return pos;
}

namespace {
// Start of the character that ends at `end` (exclusive); an invalid tail is one byte.
size_t previous_char_start(std::string_view text, size_t end) {
  size_t start = end - 1;
  while (start > 0 && end - start < 4 && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80) --start;
  uint32_t cp;
  if (start + utf8_decode(text, start, &cp) != end) start = end - 1;
  return start;
}
}  // namespace

size_t trailing_whitespace_start(std::string_view text) {
  size_t pos = text.size();
  while (pos > 0) {
    size_t start = previous_char_start(text, pos);
    uint32_t cp;
    utf8_decode(text, start, &cp);
    if (!is_whitespace(cp)) break;
    pos = start;
  }
  return pos;
}

uint32_t last_codepoint(std::string_view text) {
  if (text.empty()) return 0;
  uint32_t cp;
  utf8_decode(text, previous_char_start(text, text.size()), &cp);
  return cp;
}

bool is_letter(uint32_t cp) {
  if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
  return in_ranges(kLetterRanges, cp);
}

bool is_number(uint32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  return in_ranges(kNumberRanges, cp);
}

bool is_whitespace(uint32_t cp) {
  // The Unicode White_Space property (PropList.txt); stable for many versions.
  switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

uint8_t tokenizers_script(uint32_t cp) {
  // tokenizers' fixed_script: the long vowel mark and the kana count as Han,
  // a space as Any.
  if (cp == 0x30FC) return kScriptHan;
  if (cp == ' ') return kScriptAny;
  const ScriptRange* end = kScriptRanges + std::size(kScriptRanges);
  const ScriptRange* it = std::upper_bound(kScriptRanges, end, cp,
                                           [](uint32_t c, const ScriptRange& r) { return c < r.first; });
  if (it == kScriptRanges || cp > (it - 1)->last) return kScriptAny;
  const uint8_t script = (it - 1)->script;
  return script == kScriptHiragana || script == kScriptKatakana ? kScriptHan : script;
}

}  // namespace ws::tokenizer_detail
