// The GPT-2 pre-tokenizer regex, hand-written (no regex engine in the wasm
// build):
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// Alternatives are tried in order at each position, like Oniguruma does; every
// character falls in one class (whitespace, letter, number, other), so the
// matches tile the text.
#include "tokenizer/pipeline.h"
#include "tokenizer/unicode.h"

namespace ws::tokenizer_detail {
namespace {

enum class CharClass { Whitespace, Letter, Number, Other };

CharClass classify(uint32_t cp) {
  if (is_whitespace(cp)) return CharClass::Whitespace;
  if (is_letter(cp)) return CharClass::Letter;
  if (is_number(cp)) return CharClass::Number;
  return CharClass::Other;
}

struct Cursor {
  std::string_view text;
  // Class and byte length of the character at `pos` (text.size() -> none).
  bool at(size_t pos, CharClass* cls, size_t* len) const {
    if (pos >= text.size()) return false;
    uint32_t cp;
    *len = utf8_decode(text, pos, &cp);
    *cls = classify(cp);
    return true;
  }
  // End of the run of `cls` characters starting at `pos`.
  size_t run_end(size_t pos, CharClass cls) const {
    CharClass c;
    size_t len;
    while (at(pos, &c, &len) && c == cls) pos += len;
    return pos;
  }
};

size_t contraction_length(std::string_view rest) {
  if (rest.size() < 2 || rest[0] != '\'') return 0;
  static constexpr std::string_view kSuffixes[] = {"s", "t", "re", "ve", "m", "ll", "d"};
  for (std::string_view suffix : kSuffixes) {
    if (rest.substr(1, suffix.size()) == suffix) return 1 + suffix.size();
  }
  return 0;
}

// Length of the match at `pos` (always >= 1 while pos < text.size()).
size_t match_at(const Cursor& cursor, size_t pos) {
  std::string_view text = cursor.text;
  if (size_t n = contraction_length(text.substr(pos))) return n;

  CharClass cls = CharClass::Other;
  size_t len = 1;
  cursor.at(pos, &cls, &len);
  // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional ASCII space, then a run.
  if (text[pos] == ' ') {
    CharClass next_cls;
    size_t next_len;
    if (cursor.at(pos + 1, &next_cls, &next_len) && next_cls != CharClass::Whitespace) {
      return cursor.run_end(pos + 1, next_cls) - pos;
    }
  }
  if (cls != CharClass::Whitespace) return cursor.run_end(pos, cls) - pos;

  // `\s+(?!\S)`: the whitespace run, less its last character when a
  // non-space follows (that one then leads the next word); else `\s+`.
  size_t end = cursor.run_end(pos, CharClass::Whitespace);
  if (end == text.size()) return end - pos;
  size_t last = pos;
  size_t p = pos;
  while (p < end) {
    last = p;
    p += utf8_char_length(text, p);
  }
  if (last > pos) return last - pos;
  return end - pos;
}

}  // namespace

void split_gpt2(std::string_view text, std::vector<std::string_view>* words) {
  Cursor cursor{text};
  size_t pos = 0;
  while (pos < text.size()) {
    size_t n = match_at(cursor, pos);
    words->push_back(text.substr(pos, n));
    pos += n;
  }
}

}  // namespace ws::tokenizer_detail
