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

// Replace's pattern: {"String": "..."}; {"Regex": ...} is not supported.
Result<std::string> string_pattern(const Json& object, const char* component) {
  const Json* pattern = member(object, "pattern");
  if (const Json* text = pattern ? member(*pattern, "String") : nullptr; text && text->is_string()) {
    return text->get<std::string>();
  }
  if (pattern && member(*pattern, "Regex")) {
    return make_error(ErrorKind::Unsupported, std::string("tokenizer.json: ") + component +
                                                  " Replace with a Regex pattern is not supported");
  }
  return make_error(ErrorKind::InvalidConfig,
                    std::string("tokenizer.json: ") + component + " Replace: expected pattern {\"String\": ...}");
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
    WS_ASSIGN_OR_RETURN(step.pattern, string_pattern(object, "normalizer"));
    WS_ASSIGN_OR_RETURN(auto content, optional_string(object, "normalizer", "content"));
    step.content = content.value_or("");
  } else if (type == "Strip") {
    step.kind = NormalizerKind::Strip;
    WS_ASSIGN_OR_RETURN(step.strip_left, bool_or(object, "normalizer", "strip_left", true));
    WS_ASSIGN_OR_RETURN(step.strip_right, bool_or(object, "normalizer", "strip_right", true));
  } else {
    return unsupported("normalizer", type);
  }
  steps->push_back(std::move(step));
  return Status::ok();
}

// Split's regex, recognised by its exact text (no regex engine here).
Result<SplitRegex> split_regex(const Json& object) {
  static constexpr std::string_view kGpt2 =
      R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
  static constexpr std::string_view kLlama3 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  static constexpr std::string_view kQwen2 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  const Json* pattern = member(object, "pattern");
  const Json* regex = pattern ? member(*pattern, "Regex") : nullptr;
  if (!regex || !regex->is_string()) {
    return make_error(ErrorKind::Unsupported, "tokenizer.json: pre_tokenizer Split: only {\"Regex\": ...} patterns "
                                              "are supported");
  }
  const std::string& text = regex->get_ref<const std::string&>();
  if (text == kGpt2) return SplitRegex::Gpt2;
  if (text == kLlama3) return SplitRegex::Llama3;
  if (text == kQwen2) return SplitRegex::Qwen2;
  return make_error(ErrorKind::Unsupported, "tokenizer.json: pre_tokenizer Split regex '" + text +
                                                "' is not supported (only the GPT-2, Llama 3 and Qwen2 ones)");
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
    WS_ASSIGN_OR_RETURN(step.regex, split_regex(object));
    WS_ASSIGN_OR_RETURN(auto behavior, optional_string(object, "pre_tokenizer", "behavior"));
    WS_ASSIGN_OR_RETURN(bool invert, bool_or(object, "pre_tokenizer", "invert", false));
    if (behavior.value_or("Isolated") != "Isolated" || invert) {
      return make_error(ErrorKind::Unsupported, "tokenizer.json: pre_tokenizer Split: only behavior \"Isolated\" "
                                                "without invert is supported");
    }
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
    WS_ASSIGN_OR_RETURN(step.pattern, string_pattern(object, "decoder"));
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
    data->template_single = {cls, TemplatePiece{true, {}}, sep};
    return Status::ok();
  }
  const Json* single = member(object, "single");
  const Json* specials = member(object, "special_tokens");
  if (!single || !single->is_array()) return field_error("post_processor", "single", "expected an array");
  for (const Json& piece : *single) {
    if (member(piece, "Sequence")) {
      data->template_single.push_back(TemplatePiece{true, {}});
      continue;
    }
    const Json* special = member(piece, "SpecialToken");
    const Json* name = special ? member(*special, "id") : nullptr;
    if (!name || !name->is_string()) {
      return field_error("post_processor", "single", "expected Sequence or SpecialToken entries");
    }
    const Json* entry = specials ? member(*specials, name->get_ref<const std::string&>().c_str()) : nullptr;
    const Json* ids = entry ? member(*entry, "ids") : nullptr;
    if (!ids || !ids->is_array()) {
      return field_error("post_processor", "special_tokens",
                         "no ids for template token '" + name->get<std::string>() + "'");
    }
    TemplatePiece out{false, {}};
    for (const Json& id : *ids) {
      std::optional<int32_t> value = as_id(id);
      if (!value) return field_error("post_processor", "special_tokens", "ids must be non-negative integers");
      out.ids.push_back(*value);
    }
    data->template_single.push_back(std::move(out));
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
    if (step.kind == NormalizerKind::Replace && !step.pattern.empty()) {
      const double ratio = std::max(1.0, static_cast<double>(step.content.size()) / step.pattern.size());
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
