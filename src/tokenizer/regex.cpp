// Regex over Oniguruma: compile once, search many times. onig_search with a
// region per call is reentrant, so one compiled pattern serves all threads.
#include "tokenizer/regex.h"

#include <oniguruma.h>

#include <mutex>

#include "tokenizer/unicode.h"

namespace ws::tokenizer_detail {

struct Regex::Compiled {
  OnigRegex regex = nullptr;
  ~Compiled() {
    if (regex) onig_free(regex);
  }
};

namespace {

void initialize_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    OnigEncoding encodings[] = {ONIG_ENCODING_UTF8};
    onig_initialize(encodings, 1);
    // Bounds for hostile files (the defaults allow a 4096-deep pattern, too
    // deep for a wasm stack, and an unbounded search): real tokenizer patterns
    // nest a few levels and match in linear time, far inside both. A search
    // that hits the retry limit ends (no further matches) instead of hanging.
    onig_set_parse_depth_limit(256);
    onig_set_retry_limit_in_search(100000000);
  });
}

}  // namespace

Result<Regex> Regex::compile(std::string_view pattern) {
  initialize_once();
  if (!utf8_valid(pattern)) {
    return make_error(ErrorKind::InvalidConfig, "tokenizer.json: regex pattern is not valid UTF-8");
  }
  auto compiled = std::make_shared<Compiled>();
  OnigErrorInfo info{};
  const auto* begin = reinterpret_cast<const OnigUChar*>(pattern.data());
  // ONIG_SYNTAX_RUBY and no options: what onig::Regex::new uses.
  int code = onig_new(&compiled->regex, begin, begin + pattern.size(), ONIG_OPTION_NONE, ONIG_ENCODING_UTF8,
                      ONIG_SYNTAX_RUBY, &info);
  if (code != ONIG_NORMAL) {
    compiled->regex = nullptr;
    OnigUChar message[ONIG_MAX_ERROR_MESSAGE_LEN];
    onig_error_code_to_str(message, code, &info);
    return make_error(ErrorKind::InvalidConfig, "tokenizer.json: regex '" + std::string(pattern) +
                                                    "': " + reinterpret_cast<const char*>(message));
  }
  Regex regex;
  regex.compiled_ = std::move(compiled);
  regex.pattern_ = std::string(pattern);
  return regex;
}

Result<Regex> Regex::literal(std::string_view literal) {
  // Escape everything but ASCII letters, digits and non-ASCII bytes: a
  // backslash before any other ASCII character makes it literal in Ruby syntax.
  std::string escaped;
  for (char c : literal) {
    const auto byte = static_cast<unsigned char>(c);
    const bool plain = byte >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!plain) {
      if (c == '\n') { escaped += "\\n"; continue; }
      if (c == '\r') { escaped += "\\r"; continue; }
      if (c == '\t') { escaped += "\\t"; continue; }
      if (byte < 0x20 || byte == 0x7F) {
        static const char* hex = "0123456789abcdef";
        escaped += "\\x";
        escaped += hex[byte >> 4];
        escaped += hex[byte & 15];
        continue;
      }
      escaped += '\\';
    }
    escaped += c;
  }
  WS_ASSIGN_OR_RETURN(Regex regex, compile(escaped));
  regex.pattern_ = std::string(literal);
  regex.literal_length_ = literal.size();
  return regex;
}

void Regex::find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>* matches) const {
  const auto* start = reinterpret_cast<const OnigUChar*>(text.data());
  const auto* end = start + text.size();
  OnigRegion* region = onig_region_new();
  size_t from = 0;
  bool have_last = false;
  size_t last_end = 0;
  while (from <= text.size()) {
    onig_region_clear(region);
    const int at = onig_search(compiled_->regex, start, end, start + from, end, region, ONIG_OPTION_NONE);
    if (at < 0) break;  // ONIG_MISMATCH, or an error (a retry limit): no further match
    const size_t match_begin = static_cast<size_t>(region->beg[0]);
    const size_t match_end = static_cast<size_t>(region->end[0]);
    if (match_begin == match_end && have_last && last_end == match_end) {
      // onig crate: no empty match right after the previous one; step one character.
      if (from >= text.size()) break;
      uint32_t codepoint;
      const size_t length = utf8_decode(text, from, &codepoint);
      from += length ? length : 1;
      continue;
    }
    matches->emplace_back(match_begin, match_end);
    from = match_end;
    have_last = true;
    last_end = match_end;
  }
  onig_region_free(region, 1);
}

namespace {

// Byte offset of the first invalid UTF-8 byte at or after `from`, or text.size().
size_t next_invalid_byte(std::string_view text, size_t from) {
  while (from < text.size()) {
    uint32_t codepoint;
    const size_t length = utf8_decode(text, from, &codepoint);
    if (length == 1 && codepoint == 0xFFFD) return from;
    from += length;
  }
  return text.size();
}

}  // namespace

void find_matches(const Regex& regex, std::string_view text, std::vector<MatchPiece>* pieces) {
  if (text.empty()) {
    pieces->push_back(MatchPiece{0, 0, false});
    return;
  }
  // Oniguruma needs valid UTF-8 (Rust strings always are): the regex runs on
  // each valid run; an invalid byte is text between matches.
  std::vector<std::pair<size_t, size_t>> matches;
  for (size_t run = 0; run < text.size();) {
    const size_t run_end = next_invalid_byte(text, run);
    std::vector<std::pair<size_t, size_t>> in_run;
    if (run_end > run) regex.find_all(text.substr(run, run_end - run), &in_run);
    for (const auto& [begin, end] : in_run) matches.emplace_back(run + begin, run + end);
    run = run_end + 1;
  }
  size_t previous = 0;
  for (const auto& [begin, end] : matches) {
    if (previous != begin) pieces->push_back(MatchPiece{previous, begin, false});
    pieces->push_back(MatchPiece{begin, end, true});
    previous = end;
  }
  if (previous != text.size()) pieces->push_back(MatchPiece{previous, text.size(), false});
}

}  // namespace ws::tokenizer_detail
