// Added tokens: matched in the text before the model sees it
// (tokenizers/src/tokenizer/added_vocabulary.rs).
#include <algorithm>

#include "tokenizer/pipeline.h"
#include "tokenizer/unicode.h"

namespace ws::tokenizer_detail {

void AddedTokenMatcher::build(std::vector<std::string> patterns) {
  root_.fill(-1);
  edges_.clear();
  terminal_.assign(1, -1);  // node 0: the root
  for (size_t i = 0; i < patterns.size(); ++i) {
    const std::string& pattern = patterns[i];
    if (pattern.empty()) continue;
    int32_t node = 0;
    for (unsigned char byte : pattern) {
      int32_t next = child(node, byte);
      if (next < 0) {
        next = static_cast<int32_t>(terminal_.size());
        terminal_.push_back(-1);
        if (node == 0) root_[byte] = next;
        else edges_.emplace(static_cast<uint64_t>(node) << 8 | byte, next);
      }
      node = next;
    }
    if (terminal_[static_cast<size_t>(node)] < 0) terminal_[static_cast<size_t>(node)] = static_cast<int64_t>(i);
  }
}

int32_t AddedTokenMatcher::child(int32_t node, uint8_t byte) const {
  if (node == 0) return root_[byte];
  auto it = edges_.find(static_cast<uint64_t>(node) << 8 | byte);
  return it == edges_.end() ? -1 : it->second;
}

bool AddedTokenMatcher::find(std::string_view text, size_t from, size_t* begin, size_t* end,
                             size_t* index) const {
  if (empty()) return false;
  for (size_t pos = from; pos < text.size(); ++pos) {
    int32_t node = root_[static_cast<uint8_t>(text[pos])];
    int64_t best = -1;
    size_t best_end = 0;
    for (size_t i = pos + 1; node >= 0; ++i) {
      if (terminal_[static_cast<size_t>(node)] >= 0) {
        best = terminal_[static_cast<size_t>(node)];
        best_end = i;
      }
      if (i >= text.size()) break;
      node = child(node, static_cast<uint8_t>(text[i]));
    }
    if (best >= 0) {
      *begin = pos;
      *end = best_end;
      *index = static_cast<size_t>(best);
      return true;
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
