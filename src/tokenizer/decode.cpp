// Tokenizer::decode: ids -> token strings -> the decoder chain -> text, as HF's
// decoders do it (each step maps a list of strings to a list of strings; the
// result is their concatenation).
#include "tokenizer/pipeline.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace ws {
namespace tokenizer_detail {
namespace {

using Tokens = std::vector<std::string>;

// All tokens' bytes through GPT-2's table; a token with a character outside
// the table keeps its own bytes. Invalid UTF-8 becomes U+FFFD.
Tokens decode_byte_level(const Tokens& tokens) {
  std::string bytes;
  for (const std::string& token : tokens) {
    std::string mapped;
    bool all_mapped = true;
    size_t pos = 0;
    while (pos < token.size()) {
      uint32_t cp;
      pos += utf8_decode(token, pos, &cp);
      int b = byte_from_unicode(cp);
      if (b < 0) {
        all_mapped = false;
        break;
      }
      mapped.push_back(static_cast<char>(b));
    }
    bytes += all_mapped ? mapped : token;
  }
  return {utf8_lossy(bytes)};
}

// The first token loses every replacement character (HF's Metaspace decoder
// does exactly that), later ones turn them into spaces.
Tokens decode_metaspace(const DecoderStep& step, Tokens tokens) {
  for (size_t i = 0; i < tokens.size(); ++i) {
    bool drop = i == 0 && step.prepend_scheme != PrependScheme::Never;
    tokens[i] = replace_all(tokens[i], step.replacement, drop ? "" : " ");
  }
  return tokens;
}

// HF's wordpiece::cleanup: the spaces a WordPiece split puts before
// punctuation and English contractions, taken out.
std::string wordpiece_cleanup(std::string text) {
  static const std::pair<const char*, const char*> kRules[] = {
      {" .", "."},   {" ?", "?"},   {" !", "!"},           {" ,", ","},    {" ' ", "'"},  {" n't", "n't"},
      {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kRules) text = replace_all(text, from, to);
  return text;
}

// Tokens after the first lose their continuation prefix or gain a space.
Tokens decode_wordpiece(const DecoderStep& step, Tokens tokens) {
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string& token = tokens[i];
    if (i != 0) {
      if (token.compare(0, step.prefix.size(), step.prefix) == 0) {
        token.erase(0, step.prefix.size());
      } else {
        token.insert(0, " ");
      }
    }
    if (step.cleanup) token = wordpiece_cleanup(std::move(token));
  }
  return tokens;
}

// CTC: repeats collapsed, the pad token dropped, the word delimiter a space.
Tokens decode_ctc(const DecoderStep& step, const Tokens& tokens) {
  Tokens out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0 && tokens[i] == tokens[i - 1]) continue;
    std::string text = replace_all(tokens[i], step.content, "");
    if (step.cleanup) text = replace_all(wordpiece_cleanup(std::move(text)), step.word_delimiter, " ");
    if (!text.empty()) out.push_back(std::move(text));
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Runs of <0xNN> tokens become their bytes when those are valid UTF-8, else
// one U+FFFD per byte.
Tokens decode_byte_fallback(const Tokens& tokens) {
  Tokens out;
  std::string pending;
  bool has_pending = false;
  const auto flush = [&] {
    if (!has_pending) return;
    if (utf8_valid(pending)) {
      out.push_back(pending);
    } else {
      for (size_t i = 0; i < pending.size(); ++i) out.push_back("\xEF\xBF\xBD");
    }
    pending.clear();
    has_pending = false;
  };
  for (const std::string& token : tokens) {
    if (token.size() == 6 && token.compare(0, 3, "<0x") == 0 && token[5] == '>') {
      int hi = hex_value(token[3]), lo = hex_value(token[4]);
      if (hi >= 0 && lo >= 0) {
        pending.push_back(static_cast<char>(hi * 16 + lo));
        has_pending = true;
        continue;
      }
    }
    flush();
    out.push_back(token);
  }
  flush();
  return out;
}

// Removes up to strip_start leading and strip_stop trailing `strip_char`s.
Tokens decode_strip(const DecoderStep& step, Tokens tokens) {
  for (std::string& token : tokens) {
    std::string_view view(token);
    for (size_t i = 0; i < step.strip_start && !view.empty(); ++i) {
      uint32_t cp;
      size_t len = utf8_decode(view, 0, &cp);
      if (cp != step.strip_char) break;
      view.remove_prefix(len);
    }
    for (size_t i = 0; i < step.strip_stop && !view.empty(); ++i) {
      if (last_codepoint(view) != step.strip_char) break;
      std::string encoded;
      utf8_append(step.strip_char, &encoded);
      view.remove_suffix(encoded.size());
    }
    token = std::string(view);
  }
  return tokens;
}

std::string join(const Tokens& tokens, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0) out += separator;
    out += tokens[i];
  }
  return out;
}

}  // namespace
}  // namespace tokenizer_detail

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  using namespace tokenizer_detail;
  const TokenizerData& d = *data_;
  Tokens tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= d.id_to_token.size() || d.id_to_token[id].empty()) continue;
    if (skip_special_tokens && d.special[id]) continue;
    tokens.push_back(d.id_to_token[id]);
  }
  // Without a decoder HF joins the tokens with spaces.
  if (!d.has_decoder) return join(tokens, " ");
  for (const DecoderStep& step : d.decoders) {
    switch (step.kind) {
      case DecoderKind::ByteLevel: tokens = decode_byte_level(tokens); break;
      case DecoderKind::Metaspace: tokens = decode_metaspace(step, std::move(tokens)); break;
      case DecoderKind::Replace:
        for (std::string& token : tokens) token = replace_regex(token, *step.pattern, step.content);
        break;
      case DecoderKind::ByteFallback: tokens = decode_byte_fallback(tokens); break;
      case DecoderKind::Fuse: tokens = {join(tokens, "")}; break;
      case DecoderKind::Strip: tokens = decode_strip(step, std::move(tokens)); break;
      case DecoderKind::WordPiece: tokens = decode_wordpiece(step, std::move(tokens)); break;
      case DecoderKind::Ctc: tokens = decode_ctc(step, tokens); break;
    }
  }
  return join(tokens, "");
}

}  // namespace ws
