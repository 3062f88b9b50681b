// Unicode normalization (UAX #15): full decomposition, canonical ordering,
// then canonical composition for the C forms; Hangul syllables by arithmetic.
#include "tokenizer/normalize.h"

#include <algorithm>
#include <vector>

#include "tokenizer/unicode.h"

namespace ws::tokenizer_detail {
namespace {

struct CodepointMapping {
  uint32_t codepoint;
  uint32_t offset;  // into kMappingPool
  uint32_t length;
};
struct Composition {
  uint32_t first, second, composite;
};
struct CombiningClassRange {
  uint32_t first, last;
  uint32_t combining_class;
};
struct CodepointRange {
  uint32_t first, last;
};

#include "tokenizer/normalization_tables.inc"

constexpr uint32_t kHangulBase = 0xAC00, kLeadBase = 0x1100, kVowelBase = 0x1161, kTrailBase = 0x11A7;
constexpr uint32_t kVowelCount = 21, kTrailCount = 28, kSyllableCount = 11172;
constexpr uint32_t kInvalidByte = 0x80000000;  // marks a raw invalid byte in the code point buffer

template <size_t N>
const CodepointMapping* find_mapping(const CodepointMapping (&table)[N], uint32_t cp) {
  auto it = std::lower_bound(std::begin(table), std::end(table), cp,
                             [](const CodepointMapping& m, uint32_t value) { return m.codepoint < value; });
  return it != std::end(table) && it->codepoint == cp ? &*it : nullptr;
}

template <size_t N>
bool in_ranges(const CodepointRange (&table)[N], uint32_t cp) {
  auto it = std::upper_bound(std::begin(table), std::end(table), cp,
                             [](uint32_t value, const CodepointRange& r) { return value < r.first; });
  return it != std::begin(table) && cp <= std::prev(it)->last;
}

uint32_t combining_class(uint32_t cp) {
  if (cp < 0x300 || cp >= kInvalidByte) return 0;
  auto it = std::upper_bound(std::begin(kCombiningClasses), std::end(kCombiningClasses), cp,
                             [](uint32_t value, const CombiningClassRange& r) { return value < r.first; });
  if (it == std::begin(kCombiningClasses)) return 0;
  --it;
  return cp <= it->last ? it->combining_class : 0;
}

void decompose(uint32_t cp, bool compatibility, std::vector<uint32_t>* out) {
  if (cp >= kHangulBase && cp < kHangulBase + kSyllableCount) {
    const uint32_t index = cp - kHangulBase;
    out->push_back(kLeadBase + index / (kVowelCount * kTrailCount));
    out->push_back(kVowelBase + (index % (kVowelCount * kTrailCount)) / kTrailCount);
    if (index % kTrailCount) out->push_back(kTrailBase + index % kTrailCount);
    return;
  }
  const CodepointMapping* mapping = compatibility ? find_mapping(kCompatibilityDecompositions, cp) : nullptr;
  if (!mapping) mapping = find_mapping(kCanonicalDecompositions, cp);
  if (!mapping) {
    out->push_back(cp);
    return;
  }
  out->insert(out->end(), kMappingPool + mapping->offset, kMappingPool + mapping->offset + mapping->length);
}

// Stable sort of each run of non-starters by combining class.
void canonical_order(std::vector<uint32_t>* cps) {
  size_t i = 0;
  while (i < cps->size()) {
    if (combining_class((*cps)[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cps->size() && combining_class((*cps)[j]) != 0) ++j;
    std::stable_sort(cps->begin() + i, cps->begin() + j,
                     [](uint32_t a, uint32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }
}

uint32_t compose_pair(uint32_t first, uint32_t second) {
  // Hangul: L + V -> LV, LV + T -> LVT.
  if (first >= kLeadBase && first < kLeadBase + 19 && second >= kVowelBase && second < kVowelBase + kVowelCount) {
    return kHangulBase + ((first - kLeadBase) * kVowelCount + (second - kVowelBase)) * kTrailCount;
  }
  if (first >= kHangulBase && first < kHangulBase + kSyllableCount && (first - kHangulBase) % kTrailCount == 0 &&
      second > kTrailBase && second < kTrailBase + kTrailCount) {
    return first + (second - kTrailBase);
  }
  auto it = std::lower_bound(std::begin(kCompositions), std::end(kCompositions), std::make_pair(first, second),
                             [](const Composition& c, const std::pair<uint32_t, uint32_t>& key) {
                               return c.first != key.first ? c.first < key.first : c.second < key.second;
                             });
  if (it != std::end(kCompositions) && it->first == first && it->second == second) return it->composite;
  return 0;
}

// UAX #15 canonical composition: each character joins the last starter
// unless a character of the same or higher class sits between them.
void compose(std::vector<uint32_t>* cps) {
  if (cps->empty()) return;
  std::vector<uint32_t>& v = *cps;
  size_t starter = 0;
  bool have_starter = combining_class(v[0]) == 0 && v[0] < kInvalidByte;
  uint32_t last_class = have_starter ? 0 : 256;
  size_t write = 1;
  for (size_t read = 1; read < v.size(); ++read) {
    const uint32_t cp = v[read];
    const uint32_t cls = combining_class(cp);
    const bool blocked = write - 1 != starter && (last_class == 0 || last_class >= cls);
    if (have_starter && cp < kInvalidByte && !blocked) {
      if (uint32_t composite = compose_pair(v[starter], cp)) {
        v[starter] = composite;
        continue;
      }
    }
    if (cls == 0) {
      starter = write;
      have_starter = cp < kInvalidByte;
    }
    last_class = cls;
    v[write++] = cp;
  }
  v.resize(write);
}

std::vector<uint32_t> decode_all(std::string_view text) {
  std::vector<uint32_t> cps;
  cps.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    uint32_t cp;
    const size_t length = utf8_decode(text, pos, &cp);
    if (length == 1 && cp == 0xFFFD) cp = kInvalidByte | static_cast<uint8_t>(text[pos]);
    cps.push_back(cp);
    pos += length;
  }
  return cps;
}

std::string encode_all(const std::vector<uint32_t>& cps) {
  std::string out;
  out.reserve(cps.size());
  for (uint32_t cp : cps) {
    if (cp >= kInvalidByte) {
      out.push_back(static_cast<char>(cp & 0xFF));
    } else {
      utf8_append(cp, &out);
    }
  }
  return out;
}

bool is_ascii(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

}  // namespace

std::string unicode_normalize(std::string_view text, NormalForm form) {
  if (is_ascii(text)) return std::string(text);  // ASCII is in every normal form
  const bool compatibility = form == NormalForm::Nfkc || form == NormalForm::Nfkd;
  std::vector<uint32_t> decomposed;
  decomposed.reserve(text.size());
  for (uint32_t cp : decode_all(text)) {
    if (cp >= kInvalidByte) {
      decomposed.push_back(cp);
    } else {
      decompose(cp, compatibility, &decomposed);
    }
  }
  canonical_order(&decomposed);
  if (form == NormalForm::Nfc || form == NormalForm::Nfkc) compose(&decomposed);
  return encode_all(decomposed);
}

std::string unicode_lowercase(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    uint32_t cp;
    const size_t length = utf8_decode(text, pos, &cp);
    const CodepointMapping* mapping = length == 1 && cp == 0xFFFD ? nullptr : find_mapping(kLowercaseMappings, cp);
    if (mapping) {
      for (uint32_t i = 0; i < mapping->length; ++i) utf8_append(kMappingPool[mapping->offset + i], &out);
    } else {
      out.append(text.substr(pos, length));
    }
    pos += length;
  }
  return out;
}

std::string strip_combining_marks(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    uint32_t cp;
    const size_t length = utf8_decode(text, pos, &cp);
    if (cp < 0x300 || !in_ranges(kMarkRanges, cp)) out.append(text.substr(pos, length));
    pos += length;
  }
  return out;
}

bool is_punctuation(uint32_t codepoint) { return in_ranges(kPunctuationRanges, codepoint); }

namespace {

bool is_chinese_char(uint32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

}  // namespace

std::string bert_normalize(std::string_view text, const BertOptions& options) {
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    uint32_t cp;
    const size_t length = utf8_decode(text, pos, &cp);
    const bool invalid = length == 1 && cp == 0xFFFD;
    pos += length;
    if (invalid) {
      out.push_back(text[pos - 1]);
      continue;
    }
    if (options.clean_text) {
      const bool tab_or_newline = cp == '\t' || cp == '\n' || cp == '\r';
      if (cp == 0 || cp == 0xFFFD || (!tab_or_newline && in_ranges(kOtherRanges, cp))) continue;
      if (tab_or_newline || is_whitespace(cp)) cp = ' ';
    }
    if (options.handle_chinese_chars && is_chinese_char(cp)) {
      out.push_back(' ');
      utf8_append(cp, &out);
      out.push_back(' ');
    } else {
      utf8_append(cp, &out);
    }
  }
  if (options.strip_accents) {
    std::string decomposed = unicode_normalize(out, NormalForm::Nfd);
    out.clear();
    for (size_t pos = 0; pos < decomposed.size();) {
      uint32_t cp;
      const size_t length = utf8_decode(decomposed, pos, &cp);
      if (cp < 0x300 || !in_ranges(kNonspacingMarkRanges, cp)) out.append(decomposed, pos, length);
      pos += length;
    }
  }
  if (options.lowercase) out = unicode_lowercase(out);
  return out;
}

}  // namespace ws::tokenizer_detail
