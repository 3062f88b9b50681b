// The tokenizer's internal tables: one struct per pipeline stage of HF
// tokenizers (normalizer, pre-tokenizer, model, post-processor, decoder), all
// filled by the loaders (json_loader.cpp, gpt2_files.cpp) and read by
// encode.cpp / decode.cpp. Detail, not public.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "tokenizer/precompiled.h"
#include "tokenizer/regex.h"

namespace ws::tokenizer_detail {

// ---- model -----------------------------------------------------------------

struct BpeOptions {
  std::optional<std::string> unk_token;
  std::string continuing_subword_prefix;
  std::string end_of_word_suffix;
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;
};

// Byte-pair encoding as HF's BPE model does it: the word is split into
// characters, then the pair of lowest merge rank is merged until none is left
// (a priority queue over a linked list of symbols, O(n log n) per word).
class BpeModel {
 public:
  // `vocab`: token -> id; `merges`: pairs in rank order. Errors: InvalidConfig
  // when a merge names a token (or makes one) the vocabulary lacks.
  static Result<BpeModel> build(std::unordered_map<std::string, int32_t> vocab,
                                const std::vector<std::pair<std::string, std::string>>& merges,
                                BpeOptions options);

  void tokenize(std::string_view word, std::vector<int32_t>* ids) const;

  const std::unordered_map<std::string, int32_t>& vocab() const { return vocab_; }
  std::optional<int32_t> find(std::string_view token) const;
  size_t id_limit() const { return id_limit_; }  // one past the largest id

 private:
  struct MergeTarget {
    int32_t rank;
    int32_t new_id;
  };
  // (left id, right id) -> MergeTarget by open addressing in one flat array:
  // a node-based map's cache misses over Gemma 3's 514k merges were 30% of
  // its encode time.
  class MergeTable {
   public:
    void reserve(size_t count);
    void set(uint64_t key, MergeTarget target);  // replaces an existing key
    const MergeTarget* find(uint64_t key) const;

   private:
    static constexpr uint64_t kEmpty = ~0ull;  // no pair of ids < 2^31 makes it
    struct Slot {
      uint64_t key = kEmpty;
      MergeTarget target{};
    };
    size_t slot_of(uint64_t key) const { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 20) & mask_; }
    std::vector<Slot> slots_;
    size_t mask_ = 0;
    size_t size_ = 0;
  };
  static uint64_t pair_key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }

  std::unordered_map<std::string, int32_t> vocab_;
  MergeTable merges_;
  // The id of each one-character token below U+10000, -1 if none: the
  // initial symbols without a string hash per character (only when no
  // subword prefix or word suffix changes the lookup).
  std::vector<int32_t> char_ids_;
  std::array<int32_t, 256> byte_tokens_{};  // <0xNN> ids, -1 when absent
  std::optional<int32_t> unk_id_;
  BpeOptions options_;
  size_t id_limit_ = 0;
};

// WordPiece as HF's: greedy longest-prefix match from the vocabulary, pieces
// after the first looked up with the continuation prefix; a word with any
// unmatched rest (or longer than max_input_chars_per_word) is one unk token.
struct WordPieceModel {
  std::unordered_map<std::string, int32_t> vocab;
  std::string unk_token = "[UNK]";
  std::string continuing_subword_prefix = "##";
  size_t max_input_chars_per_word = 100;
  void tokenize(std::string_view word, std::vector<int32_t>* ids) const;
};

// WordLevel as HF's: the whole word's id, else the unk token's.
struct WordLevelModel {
  std::unordered_map<std::string, int32_t> vocab;
  std::string unk_token = "<unk>";
  void tokenize(std::string_view word, std::vector<int32_t>* ids) const;
};

// Unigram as HF's (encode_optimized): Viterbi over every vocabulary piece
// that starts at each character, an unknown character scored min_score - 10;
// consecutive unknown pieces fuse into one unk; byte_fallback spells an
// unknown piece as <0xNN> tokens when all of them exist.
struct UnigramModel {
  std::vector<std::pair<std::string, double>> pieces;  // id -> (piece, score)
  std::unordered_map<std::string, int32_t> vocab;
  std::optional<int32_t> unk_id;
  bool byte_fallback = false;
  double min_score = 0;
  size_t longest_piece = 0;  // bytes
  void tokenize(std::string_view word, std::vector<int32_t>* ids) const;
};

// The tokenizer's model, one of the four kinds.
struct Model {
  enum class Kind { Bpe, WordPiece, WordLevel, Unigram };
  Kind kind = Kind::Bpe;
  BpeModel bpe;
  WordPieceModel wordpiece;
  WordLevelModel wordlevel;
  UnigramModel unigram;

  void tokenize(std::string_view word, std::vector<int32_t>* ids) const;
  const std::unordered_map<std::string, int32_t>& vocab() const;
  std::optional<int32_t> find(std::string_view token) const;
  size_t id_limit() const;  // one past the largest id
};

// ---- added tokens ----------------------------------------------------------

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
  bool normalized = false;
};

// Leftmost-longest matching of added tokens in a text (HF uses Aho-Corasick
// with the same semantics). A byte trie: each position costs the length of
// its longest match, not a compare per token (Gemma 3 has 6k added tokens,
// thousands of them starting with '<').
class AddedTokenMatcher {
 public:
  // `patterns[i]` is matched and reported as index i (the first of equal ones).
  void build(std::vector<std::string> patterns);
  bool empty() const { return terminal_.size() <= 1; }
  // Finds the leftmost-longest match at or after `from`.
  bool find(std::string_view text, size_t from, size_t* begin, size_t* end, size_t* index) const;

 private:
  int32_t child(int32_t node, uint8_t byte) const;
  std::array<int32_t, 256> root_{};                  // root's children, -1 for none
  std::unordered_map<uint64_t, int32_t> edges_;      // (node << 8 | byte) -> node, below the root
  std::vector<int64_t> terminal_;                    // per node: pattern index, -1 for none
};

// A stretch of text: either plain text or one matched added token.
struct Segment {
  size_t begin = 0, end = 0;  // byte range in the text that was split
  int32_t added_id = -1;      // the added token's id, -1 for plain text
};

// HF's AddedVocabulary::find_matches: splits `text` around the matches of
// `matcher` (whose pattern i is tokens[token_index[i]]), honoring
// single_word, lstrip and rstrip.
void split_on_added_tokens(std::string_view text, const AddedTokenMatcher& matcher,
                           const std::vector<size_t>& token_index, const std::vector<AddedToken>& tokens,
                           std::vector<Segment>* segments);

// ---- normalizer / pre-tokenizer --------------------------------------------

enum class NormalizerKind { Prepend, Replace, Strip, Nfc, Nfd, Nfkc, Nfkd, Lowercase, StripAccents, Bert, Precompiled };
struct NormalizerStep {
  NormalizerKind kind;
  std::shared_ptr<const PrecompiledCharsmap> charsmap;  // Precompiled
  std::optional<Regex> pattern;  // Replace: what to find (a String pattern is an escaped regex, as in HF)
  std::string content;           // Prepend: prefix; Replace: replacement
  bool strip_left = false, strip_right = false;
  bool bert_clean_text = true, bert_chinese_chars = true, bert_strip_accents = true, bert_lowercase = true;
};

enum class PrependScheme { Always, First, Never };
enum class PreTokenizerKind { ByteLevel, Metaspace, Split, Digits, Whitespace, WhitespaceSplit, Punctuation, UnicodeScripts };
// HF's SplitDelimiterBehavior: what becomes of each match of a Split pattern.
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };
// Patterns with a hand-written splitter that is proven identical to the
// engine (tests/tokenizer/regex_split_test.cpp) and faster; None: the engine.
enum class FastSplit { None, Gpt2, Llama3, Qwen2 };
struct PreTokenizerStep {
  PreTokenizerKind kind;
  bool add_prefix_space = false;  // ByteLevel
  bool use_regex = true;          // ByteLevel
  std::string replacement;        // Metaspace, usually "▁"
  PrependScheme prepend_scheme = PrependScheme::Always;
  bool split = true;              // Metaspace
  std::optional<Regex> regex;     // Split, Whitespace (ByteLevel's is GPT-2's, via fast)
  FastSplit fast = FastSplit::None;
  SplitBehavior behavior = SplitBehavior::Isolated;  // Split, Punctuation
  bool invert = false;                               // Split
  bool individual_digits = false;                    // Digits
};

// ---- post-processor / decoder ----------------------------------------------

struct TemplatePiece {
  bool is_sequence = false;    // the input's ids ("$A")
  std::vector<int32_t> ids;    // a special token's ids otherwise
  bool second = false;         // a pair template's "$B"
};

enum class DecoderKind { ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, WordPiece, Ctc };
struct DecoderStep {
  DecoderKind kind;
  std::optional<Regex> pattern;          // Replace
  std::string content;                   // Replace; CTC's pad token
  std::string prefix = "##";             // WordPiece
  bool cleanup = true;                   // WordPiece, CTC
  std::string word_delimiter;            // CTC
  uint32_t strip_char = ' ';             // Strip
  size_t strip_start = 0, strip_stop = 0;
  std::string replacement;               // Metaspace
  PrependScheme prepend_scheme = PrependScheme::Always;
};

// ---- the whole tokenizer ---------------------------------------------------

struct TokenizerData {
  Model model;
  std::vector<NormalizerStep> normalizers;
  std::vector<PreTokenizerStep> pre_tokenizers;
  bool has_decoder = false;
  std::vector<DecoderStep> decoders;
  bool has_template = false;
  std::vector<TemplatePiece> template_single;
  std::vector<TemplatePiece> template_pair;

  std::vector<AddedToken> added_tokens;
  AddedTokenMatcher raw_matcher;         // tokens with normalized == false
  std::vector<size_t> raw_tokens;        // matcher index -> added_tokens index
  AddedTokenMatcher normalized_matcher;  // tokens with normalized == true
  std::vector<size_t> normalized_tokens;

  std::vector<std::string> id_to_token;  // model vocab and added tokens
  std::vector<uint8_t> special;          // per id: an added token marked special
  std::unordered_map<std::string, int32_t> added_by_content;

  std::optional<int32_t> default_bos, default_eos;

  // Per id: a <0xNN> token that a ByteFallback decoder merges with its
  // neighbours (a run of them is decoded as a whole, so streaming waits for
  // the run to end). All zero without a ByteFallback decoder.
  std::vector<uint8_t> byte_fallback_token;

  // Fills the matchers, id tables and default BOS/EOS once the stages above are set.
  void finish();
};

// Shared pieces of the stages.
void split_gpt2(std::string_view text, std::vector<std::string_view>* words);
void split_llama3(std::string_view text, size_t max_digits, std::vector<std::string_view>* words);
const std::array<std::string, 256>& byte_to_unicode();  // GPT-2's byte -> printable char
// Inverse of byte_to_unicode for one code point; -1 when not in the table.
int byte_from_unicode(uint32_t codepoint);
void normalize(const std::vector<NormalizerStep>& steps, std::string* text);
std::string replace_all(std::string_view text, std::string_view pattern, std::string_view with);
// Every match of `pattern` in `text` replaced by `with` (HF's NormalizedString::replace).
std::string replace_regex(std::string_view text, const Regex& pattern, std::string_view with);

}  // namespace ws::tokenizer_detail
