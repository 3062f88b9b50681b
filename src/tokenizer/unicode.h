// UTF-8 and Unicode character classes for the tokenizer (detail, not public).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ws::tokenizer_detail {

// Decodes the code point at text[pos]. Returns its length in bytes (>= 1);
// an invalid or truncated sequence yields one byte and U+FFFD in *codepoint.
size_t utf8_decode(std::string_view text, size_t pos, uint32_t* codepoint);

// Length of the UTF-8 character starting at text[pos] (1 for an invalid byte).
inline size_t utf8_char_length(std::string_view text, size_t pos) {
  uint32_t unused;
  return utf8_decode(text, pos, &unused);
}

void utf8_append(uint32_t codepoint, std::string* out);

// Rust's String::from_utf8_lossy, which HF's decoders use: every maximal
// invalid subpart becomes one U+FFFD.
std::string utf8_lossy(std::string_view bytes);

// Whether `bytes` is valid UTF-8 in full.
bool utf8_valid(std::string_view bytes);

// Byte length of the whitespace run that starts `text`; byte offset where the
// whitespace run that ends `text` starts; the last code point of a non-empty `text`.
size_t leading_whitespace(std::string_view text);
size_t trailing_whitespace_start(std::string_view text);
uint32_t last_codepoint(std::string_view text);

// Unicode general category L* / N*; White_Space property (what Oniguruma's \s
// matches, which the GPT-2 regex uses).
bool is_letter(uint32_t codepoint);
bool is_number(uint32_t codepoint);
bool is_whitespace(uint32_t codepoint);

// The script the UnicodeScripts pre-tokenizer of Python `tokenizers` gives a
// code point, as a small id (0 = "Any": a space, and code points its Unicode
// 9.0 table lacks); Hiragana, Katakana and U+30FC count as Han.
// Tables: gen_script_tables.py.
constexpr uint8_t kScriptAnyId = 0;
uint8_t tokenizers_script(uint32_t codepoint);

}  // namespace ws::tokenizer_detail
