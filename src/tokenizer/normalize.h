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
// General category P*.
bool is_punctuation(uint32_t codepoint);

}  // namespace ws::tokenizer_detail
