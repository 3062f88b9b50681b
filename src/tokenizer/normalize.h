// Unicode normalization forms, lowercase and accent stripping, as HF's
// normalizers apply them (NFC/NFD/NFKC/NFKD, Lowercase, StripAccents), from
// generated Unicode tables (gen_normalization_tables.py). Detail, not public.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ws::tokenizer_detail {

enum class NormalForm { Nfc, Nfd, Nfkc, Nfkd };

// `text` in the normal form. Invalid UTF-8 bytes pass through unchanged (each
// counts as a starter, so nothing composes across them).
std::string unicode_normalize(std::string_view text, NormalForm form);
// Every character replaced by its full lowercase mapping (Rust's
// char::to_lowercase, character by character: no final-sigma rule).
std::string unicode_lowercase(std::string_view text);
// Every combining mark (general category M*) removed.
std::string strip_combining_marks(std::string_view text);
// HF's BertNormalizer: controls and U+0000/U+FFFD dropped and whitespace made
// spaces (clean_text), CJK ideographs spaced apart, accents stripped (NFD, then
// Mn removed), lowercased.
struct BertOptions {
  bool clean_text = true, handle_chinese_chars = true, strip_accents = true, lowercase = true;
};
std::string bert_normalize(std::string_view text, const BertOptions& options);
// General category P*.
bool is_punctuation(uint32_t codepoint);

}  // namespace ws::tokenizer_detail
