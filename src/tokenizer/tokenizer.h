// The tokenizer layer: text <-> token ids, compatible with Hugging Face
// `tokenizers` (tokenizer.json with a BPE, Unigram or WordPiece model; GPT-2's
// vocab.json + merges.txt).
//
// Errors are values (core/result.h); nothing here throws or aborts. A
// Tokenizer is immutable after construction except for its BOS/EOS ids, cheap
// to copy (the tables are shared) and safe to use from several threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace ws {

namespace tokenizer_detail {
struct TokenizerData;
}

class Tokenizer {
 public:
  // Parses a Hugging Face tokenizer.json text. Supported pieces:
  //   model: BPE (merges as "a b" strings or ["a","b"] pairs; unk_token,
  //     fuse_unk, byte_fallback, continuing_subword_prefix, end_of_word_suffix,
  //     ignore_merges; dropout ignored), Unigram (Viterbi, byte_fallback,
  //     unk_id), WordPiece,
  //   normalizer: null, Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Strip,
  //     StripAccents, Replace (String or Regex pattern), Prepend, BertNormalizer,
  //     Precompiled only with an empty charsmap,
  //   pre_tokenizer: null, Sequence, Split (String or Regex pattern in
  //     Oniguruma syntax, every behavior, invert), ByteLevel (with or without
  //     its regex), Metaspace, Digits, Punctuation, Whitespace, WhitespaceSplit,
  //     BertPreTokenizer,
  //   decoder: null, Sequence, ByteLevel, Metaspace, Replace, ByteFallback,
  //     Fuse, Strip, WordPiece, CTC,
  //   post_processor: null, Sequence, ByteLevel, TemplateProcessing,
  //     RobertaProcessing, BertProcessing,
  //   added_tokens with special / lstrip / rstrip / single_word / normalized.
  // Regexes run on Oniguruma 6.9.8, the engine of Python tokenizers.
  // Errors: InvalidConfig for malformed JSON or inconsistent content (a merge
  // naming an unknown token, a missing model, a regex Oniguruma rejects);
  // Unsupported, naming the component, for anything else (a Precompiled
  // charsmap, UnicodeScripts, WordLevel, ...).
  static Result<Tokenizer> from_json(std::string_view tokenizer_json);

  // GPT-2's vocab.json (a.k.a. encoder.json) and merges.txt (a.k.a. vocab.bpe),
  // set up like transformers' GPT2TokenizerFast: byte-level BPE, and
  // "<|endoftext|>" (when in the vocabulary) as a special token and BOS/EOS.
  // Errors: InvalidConfig.
  static Result<Tokenizer> from_gpt2_files(std::string_view vocab_json, std::string_view merges_txt);

  // Token ids of `text` (any bytes; invalid UTF-8 is handled byte by byte by
  // byte-level models). add_special_tokens applies the post-processor (BOS
  // and friends) when the tokenizer has one.
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = false) const;
  // A pair of texts (tokenizers' encode(first, second)): with
  // add_special_tokens, the post-processor's pair template ("$A ... $B ...",
  // Roberta's and Bert's pair layouts); otherwise the two encodings joined.
  std::vector<int32_t> encode_pair(std::string_view first, std::string_view second,
                                   bool add_special_tokens = false) const;

  // Text of `ids` through the tokenizer's decoder. Unknown ids are skipped;
  // skip_special_tokens drops added tokens marked special.
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const;

  // The raw vocabulary string of `id` ("Ġthe", "▁the", "<0x0A>"); empty when
  // the id is out of range.
  std::string token_text(int32_t id) const;
  std::optional<int32_t> token_id(std::string_view token) const;
  bool is_special(int32_t id) const;

  // One past the largest id of the model vocabulary and added tokens: the row
  // count an embedding table needs.
  size_t vocab_size() const;

  // Whether StreamDecoder's pieces add up to decode() exactly: false when the
  // decoder rewrites across token boundaries (WordPiece's cleanup, CTC's
  // collapsing of repeats; BERT and speech decoders, not causal LMs).
  bool streams_exactly() const;

  // Best effort from the tokenizer itself (post-processor template, well-known
  // token names); apply_special_tokens_config or set_special_ids override.
  std::optional<int32_t> bos_id() const { return bos_id_; }
  std::optional<int32_t> eos_id() const { return eos_id_; }
  void set_special_ids(std::optional<int32_t> bos, std::optional<int32_t> eos) {
    bos_id_ = bos;
    eos_id_ = eos;
  }

 private:
  friend class StreamDecoder;
  explicit Tokenizer(std::shared_ptr<const tokenizer_detail::TokenizerData> data);
  const tokenizer_detail::TokenizerData& data() const { return *data_; }
  std::vector<int32_t> encode_plain(std::string_view text) const;  // no post-processor

  std::shared_ptr<const tokenizer_detail::TokenizerData> data_;
  std::optional<int32_t> bos_id_;
  std::optional<int32_t> eos_id_;
};

// Reads BOS/EOS from a model's tokenizer_config.json ("bos_token",
// "eos_token": strings or {"content": ...}) and config.json ("bos_token_id",
// "eos_token_id": an int, or a list whose first entry is taken). Either text
// may be empty. tokenizer_config.json wins where both name a token.
// Errors: InvalidConfig for malformed JSON or a token the vocabulary lacks.
Status apply_special_tokens_config(Tokenizer& tokenizer, std::string_view tokenizer_config_json,
                                   std::string_view config_json);

// Incremental decoding for generation: push ids one at a time and get back
// only complete UTF-8 text. The concatenation of every push() and the final
// flush() equals tokenizer.decode(all ids) (SentencePiece's first-token space
// stripping included) when tokenizer.streams_exactly(). Keeps a reference to `tokenizer`, which must outlive it.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer);
  std::string push(int32_t id);
  // Text still held back (an incomplete character at the end); resets.
  std::string flush();

 private:
  const Tokenizer* tokenizer_;
  std::vector<int32_t> ids_;      // the window: context tokens, then unread ones
  size_t read_index_ = 0;         // ids_[0, read_index_) already emitted
  std::string prefix_text_;       // decode(ids_[0, read_index_))
};

}  // namespace ws
