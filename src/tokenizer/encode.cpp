// Tokenizer::encode: added tokens -> normalizer -> pre-tokenizer -> BPE ->
// post-processor, in the order of HF's Tokenizer::encode.
#include <algorithm>

#include "tokenizer/normalize.h"
#include "tokenizer/pipeline.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace ws {
namespace tokenizer_detail {

std::string replace_all(std::string_view text, std::string_view pattern, std::string_view with) {
  std::string out;
  if (pattern.empty()) return std::string(text);
  size_t pos = 0;
  while (true) {
    size_t hit = text.find(pattern, pos);
    if (hit == std::string_view::npos) break;
    out.append(text.substr(pos, hit - pos));
    out.append(with);
    pos = hit + pattern.size();
  }
  out.append(text.substr(pos));
  return out;
}

std::string replace_regex(std::string_view text, const Regex& pattern, std::string_view with) {
  std::vector<MatchPiece> pieces;
  find_matches(pattern, text, &pieces);
  std::string out;
  out.reserve(text.size());
  for (const MatchPiece& piece : pieces) {
    if (piece.is_match) {
      out.append(with);
    } else {
      out.append(text.substr(piece.begin, piece.end - piece.begin));
    }
  }
  return out;
}

void normalize(const std::vector<NormalizerStep>& steps, std::string* text) {
  for (const NormalizerStep& step : steps) {
    switch (step.kind) {
      case NormalizerKind::Prepend:
        if (!text->empty()) text->insert(0, step.content);
        break;
      case NormalizerKind::Replace:
        *text = replace_regex(*text, *step.pattern, step.content);
        break;
      case NormalizerKind::Nfc: *text = unicode_normalize(*text, NormalForm::Nfc); break;
      case NormalizerKind::Nfd: *text = unicode_normalize(*text, NormalForm::Nfd); break;
      case NormalizerKind::Nfkc: *text = unicode_normalize(*text, NormalForm::Nfkc); break;
      case NormalizerKind::Nfkd: *text = unicode_normalize(*text, NormalForm::Nfkd); break;
      case NormalizerKind::Lowercase: *text = unicode_lowercase(*text); break;
      case NormalizerKind::Precompiled: *text = step.charsmap->normalize(*text); break;
      case NormalizerKind::StripAccents: *text = strip_combining_marks(*text); break;
      case NormalizerKind::Bert:
        *text = bert_normalize(*text, BertOptions{step.bert_clean_text, step.bert_chinese_chars,
                                                  step.bert_strip_accents, step.bert_lowercase});
        break;
      case NormalizerKind::Strip: {
        std::string_view view(*text);
        if (step.strip_left) view.remove_prefix(std::min(view.size(), leading_whitespace(view)));
        if (step.strip_right) view.remove_suffix(view.size() - trailing_whitespace_start(view));
        *text = std::string(view);
        break;
      }
    }
  }
}

namespace {

// A pre-tokenized word and whether it starts at offset 0 of the input (what
// Metaspace's prepend_scheme "first" looks at).
struct Word {
  std::string text;
  bool at_input_start;
};

void apply_byte_level(const PreTokenizerStep& step, const Word& word, std::vector<Word>* out) {
  std::string text = word.text;
  if (step.add_prefix_space && (text.empty() || text[0] != ' ')) text.insert(0, " ");
  std::vector<std::string_view> parts;
  if (step.use_regex) {
    split_gpt2(text, &parts);
  } else {
    parts.push_back(text);
  }
  const auto& table = byte_to_unicode();
  bool first = true;
  for (std::string_view part : parts) {
    Word mapped{std::string(), word.at_input_start && first};
    for (char c : part) mapped.text += table[static_cast<uint8_t>(c)];
    out->push_back(std::move(mapped));
    first = false;
  }
}

void apply_metaspace(const PreTokenizerStep& step, const Word& word, std::vector<Word>* out) {
  std::string text = replace_all(word.text, " ", step.replacement);
  bool starts_with_replacement = text.compare(0, step.replacement.size(), step.replacement) == 0;
  bool prepend = !starts_with_replacement &&
                 (step.prepend_scheme == PrependScheme::Always ||
                  (step.prepend_scheme == PrependScheme::First && word.at_input_start));
  if (prepend) text.insert(0, step.replacement);
  if (!step.split) {
    out->push_back(Word{std::move(text), word.at_input_start});
    return;
  }
  // Split before each replacement character, which starts the next word.
  size_t start = 0;
  size_t pos = step.replacement.empty() ? std::string::npos : text.find(step.replacement, 1);
  while (pos != std::string::npos) {
    out->push_back(Word{text.substr(start, pos - start), word.at_input_start && start == 0});
    start = pos;
    pos = text.find(step.replacement, pos + step.replacement.size());
  }
  if (start < text.size()) out->push_back(Word{text.substr(start), word.at_input_start && start == 0});
}

// HF's NormalizedString::split: the pieces of find_matches regrouped by the
// behavior, empty ones dropped (PreTokenizedString::split does that).
void split_pieces(const Word& word, std::vector<MatchPiece> pieces, SplitBehavior behavior, bool invert,
                  std::vector<Word>* out) {
  if (invert) {
    for (MatchPiece& piece : pieces) piece.is_match = !piece.is_match;
  }
  std::vector<MatchPiece> kept;  // is_match now means "remove"
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::Removed: kept = std::move(pieces); break;
    case SplitBehavior::Isolated:
      for (MatchPiece piece : pieces) kept.push_back(MatchPiece{piece.begin, piece.end, false});
      break;
    case SplitBehavior::Contiguous:
      for (const MatchPiece& piece : pieces) {
        if (piece.is_match == previous_match && !kept.empty()) {
          kept.back().end = piece.end;
        } else {
          kept.push_back(MatchPiece{piece.begin, piece.end, false});
        }
        previous_match = piece.is_match;
      }
      break;
    case SplitBehavior::MergedWithPrevious:
      for (const MatchPiece& piece : pieces) {
        if (piece.is_match && !previous_match && !kept.empty()) {
          kept.back().end = piece.end;
        } else {
          kept.push_back(MatchPiece{piece.begin, piece.end, false});
        }
        previous_match = piece.is_match;
      }
      break;
    case SplitBehavior::MergedWithNext:
      for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) {
        if (it->is_match && !previous_match && !kept.empty()) {
          kept.back().begin = it->begin;
        } else {
          kept.push_back(MatchPiece{it->begin, it->end, false});
        }
        previous_match = it->is_match;
      }
      std::reverse(kept.begin(), kept.end());
      break;
  }
  for (const MatchPiece& piece : kept) {
    if (piece.is_match || piece.end == piece.begin) continue;
    out->push_back(Word{word.text.substr(piece.begin, piece.end - piece.begin),
                        word.at_input_start && piece.begin == 0});
  }
}

void apply_split(const PreTokenizerStep& step, const Word& word, std::vector<Word>* out) {
  if (step.fast != FastSplit::None) {
    std::vector<std::string_view> parts;
    switch (step.fast) {
      case FastSplit::Gpt2: split_gpt2(word.text, &parts); break;
      case FastSplit::Llama3: split_llama3(word.text, 3, &parts); break;
      case FastSplit::Qwen2: split_llama3(word.text, 1, &parts); break;
      case FastSplit::None: break;
    }
    for (std::string_view part : parts) {
      const size_t begin = static_cast<size_t>(part.data() - word.text.data());
      out->push_back(Word{std::string(part), word.at_input_start && begin == 0});
    }
    return;
  }
  std::vector<MatchPiece> pieces;
  find_matches(*step.regex, word.text, &pieces);
  split_pieces(word, std::move(pieces), step.behavior, step.invert, out);
}

// HF's Pattern for a character predicate: each matching character is a match
// of its own; the runs between them are one non-match each.
template <typename Predicate>
std::vector<MatchPiece> character_matches(const std::string& text, Predicate is_match) {
  std::vector<MatchPiece> pieces;
  size_t run_start = 0;
  for (size_t pos = 0; pos < text.size();) {
    uint32_t codepoint;
    const size_t length = utf8_decode(text, pos, &codepoint);
    if (is_match(codepoint)) {
      if (run_start < pos) pieces.push_back(MatchPiece{run_start, pos, false});
      pieces.push_back(MatchPiece{pos, pos + length, true});
      run_start = pos + length;
    }
    pos += length;
  }
  if (run_start < text.size()) pieces.push_back(MatchPiece{run_start, text.size(), false});
  return pieces;
}

// HF's WhitespaceSplit: every White_Space character removed, words between.
void apply_whitespace_split(const Word& word, std::vector<Word>* out) {
  split_pieces(word, character_matches(word.text, is_whitespace), SplitBehavior::Removed, false, out);
}

// HF's Punctuation: each punctuation character (Unicode P*, or ASCII
// punctuation, which counts $+<=>^`|~ too) is a match of its own.
void apply_punctuation(const PreTokenizerStep& step, const Word& word, std::vector<Word>* out) {
  const auto punctuation = [](uint32_t cp) {
    const bool ascii = (cp >= '!' && cp <= '/') || (cp >= ':' && cp <= '@') || (cp >= '[' && cp <= '`') ||
                       (cp >= '{' && cp <= '~');
    return ascii || is_punctuation(cp);
  };
  split_pieces(word, character_matches(word.text, punctuation), step.behavior, false, out);
}

// HF's Digits: numeric characters (Rust's char::is_numeric, the N* categories)
// are isolated, one by one with individual_digits, else as contiguous runs.
void apply_digits(const PreTokenizerStep& step, const Word& word, std::vector<Word>* out) {
  const std::string& text = word.text;
  size_t start = 0;
  bool start_is_digit = false;
  auto emit = [&](size_t end) {
    if (end > start) out->push_back(Word{text.substr(start, end - start), word.at_input_start && start == 0});
    start = end;
  };
  for (size_t pos = 0; pos < text.size();) {
    uint32_t codepoint;
    const size_t length = utf8_decode(text, pos, &codepoint);
    const bool digit = is_number(codepoint);
    if (digit && (step.individual_digits || !start_is_digit || pos == start)) {
      emit(pos);
    } else if (!digit && start_is_digit) {
      emit(pos);
    }
    if (pos == start) start_is_digit = digit;
    pos += length;
  }
  emit(text.size());
}

// tokenizers' UnicodeScripts: a cut before every character whose script
// (other than Any) differs from the last non-Any script seen, the first such
// character included; the pieces are the spans between cuts, so text before
// the first cut (leading spaces) and text without any cut is dropped, as there.
void apply_unicode_scripts(const Word& word, std::vector<Word>* out) {
  const std::string& text = word.text;
  std::vector<size_t> cuts;
  int last = -1;  // none seen yet
  for (size_t pos = 0; pos < text.size();) {
    uint32_t codepoint;
    const size_t length = utf8_decode(text, pos, &codepoint);
    const int script = tokenizers_script(codepoint);
    if (script != kScriptAnyId && last != kScriptAnyId && last != script) cuts.push_back(pos);
    if (script != kScriptAnyId) last = script;
    pos += length;
  }
  cuts.push_back(text.size());
  for (size_t i = 0; i + 1 < cuts.size(); ++i) {
    out->push_back(Word{text.substr(cuts[i], cuts[i + 1] - cuts[i]), word.at_input_start && cuts[i] == 0});
  }
}

void encode_text(const TokenizerData& data, std::string text, bool at_input_start, std::vector<int32_t>* ids) {
  normalize(data.normalizers, &text);
  // Added tokens marked `normalized` are matched in the normalized text.
  std::vector<Segment> segments;
  split_on_added_tokens(text, data.normalized_matcher, data.normalized_tokens, data.added_tokens, &segments);
  for (const Segment& segment : segments) {
    if (segment.added_id >= 0) {
      ids->push_back(segment.added_id);
      continue;
    }
    std::vector<Word> words{Word{text.substr(segment.begin, segment.end - segment.begin),
                                 at_input_start && segment.begin == 0}};
    for (const PreTokenizerStep& step : data.pre_tokenizers) {
      std::vector<Word> next;
      for (const Word& word : words) {
        switch (step.kind) {
          case PreTokenizerKind::ByteLevel: apply_byte_level(step, word, &next); break;
          case PreTokenizerKind::Metaspace: apply_metaspace(step, word, &next); break;
          case PreTokenizerKind::Split: apply_split(step, word, &next); break;
          case PreTokenizerKind::Whitespace: apply_split(step, word, &next); break;
          case PreTokenizerKind::WhitespaceSplit: apply_whitespace_split(word, &next); break;
          case PreTokenizerKind::Punctuation: apply_punctuation(step, word, &next); break;
          case PreTokenizerKind::Digits: apply_digits(step, word, &next); break;
          case PreTokenizerKind::UnicodeScripts: apply_unicode_scripts(word, &next); break;
        }
      }
      words = std::move(next);
    }
    for (const Word& word : words) data.model.tokenize(word.text, ids);
  }
}

}  // namespace
}  // namespace tokenizer_detail

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  using namespace tokenizer_detail;
  const TokenizerData& d = *data_;
  std::vector<int32_t> ids = encode_plain(text);
  if (!add_special_tokens || !d.has_template) return ids;
  std::vector<int32_t> out;
  out.reserve(ids.size() + 4);
  for (const TemplatePiece& piece : d.template_single) {
    if (piece.is_sequence) {
      out.insert(out.end(), ids.begin(), ids.end());
    } else {
      out.insert(out.end(), piece.ids.begin(), piece.ids.end());
    }
  }
  return out;
}

std::vector<int32_t> Tokenizer::encode_pair(std::string_view first, std::string_view second,
                                            bool add_special_tokens) const {
  using namespace tokenizer_detail;
  const TokenizerData& d = *data_;
  const std::vector<int32_t> a = encode_plain(first), b = encode_plain(second);
  std::vector<int32_t> out;
  if (!add_special_tokens || !d.has_template) {
    out = a;
    out.insert(out.end(), b.begin(), b.end());
    return out;
  }
  for (const TemplatePiece& piece : d.template_pair) {
    const std::vector<int32_t>& ids = !piece.is_sequence ? piece.ids : piece.second ? b : a;
    out.insert(out.end(), ids.begin(), ids.end());
  }
  return out;
}

std::vector<int32_t> Tokenizer::encode_plain(std::string_view text) const {
  using namespace tokenizer_detail;
  const TokenizerData& d = *data_;
  std::vector<int32_t> ids;
  std::vector<Segment> segments;
  split_on_added_tokens(text, d.raw_matcher, d.raw_tokens, d.added_tokens, &segments);
  for (const Segment& segment : segments) {
    if (segment.added_id >= 0) {
      ids.push_back(segment.added_id);
    } else {
      encode_text(d, std::string(text.substr(segment.begin, segment.end - segment.begin)), segment.begin == 0,
                  &ids);
    }
  }
  return ids;
}

}  // namespace ws
