// The tokenizer's regex engine: Oniguruma (cmake/oniguruma.cmake), with the
// syntax and the iteration rules of Python `tokenizers` (its SysRegex is the
// onig crate's Regex, Ruby syntax, UTF-8), so a Split or Replace pattern
// matches here exactly what it matches there. Detail, not public.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace ws::tokenizer_detail {

class Regex {
 public:
  // Compiles an Oniguruma pattern. Errors: InvalidConfig with Oniguruma's
  // message and the pattern (a pattern it rejects, or text that is not UTF-8).
  static Result<Regex> compile(std::string_view pattern);
  // A pattern matching `literal` exactly (what tokenizers builds from a
  // {"String": ...} pattern: regex::escape, then the same engine).
  static Result<Regex> literal(std::string_view literal);

  // Every match in `text` as byte ranges, in the order of the onig crate's
  // find_iter: leftmost first; an empty match right after the previous match
  // is skipped (the search moves on by one character). `text` must be valid
  // UTF-8 (find_matches below takes any bytes).
  void find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>* matches) const;

  const std::string& pattern() const { return pattern_; }
  // The byte length of the text a literal() pattern matches; nullopt for a regex.
  std::optional<size_t> literal_length() const { return literal_length_; }

 private:
  struct Compiled;
  std::shared_ptr<const Compiled> compiled_;  // immutable once built: shared by copies, used concurrently
  std::string pattern_;
  std::optional<size_t> literal_length_;
};

// tokenizers' Pattern::find_matches: `text` cut into consecutive ranges, each
// a match (true) or the text between matches (false); an empty text is one
// empty non-match.
struct MatchPiece {
  size_t begin, end;
  bool is_match;
};
void find_matches(const Regex& regex, std::string_view text, std::vector<MatchPiece>* pieces);

}  // namespace ws::tokenizer_detail
