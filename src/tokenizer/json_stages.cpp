// tokenizer.json's "normalizer", "pre_tokenizer", "post_processor" and
// "decoder": each a typed object, possibly a Sequence of them. Anything we do
// not implement is an Unsupported error naming it, never a silent mismatch.
#include <algorithm>

#include "tokenizer/json_loader.h"
#include "tokenizer/pipeline.h"
#include "tokenizer/unicode.h"

namespace ws::tokenizer_detail {
namespace {

const char* kMetaspace = "\xE2\x96\x81";  // "▁"

// A Split or Replace pattern: {"String": "..."} (matched literally) or
// {"Regex": "..."} (Oniguruma syntax); HF compiles both into its SysRegex.
Result<Regex> pattern_regex(const Json& object, const char* component, const char* type) {
  const Json* pattern = member(object, "pattern");
  if (const Json* text = pattern ? member(*pattern, "String") : nullptr; text && text->is_string()) {
    return Regex::literal(text->get_ref<const std::string&>());
  }
  if (const Json* text = pattern ? member(*pattern, "Regex") : nullptr; text && text->is_string()) {
    Result<Regex> regex = Regex::compile(text->get_ref<const std::string&>());
    if (!regex) {
      return make_error(regex.error().kind, std::string("tokenizer.json: ") + component + " " + type + ": " +
                                                regex.error().message);
    }
    return regex;
  }
  return make_error(ErrorKind::InvalidConfig, std::string("tokenizer.json: ") + component + " " + type +
                                                  ": expected pattern {\"String\": ...} or {\"Regex\": ...}");
}

Result<PrependScheme> prepend_scheme(const Json& object, const char* path) {
  if (const Json* scheme = member(object, "prepend_scheme")) {
    if (scheme->is_string()) {
      const std::string& s = scheme->get_ref<const std::string&>();
      if (s == "always") return PrependScheme::Always;
      if (s == "first") return PrependScheme::First;
      if (s == "never") return PrependScheme::Never;
    }
    return field_error(path, "prepend_scheme", "expected \"always\", \"first\" or \"never\"");
  }
  // Older files: add_prefix_space instead of prepend_scheme.
  WS_ASSIGN_OR_RETURN(bool add_prefix_space, bool_or(object, path, "add_prefix_space", true));
  return add_prefix_space ? PrependScheme::Always : PrependScheme::Never;
}

Status add_normalizer(const Json& object, std::vector<NormalizerStep>* steps) {
  std::string type = type_of(object);
  if (type == "Sequence") {
    const Json* list = member(object, "normalizers");
    if (!list || !list->is_array()) return field_error("normalizer", "normalizers", "expected an array");
    for (const Json& item : *list) WS_TRY(add_normalizer(item, steps));
    return Status::ok();
  }
  NormalizerStep step{};
  if (type == "Prepend") {
    WS_ASSIGN_OR_RETURN(auto prepend, optional_string(object, "normalizer", "prepend"));
    step.kind = NormalizerKind::Prepend;
    step.content = prepend.value_or("");
  } else if (type == "Replace") {
    step.kind = NormalizerKind::Replace;
    WS_ASSIGN_OR_RETURN(step.pattern, pattern_regex(object, "normalizer", "Replace"));
    WS_ASSIGN_OR_RETURN(auto content, optional_string(object, "normalizer", "content"));
    step.content = content.value_or("");
  } else if (type == "Strip") {
    step.kind = NormalizerKind::Strip;
    WS_ASSIGN_OR_RETURN(step.strip_left, bool_or(object, "normalizer", "strip_left", true));
    WS_ASSIGN_OR_RETURN(step.strip_right, bool_or(object, "normalizer", "strip_right", true));
  } else if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
    step.kind = type == "NFC" ? NormalizerKind::Nfc : type == "NFD" ? NormalizerKind::Nfd
              : type == "NFKC" ? NormalizerKind::Nfkc : NormalizerKind::Nfkd;
  } else if (type == "Lowercase") {
    step.kind = NormalizerKind::Lowercase;
  } else if (type == "StripAccents") {
    step.kind = NormalizerKind::StripAccents;
  } else if (type == "BertNormalizer") {
    step.kind = NormalizerKind::Bert;
    WS_ASSIGN_OR_RETURN(step.bert_clean_text, bool_or(object, "normalizer", "clean_text", true));
    WS_ASSIGN_OR_RETURN(step.bert_chinese_chars, bool_or(object, "normalizer", "handle_chinese_chars", true));
    WS_ASSIGN_OR_RETURN(step.bert_lowercase, bool_or(object, "normalizer", "lowercase", true));
    // strip_accents: null means "as lowercase".
    WS_ASSIGN_OR_RETURN(step.bert_strip_accents, bool_or(object, "normalizer", "strip_accents", step.bert_lowercase));
  } else if (type == "Precompiled") {
    const Json* map = member(object, "precompiled_charsmap");
    if (!map || map->is_null() || (map->is_string() && map->get_ref<const std::string&>().empty())) {
      return Status::ok();  // an empty SentencePiece charsmap: the identity
    }
    if (!map->is_string()) return field_error("normalizer", "precompiled_charsmap", "expected a base64 string");
    WS_ASSIGN_OR_RETURN(PrecompiledCharsmap charsmap, PrecompiledCharsmap::from_base64(map->get_ref<const std::string&>()));
    step.kind = NormalizerKind::Precompiled;
    step.charsmap = std::make_shared<const PrecompiledCharsmap>(std::move(charsmap));
  } else {
    return unsupported("normalizer", type);
  }
  steps->push_back(std::move(step));
  return Status::ok();
}

// The patterns with a hand-written splitter (gpt2_split.cpp, llama3_split.cpp),
// recognised by their exact text; tests/tokenizer/regex_split_test.cpp proves
// each splitter identical to the engine on the parity corpus.
constexpr std::string_view kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr std::string_view kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

FastSplit fast_split_for(std::string_view regex) {
  if (regex == kGpt2Regex) return FastSplit::Gpt2;
  if (regex == kLlama3Regex) return FastSplit::Llama3;
  if (regex == kQwen2Regex) return FastSplit::Qwen2;
  return FastSplit::None;
}

Result<SplitBehavior> split_behavior(const Json& object, const char* type, const char* fallback) {
  WS_ASSIGN_OR_RETURN(auto behavior, optional_string(object, "pre_tokenizer", "behavior"));
  const std::string name = behavior.value_or(fallback);
  if (name == "Removed") return SplitBehavior::Removed;
  if (name == "Isolated") return SplitBehavior::Isolated;
  if (name == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (name == "Contiguous") return SplitBehavior::Contiguous;
  return make_error(ErrorKind::Unsupported, std::string("tokenizer.json: pre_tokenizer ") + type +
                                                ": behavior '" + name + "' is not supported");
}

Status add_pre_tokenizer(const Json& object, std::vector<PreTokenizerStep>* steps) {
  std::string type = type_of(object);
  if (type == "Sequence") {
    const Json* list = member(object, "pretokenizers");
    if (!list || !list->is_array()) return field_error("pre_tokenizer", "pretokenizers", "expected an array");
    for (const Json& item : *list) WS_TRY(add_pre_tokenizer(item, steps));
    return Status::ok();
  }
  PreTokenizerStep step{};
  if (type == "ByteLevel") {
    step.kind = PreTokenizerKind::ByteLevel;
    WS_ASSIGN_OR_RETURN(step.add_prefix_space, bool_or(object, "pre_tokenizer", "add_prefix_space", true));
    WS_ASSIGN_OR_RETURN(step.use_regex, bool_or(object, "pre_tokenizer", "use_regex", true));
  } else if (type == "Metaspace") {
    step.kind = PreTokenizerKind::Metaspace;
    WS_ASSIGN_OR_RETURN(auto replacement, optional_string(object, "pre_tokenizer", "replacement"));
    step.replacement = replacement.value_or(kMetaspace);
    WS_ASSIGN_OR_RETURN(step.prepend_scheme, prepend_scheme(object, "pre_tokenizer"));
    WS_ASSIGN_OR_RETURN(step.split, bool_or(object, "pre_tokenizer", "split", true));
  } else if (type == "Split") {
    step.kind = PreTokenizerKind::Split;
    WS_ASSIGN_OR_RETURN(step.regex, pattern_regex(object, "pre_tokenizer", "Split"));
    WS_ASSIGN_OR_RETURN(step.behavior, split_behavior(object, "Split", "Isolated"));
    WS_ASSIGN_OR_RETURN(step.invert, bool_or(object, "pre_tokenizer", "invert", false));
    const Json* pattern = member(object, "pattern");
    const Json* regex = pattern ? member(*pattern, "Regex") : nullptr;
    if (regex && step.behavior == SplitBehavior::Isolated && !step.invert) {
      step.fast = fast_split_for(regex->get_ref<const std::string&>());
    }
  } else if (type == "Whitespace") {
    // HF: \w+|[^\w\s]+ with the matches kept and the rest (whitespace)
    // removed, in the Rust regex crate, whose \w is UTS #18's (Alphabetic,
    // marks, Nd, Pc, Join_Control) and \s White_Space; Oniguruma's \w takes
    // every number (x² would stay one word), so the classes are spelled out.
    step.kind = PreTokenizerKind::Whitespace;
    WS_ASSIGN_OR_RETURN(step.regex, Regex::compile(
        R"([\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]+|[^\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}\p{White_Space}]+)"));
    step.behavior = SplitBehavior::Removed;
    step.invert = true;
  } else if (type == "UnicodeScripts") {
    step.kind = PreTokenizerKind::UnicodeScripts;
  } else if (type == "WhitespaceSplit") {
    step.kind = PreTokenizerKind::WhitespaceSplit;
  } else if (type == "Punctuation") {
    step.kind = PreTokenizerKind::Punctuation;
    WS_ASSIGN_OR_RETURN(step.behavior, split_behavior(object, "Punctuation", "Isolated"));
  } else if (type == "BertPreTokenizer") {
    // HF: split on whitespace (removed), then isolate each punctuation character.
    step.kind = PreTokenizerKind::WhitespaceSplit;
    steps->push_back(step);
    step.kind = PreTokenizerKind::Punctuation;
    step.behavior = SplitBehavior::Isolated;
  } else if (type == "Digits") {
    step.kind = PreTokenizerKind::Digits;
    WS_ASSIGN_OR_RETURN(step.individual_digits, bool_or(object, "pre_tokenizer", "individual_digits", false));
  } else {
    return unsupported("pre_tokenizer", type);
  }
  steps->push_back(std::move(step));
  return Status::ok();
}

Status add_decoder(const Json& object, std::vector<DecoderStep>* steps) {
  std::string type = type_of(object);
  if (type == "Sequence") {
    const Json* list = member(object, "decoders");
    if (!list || !list->is_array()) return field_error("decoder", "decoders", "expected an array");
    for (const Json& item : *list) WS_TRY(add_decoder(item, steps));
    return Status::ok();
  }
  DecoderStep step{};
  if (type == "ByteLevel") {
    step.kind = DecoderKind::ByteLevel;
  } else if (type == "Metaspace") {
    step.kind = DecoderKind::Metaspace;
    WS_ASSIGN_OR_RETURN(auto replacement, optional_string(object, "decoder", "replacement"));
    step.replacement = replacement.value_or(kMetaspace);
    WS_ASSIGN_OR_RETURN(step.prepend_scheme, prepend_scheme(object, "decoder"));
  } else if (type == "Replace") {
    step.kind = DecoderKind::Replace;
    WS_ASSIGN_OR_RETURN(step.pattern, pattern_regex(object, "decoder", "Replace"));
    WS_ASSIGN_OR_RETURN(auto content, optional_string(object, "decoder", "content"));
    step.content = content.value_or("");
  } else if (type == "ByteFallback") {
    step.kind = DecoderKind::ByteFallback;
  } else if (type == "Fuse") {
    step.kind = DecoderKind::Fuse;
  } else if (type == "Strip") {
    step.kind = DecoderKind::Strip;
    WS_ASSIGN_OR_RETURN(auto content, optional_string(object, "decoder", "content"));
    std::string text = content.value_or(" ");
    uint32_t cp = ' ';
    if (text.empty() || utf8_decode(text, 0, &cp) != text.size()) {
      return field_error("decoder", "content", "Strip needs exactly one character");
    }
    step.strip_char = cp;
    WS_ASSIGN_OR_RETURN(step.strip_start, count_or(object, "decoder", "start", 0));
    WS_ASSIGN_OR_RETURN(step.strip_stop, count_or(object, "decoder", "stop", 0));
  } else if (type == "WordPiece") {
    step.kind = DecoderKind::WordPiece;
    WS_ASSIGN_OR_RETURN(auto prefix, optional_string(object, "decoder", "prefix"));
    step.prefix = prefix.value_or("##");
    WS_ASSIGN_OR_RETURN(step.cleanup, bool_or(object, "decoder", "cleanup", true));
  } else if (type == "CTC") {
    step.kind = DecoderKind::Ctc;
    WS_ASSIGN_OR_RETURN(auto pad, optional_string(object, "decoder", "pad_token"));
    step.content = pad.value_or("<pad>");
    WS_ASSIGN_OR_RETURN(auto delimiter, optional_string(object, "decoder", "word_delimiter_token"));
    step.word_delimiter = delimiter.value_or("|");
    WS_ASSIGN_OR_RETURN(step.cleanup, bool_or(object, "decoder", "cleanup", true));
  } else {
    return unsupported("decoder", type);
  }
  steps->push_back(std::move(step));
  return Status::ok();
}

// "cls"/"sep" of Roberta/BertProcessing: ["<s>", 0].
Result<TemplatePiece> token_pair(const Json& object, const char* key) {
  const Json* pair = member(object, key);
  std::optional<int32_t> id = pair && pair->is_array() && pair->size() == 2 ? as_id((*pair)[1]) : std::nullopt;
  if (!id) return field_error("post_processor", key, "expected [token, id]");
  return TemplatePiece{false, {*id}};
}

// A TemplateProcessing "single" or "pair": Sequence pieces ("A" or "B") and
// SpecialToken pieces, whose ids come from "special_tokens".
Status parse_template(const Json& pieces, const Json* specials, const char* key, std::vector<TemplatePiece>* out) {
  for (const Json& piece : pieces) {
    if (const Json* sequence = member(piece, "Sequence")) {
      const Json* id = member(*sequence, "id");
      const bool second = id && id->is_string() && id->get_ref<const std::string&>() == "B";
      out->push_back(TemplatePiece{true, {}, second});
      continue;
    }
    const Json* special = member(piece, "SpecialToken");
    const Json* name = special ? member(*special, "id") : nullptr;
    if (!name || !name->is_string()) {
      return field_error("post_processor", key, "expected Sequence or SpecialToken entries");
    }
    const Json* entry = specials ? member(*specials, name->get_ref<const std::string&>().c_str()) : nullptr;
    const Json* ids = entry ? member(*entry, "ids") : nullptr;
    if (!ids || !ids->is_array()) {
      return field_error("post_processor", "special_tokens",
                         "no ids for template token '" + name->get<std::string>() + "'");
    }
    TemplatePiece token{false, {}, false};
    for (const Json& id : *ids) {
      std::optional<int32_t> value = as_id(id);
      if (!value) return field_error("post_processor", "special_tokens", "ids must be non-negative integers");
      token.ids.push_back(*value);
    }
    out->push_back(std::move(token));
  }
  return Status::ok();
}

Status add_post_processor(const Json& object, TokenizerData* data) {
  std::string type = type_of(object);
  if (type == "Sequence") {
    const Json* list = member(object, "processors");
    if (!list || !list->is_array()) return field_error("post_processor", "processors", "expected an array");
    for (const Json& item : *list) WS_TRY(add_post_processor(item, data));
    return Status::ok();
  }
  if (type == "ByteLevel") return Status::ok();  // only adjusts offsets
  if (type != "TemplateProcessing" && type != "RobertaProcessing" && type != "BertProcessing") {
    return unsupported("post_processor", type);
  }
  if (data->has_template) {
    return make_error(ErrorKind::Unsupported, "tokenizer.json: post_processor: more than one template");
  }
  data->has_template = true;
  if (type != "TemplateProcessing") {
    WS_ASSIGN_OR_RETURN(TemplatePiece cls, token_pair(object, "cls"));
    WS_ASSIGN_OR_RETURN(TemplatePiece sep, token_pair(object, "sep"));
    const TemplatePiece a{true, {}, false}, b{true, {}, true};
    data->template_single = {cls, a, sep};
    // Roberta: <s> A </s></s> B </s>; Bert: [CLS] A [SEP] B [SEP].
    if (type == "RobertaProcessing") data->template_pair = {cls, a, sep, sep, b, sep};
    else data->template_pair = {cls, a, sep, b, sep};
    return Status::ok();
  }
  const Json* specials = member(object, "special_tokens");
  const Json* single = member(object, "single");
  if (!single || !single->is_array()) return field_error("post_processor", "single", "expected an array");
  WS_TRY(parse_template(*single, specials, "single", &data->template_single));
  // Files always carry "pair"; without one a pair is its two encodings joined.
  if (const Json* pair = member(object, "pair"); pair && !pair->is_null()) {
    if (!pair->is_array()) return field_error("post_processor", "pair", "expected an array");
    WS_TRY(parse_template(*pair, specials, "pair", &data->template_pair));
  } else {
    data->template_pair = {TemplatePiece{true, {}, false}, TemplatePiece{true, {}, true}};
  }
  return Status::ok();
}

}  // namespace

// How much longer the normalizers may make a text, at most: real chains
// (Prepend "▁", Replace " " by "▁") stay under 4x; a chain of Replace steps
// that each multiply the text (a -> aa, 40 times) would grow a prompt past
// any memory. Checked when the file is loaded, so encode() stays total.
constexpr double kMaxNormalizerGrowth = 256;

Status check_normalizer_growth(const std::vector<NormalizerStep>& steps) {
  double factor = 1;    // output bytes per input byte, at most
  double added = 0;     // bytes added whatever the input (Prepend)
  for (const NormalizerStep& step : steps) {
    if (step.kind == NormalizerKind::Replace) {
      // A literal of n bytes grows by content/n at most; a regex match may be
      // a single byte (or empty: the content then lands between characters).
      const size_t shortest = step.pattern->literal_length().value_or(0);
      const double ratio = shortest ? std::max(1.0, static_cast<double>(step.content.size()) / shortest)
                                    : static_cast<double>(step.content.size()) + 1;
      factor *= ratio;
      added *= ratio;
    } else if (step.kind == NormalizerKind::Precompiled) {
      // Each replaced piece is at least one byte and becomes at most the
      // longest replacement.
      const double ratio = std::max<double>(1, static_cast<double>(step.charsmap->longest_replacement()));
      factor *= ratio;
      added *= ratio;
    } else if (step.kind != NormalizerKind::Prepend && step.kind != NormalizerKind::Strip &&
               step.kind != NormalizerKind::StripAccents) {
      // Unicode mappings: U+FDFA's NFKD is 12 times its UTF-8 length, the
      // longest; canonical ones and lowercase at most 3 times.
      const bool compatibility = step.kind == NormalizerKind::Nfkc || step.kind == NormalizerKind::Nfkd;
      const double ratio = compatibility ? 12 : 3;  // Bert: a CJK character gains two spaces, 3 bytes -> 5
      factor *= ratio;
      added *= ratio;
    } else if (step.kind == NormalizerKind::Prepend) {
      added += step.content.size();
    }
    if (factor > kMaxNormalizerGrowth || added > 65536) {
      return make_error(ErrorKind::OutOfBudget,
                        "tokenizer.json: the normalizer steps can make a text more than " +
                            std::to_string(static_cast<int>(kMaxNormalizerGrowth)) +
                            " times longer (or add more than 64 KiB): refused");
    }
  }
  return Status::ok();
}

Status load_normalizer(const Json& root, TokenizerData* data) {
  const Json* object = member(root, "normalizer");
  if (!object) return Status::ok();
  WS_TRY(add_normalizer(*object, &data->normalizers));
  return check_normalizer_growth(data->normalizers);
}

Status load_pre_tokenizer(const Json& root, TokenizerData* data) {
  const Json* object = member(root, "pre_tokenizer");
  return object ? add_pre_tokenizer(*object, &data->pre_tokenizers) : Status::ok();
}

Status load_post_processor(const Json& root, TokenizerData* data) {
  const Json* object = member(root, "post_processor");
  return object ? add_post_processor(*object, data) : Status::ok();
}

Status load_decoder(const Json& root, TokenizerData* data) {
  const Json* object = member(root, "decoder");
  if (!object) return Status::ok();
  data->has_decoder = true;
  return add_decoder(*object, &data->decoders);
}

}  // namespace ws::tokenizer_detail
