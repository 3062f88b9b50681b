// SentencePiece's precompiled normalizer (T5, ALBERT, XLNet, mT5...): the
// "precompiled_charsmap" of tokenizer.json's Precompiled normalizer, as the
// spm_precompiled crate that Python `tokenizers` uses reads and applies it.
// Detail, not public.
//
// The charsmap (base64 in tokenizer.json) is a little-endian u32 trie size in
// bytes, a darts-clone double-array trie of that many bytes (u32 units), and
// then the replacement strings, each ended by a NUL. A trie key is the UTF-8
// text to replace; its leaf value is the byte offset of the replacement.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "tokenizer/regex.h"

namespace ws::tokenizer_detail {

class PrecompiledCharsmap {
 public:
  // `base64` as tokenizer.json stores it. Errors: InvalidConfig for text
  // that is not base64, a trie size that is not a whole number of units or
  // runs past the data, or replacement strings that are not UTF-8 (the crate
  // refuses those too). Lookups are bounds-checked, so any trie is safe.
  static Result<PrecompiledCharsmap> from_base64(std::string_view base64);

  // tokenizers' Precompiled::normalize: each extended grapheme cluster
  // shorter than 6 bytes is replaced whole when the trie holds a prefix of it
  // (the shortest such prefix's replacement: the crate takes the first
  // common-prefix result); other clusters are replaced character by
  // character, characters without an entry kept. `text` is valid UTF-8.
  std::string normalize(std::string_view text) const;

  // The longest replacement in bytes: bounds how much the step can grow a text.
  size_t longest_replacement() const { return longest_replacement_; }

 private:
  std::optional<std::string_view> transform(std::string_view chunk) const;

  std::vector<uint32_t> trie_;
  std::string replacements_;
  size_t longest_replacement_ = 0;
  std::optional<Regex> graphemes_;  // Oniguruma's \X: an extended grapheme cluster
};

}  // namespace ws::tokenizer_detail
