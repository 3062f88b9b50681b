// Added tokens: matched in the text before the model sees it
// (tokenizers/src/tokenizer/added_vocabulary.rs).
#include <algorithm>

#include "tokenizer/pipeline.h"
#include "tokenizer/unicode.h"

namespace ws::tokenizer_detail {

void AddedTokenMatcher::build(std::vector<std::string> patterns) {
  patterns_ = std::move(patterns);
  for (auto& list : by_first_byte_) list.clear();
  for (size_t i = 0; i < patterns_.size(); ++i) {
    if (patterns_[i].empty()) continue;
    by_first_byte_[static_cast<uint8_t>(patterns_[i][0])].push_back(i);
  }
  for (auto& list : by_first_byte_) {
    std::stable_sort(list.begin(), list.end(),
                     [&](size_t a, size_t b) { return patterns_[a].size() > patterns_[b].size(); });
  }
}

bool AddedTokenMatcher::find(std::string_view text, size_t from, size_t* begin, size_t* end,
                             size_t* index) const {
  for (size_t pos = from; pos < text.size(); ++pos) {
    for (size_t i : by_first_byte_[static_cast<uint8_t>(text[pos])]) {
      const std::string& pattern = patterns_[i];
      if (text.compare(pos, pattern.size(), pattern) == 0) {
        *begin = pos;
        *end = pos + pattern.size();
        *index = i;
        return true;
      }
    }
  }
  return false;
}

namespace {

// Rust regex's \w, approximately: letters, numbers and '_'.
bool is_word_char(uint32_t cp) { return cp == '_' || is_letter(cp) || is_number(cp); }

}  // namespace

void split_on_added_tokens(std::string_view text, const AddedTokenMatcher& matcher,
                           const std::vector<size_t>& token_index, const std::vector<AddedToken>& tokens,
                           std::vector<Segment>* segments) {
  size_t done = 0;  // text before this is in `segments`
  size_t search_from = 0;
  size_t begin, end, index;
  while (!matcher.empty() && matcher.find(text, search_from, &begin, &end, &index)) {
    search_from = end;
    const AddedToken& token = tokens[token_index[index]];
    if (token.single_word) {
      bool word_before = begin > 0 && is_word_char(last_codepoint(text.substr(0, begin)));
      uint32_t next_cp = 0;
      bool word_after = end < text.size() && (utf8_decode(text, end, &next_cp), is_word_char(next_cp));
      if (word_before || word_after) continue;
    }
    if (token.lstrip) begin = std::max(trailing_whitespace_start(text.substr(0, begin)), done);
    if (token.rstrip) end += leading_whitespace(text.substr(end));
    if (done < begin) segments->push_back(Segment{done, begin, -1});
    segments->push_back(Segment{begin, end, token.id});
    done = end;
    search_from = end;
  }
  if (done < text.size()) segments->push_back(Segment{done, text.size(), -1});
}

}  // namespace ws::tokenizer_detail
