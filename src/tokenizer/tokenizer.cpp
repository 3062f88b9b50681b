// Tokenizer's lookups, and the tables derived once a loader has filled the
// pipeline stages (TokenizerData::finish).
#include "tokenizer/tokenizer.h"

#include <algorithm>

#include "tokenizer/pipeline.h"

namespace ws {
namespace tokenizer_detail {
namespace {

std::optional<int32_t> first_present(const TokenizerData& data, std::initializer_list<std::string_view> names) {
  for (std::string_view name : names) {
    auto added = data.added_by_content.find(std::string(name));
    if (added != data.added_by_content.end()) return added->second;
    if (auto id = data.model.find(name)) return id;
  }
  return std::nullopt;
}

}  // namespace

void TokenizerData::finish() {
  size_t limit = model.id_limit();
  for (const AddedToken& token : added_tokens) limit = std::max(limit, static_cast<size_t>(token.id) + 1);
  id_to_token.assign(limit, std::string());
  special.assign(limit, 0);
  for (const auto& [text, id] : model.vocab()) id_to_token[id] = text;
  // Added tokens win over the model's entry for the same id, as in HF.
  added_by_content.clear();
  for (const AddedToken& token : added_tokens) {
    id_to_token[token.id] = token.content;
    special[token.id] = token.special ? 1 : 0;
    added_by_content[token.content] = token.id;
  }

  byte_fallback_token.assign(limit, 0);
  bool byte_fallback_decoder = false;
  for (const DecoderStep& step : decoders) byte_fallback_decoder |= step.kind == DecoderKind::ByteFallback;
  for (size_t id = 0; byte_fallback_decoder && id < limit; ++id) {
    const std::string& text = id_to_token[id];
    byte_fallback_token[id] = text.size() == 6 && text.compare(0, 3, "<0x") == 0 && text[5] == '>';
  }

  std::vector<std::string> raw_patterns, normalized_patterns;
  raw_tokens.clear();
  normalized_tokens.clear();
  for (size_t i = 0; i < added_tokens.size(); ++i) {
    const AddedToken& token = added_tokens[i];
    if (token.normalized) {
      // Matched against normalized text, so the pattern is normalized too.
      std::string pattern = token.content;
      normalize(normalizers, &pattern);
      normalized_patterns.push_back(std::move(pattern));
      normalized_tokens.push_back(i);
    } else {
      raw_patterns.push_back(token.content);
      raw_tokens.push_back(i);
    }
  }
  raw_matcher.build(std::move(raw_patterns));
  normalized_matcher.build(std::move(normalized_patterns));

  // BOS: the special token the template puts before the sequence; EOS: the
  // one after it; else well-known names.
  default_bos.reset();
  default_eos.reset();
  if (has_template) {
    bool seen_sequence = false;
    for (const TemplatePiece& piece : template_single) {
      if (piece.is_sequence) {
        seen_sequence = true;
      } else if (!piece.ids.empty()) {
        if (!seen_sequence && !default_bos) default_bos = piece.ids.front();
        if (seen_sequence) default_eos = piece.ids.back();
      }
    }
  }
  if (!default_bos) default_bos = first_present(*this, {"<s>", "<|begin_of_text|>", "<bos>", "<|endoftext|>"});
  if (!default_eos) {
    default_eos = first_present(*this, {"</s>", "<|end_of_text|>", "<eos>", "<|endoftext|>", "<|im_end|>"});
  }
}

}  // namespace tokenizer_detail

Tokenizer::Tokenizer(std::shared_ptr<const tokenizer_detail::TokenizerData> data)
    : data_(std::move(data)), bos_id_(data_->default_bos), eos_id_(data_->default_eos) {}

std::string Tokenizer::token_text(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= data_->id_to_token.size()) return std::string();
  return data_->id_to_token[id];
}

std::optional<int32_t> Tokenizer::token_id(std::string_view token) const {
  auto added = data_->added_by_content.find(std::string(token));
  if (added != data_->added_by_content.end()) return added->second;
  return data_->model.find(token);
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < data_->special.size() && data_->special[id] != 0;
}

size_t Tokenizer::vocab_size() const { return data_->id_to_token.size(); }

bool Tokenizer::streams_exactly() const {
  for (const tokenizer_detail::DecoderStep& step : data_->decoders) {
    if (step.kind == tokenizer_detail::DecoderKind::Ctc) return false;
    if (step.kind == tokenizer_detail::DecoderKind::WordPiece && step.cleanup) return false;
  }
  return true;
}

}  // namespace ws
