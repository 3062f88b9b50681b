// The Llama 3 / Qwen2 pre-tokenizer regex (tiktoken's cl100k family),
// hand-written like the GPT-2 one:
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//    ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// Qwen2 differs only in \p{N} (one digit per piece): max_digits = 1.
#include "tokenizer/pipeline.h"
#include "tokenizer/unicode.h"

namespace ws::tokenizer_detail {
namespace {

enum class CharClass { Whitespace, Letter, Number, Other };

struct Char {
  CharClass cls;
  uint32_t cp;
  size_t len;
};

Char char_at(std::string_view text, size_t pos) {
  Char c{CharClass::Other, 0, 0};
  if (pos >= text.size()) return c;
  c.len = utf8_decode(text, pos, &c.cp);
  if (is_whitespace(c.cp)) c.cls = CharClass::Whitespace;
  else if (is_letter(c.cp)) c.cls = CharClass::Letter;
  else if (is_number(c.cp)) c.cls = CharClass::Number;
  return c;
}

bool is_newline(uint32_t cp) { return cp == '\r' || cp == '\n'; }

size_t run_end(std::string_view text, size_t pos, CharClass cls) {
  for (Char c = char_at(text, pos); c.len > 0 && c.cls == cls; c = char_at(text, pos)) pos += c.len;
  return pos;
}

size_t contraction_length(std::string_view rest) {
  if (rest.size() < 2 || rest[0] != '\'') return 0;
  const auto lower = [&](size_t i) { return i < rest.size() ? static_cast<char>(rest[i] | 0x20) : '\0'; };
  char a = lower(1), b = lower(2);
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  return 0;
}

size_t match_at(std::string_view text, size_t pos, size_t max_digits) {
  if (size_t n = contraction_length(text.substr(pos))) return n;
  Char c = char_at(text, pos);
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (c.cls == CharClass::Letter) return run_end(text, pos, CharClass::Letter) - pos;
  if (c.cls != CharClass::Number && !is_newline(c.cp) && char_at(text, pos + c.len).cls == CharClass::Letter &&
      char_at(text, pos + c.len).len > 0) {
    return run_end(text, pos + c.len, CharClass::Letter) - pos;
  }
  // \p{N}{1,max_digits}
  if (c.cls == CharClass::Number) {
    size_t end = pos;
    for (size_t n = 0; n < max_digits; ++n) {
      Char d = char_at(text, end);
      if (d.len == 0 || d.cls != CharClass::Number) break;
      end += d.len;
    }
    return end - pos;
  }
  // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
  size_t other_start = pos;
  if (c.cp == ' ' && char_at(text, pos + 1).len > 0 && char_at(text, pos + 1).cls == CharClass::Other) {
    other_start = pos + 1;
  }
  if (char_at(text, other_start).cls == CharClass::Other) {
    size_t end = run_end(text, other_start, CharClass::Other);
    while (end < text.size() && is_newline(static_cast<uint8_t>(text[end]))) ++end;
    return end - pos;
  }
  // Whitespace from here on. `\s*[\r\n]+`: up to the run's last newline.
  size_t end = run_end(text, pos, CharClass::Whitespace);
  size_t last_newline_end = 0;
  size_t last_start = pos;
  for (size_t p = pos; p < end;) {
    Char w = char_at(text, p);
    if (is_newline(w.cp)) last_newline_end = p + w.len;
    last_start = p;
    p += w.len;
  }
  if (last_newline_end > 0) return last_newline_end - pos;
  // `\s+(?!\S)`, else `\s+`.
  if (end == text.size() || last_start == pos) return end - pos;
  return last_start - pos;
}

}  // namespace

void split_llama3(std::string_view text, size_t max_digits, std::vector<std::string_view>* words) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t n = match_at(text, pos, max_digits);
    words->push_back(text.substr(pos, n));
    pos += n;
  }
}

}  // namespace ws::tokenizer_detail
