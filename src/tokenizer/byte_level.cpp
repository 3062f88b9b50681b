// GPT-2's reversible byte <-> printable character table (bytes_to_unicode in
// openai/gpt-2 encoder.py): printable Latin-1 bytes map to themselves, the
// other 68 bytes to U+0100 onwards, so every byte string becomes visible text.
#include "tokenizer/pipeline.h"
#include "tokenizer/unicode.h"

namespace ws::tokenizer_detail {
namespace {

struct ByteTables {
  std::array<std::string, 256> to_text;
  std::array<int16_t, 0x200> from_codepoint;  // all mapped code points are < 0x144
};

bool printable(int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); }

const ByteTables& tables() {
  static const ByteTables built = [] {
    ByteTables t;
    t.from_codepoint.fill(-1);
    uint32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      uint32_t cp = printable(b) ? static_cast<uint32_t>(b) : next++;
      utf8_append(cp, &t.to_text[b]);
      t.from_codepoint[cp] = static_cast<int16_t>(b);
    }
    return t;
  }();
  return built;
}

}  // namespace

const std::array<std::string, 256>& byte_to_unicode() { return tables().to_text; }

int byte_from_unicode(uint32_t codepoint) {
  if (codepoint >= tables().from_codepoint.size()) return -1;
  return tables().from_codepoint[codepoint];
}

}  // namespace ws::tokenizer_detail
