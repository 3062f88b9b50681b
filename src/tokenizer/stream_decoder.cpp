// StreamDecoder: decodes a sliding window of ids (the tokens of the last
// emitted piece as context, then the new ones) and emits what the new ones
// added. The context makes window-relative decoder effects (SentencePiece's
// first-token space strip, a Strip of several leading spaces) fall on tokens
// already emitted, so the pieces add up to the decode of the whole sequence.
#include "tokenizer/pipeline.h"
#include "tokenizer/tokenizer.h"

namespace ws {
namespace {

bool ends_with_replacement(const std::string& text) {
  return text.size() >= 3 && text.compare(text.size() - 3, 3, "\xEF\xBF\xBD") == 0;
}

}  // namespace

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer) : tokenizer_(&tokenizer) {}

std::string StreamDecoder::push(int32_t id) {
  ids_.push_back(id);
  // A later byte token can turn a whole run of them into U+FFFDs (HF's
  // ByteFallback decodes the run at once), so a run is emitted once it ends.
  const auto& byte_tokens = tokenizer_->data().byte_fallback_token;
  if (id >= 0 && static_cast<size_t>(id) < byte_tokens.size() && byte_tokens[id]) return std::string();
  std::string text = tokenizer_->decode(ids_);
  // U+FFFD at the end: a character whose remaining bytes are still to come.
  if (ends_with_replacement(text)) return std::string();
  if (text.size() <= prefix_text_.size() || text.compare(0, prefix_text_.size(), prefix_text_) != 0) {
    return std::string();
  }
  std::string piece = text.substr(prefix_text_.size());
  // The ids of this piece become the next window's context, unless alone they
  // decode to nothing: then a window-relative effect is still undecided on
  // them (a Strip of up to 2 leading spaces eats a lone "▁" that follows other
  // text in the whole decode) and the older context stays. Once the context
  // decodes to something, such a strip has stopped inside it.
  const std::vector<int32_t> rest(ids_.begin() + static_cast<std::ptrdiff_t>(read_index_), ids_.end());
  std::string rest_text = tokenizer_->decode(rest);
  if (rest_text.empty()) {
    prefix_text_ = std::move(text);
  } else {
    ids_ = rest;
    prefix_text_ = std::move(rest_text);
  }
  read_index_ = ids_.size();
  return piece;
}

std::string StreamDecoder::flush() {
  std::string text = tokenizer_->decode(ids_);
  std::string piece;
  if (text.size() > prefix_text_.size() && text.compare(0, prefix_text_.size(), prefix_text_) == 0) {
    piece = text.substr(prefix_text_.size());
  }
  ids_.clear();
  read_index_ = 0;
  prefix_text_.clear();
  return piece;
}

}  // namespace ws
