// tokenizer.json's "model" (BPE) and "added_tokens".
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "tokenizer/json_loader.h"
#include "tokenizer/pipeline.h"

namespace ws::tokenizer_detail {
namespace {

Result<std::pair<std::string, std::string>> parse_merge(const Json& merge, size_t rank) {
  const std::string where = "model.merges[" + std::to_string(rank) + "]";
  if (merge.is_string()) {
    // "left right": tokens never contain a space in this form.
    const std::string& text = merge.get_ref<const std::string&>();
    size_t space = text.find(' ');
    if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos) {
      return make_error(ErrorKind::InvalidConfig,
                        "tokenizer.json: " + where + ": expected \"left right\", found \"" + text + "\"");
    }
    return std::make_pair(text.substr(0, space), text.substr(space + 1));
  }
  if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
    return std::make_pair(merge[0].get<std::string>(), merge[1].get<std::string>());
  }
  return make_error(ErrorKind::InvalidConfig,
                    "tokenizer.json: " + where + ": expected a \"left right\" string or a [left, right] pair");
}

}  // namespace

Result<std::unordered_map<std::string, int32_t>> vocab_object(const Json& model) {
  const Json* vocab_json = member(model, "vocab");
  if (!vocab_json || !vocab_json->is_object()) {
    return make_error(ErrorKind::InvalidConfig, "tokenizer.json: model.vocab: expected an object of token -> id");
  }
  std::unordered_map<std::string, int32_t> vocab;
  vocab.reserve(vocab_json->size());
  for (const auto& [token, id_json] : vocab_json->items()) {
    std::optional<int32_t> id = as_id(id_json);
    if (!id) {
      return make_error(ErrorKind::InvalidConfig,
                        "tokenizer.json: model.vocab['" + token + "']: expected an id in [0, 2^31)");
    }
    vocab.emplace(token, *id);
  }
  return vocab;
}

Status load_wordpiece(const Json& model, TokenizerData* data) {
  WordPieceModel& wordpiece = data->model.wordpiece;
  WS_ASSIGN_OR_RETURN(wordpiece.vocab, vocab_object(model));
  WS_ASSIGN_OR_RETURN(auto unk, optional_string(model, "model", "unk_token"));
  WS_ASSIGN_OR_RETURN(auto prefix, optional_string(model, "model", "continuing_subword_prefix"));
  wordpiece.unk_token = unk.value_or("[UNK]");
  wordpiece.continuing_subword_prefix = prefix.value_or("##");
  WS_ASSIGN_OR_RETURN(wordpiece.max_input_chars_per_word, count_or(model, "model", "max_input_chars_per_word", 100));
  data->model.kind = Model::Kind::WordPiece;
  return Status::ok();
}

Status load_wordlevel(const Json& model, TokenizerData* data) {
  WordLevelModel& wordlevel = data->model.wordlevel;
  WS_ASSIGN_OR_RETURN(wordlevel.vocab, vocab_object(model));
  WS_ASSIGN_OR_RETURN(auto unk, optional_string(model, "model", "unk_token"));
  wordlevel.unk_token = unk.value_or("<unk>");
  data->model.kind = Model::Kind::WordLevel;
  return Status::ok();
}

// A score as tokenizers holds it. serde_json (built without float_roundtrip,
// as tokenizers uses it) reads a float as its decimal significand rounded to
// f64, then divided or multiplied by a power of ten: a second rounding, 1 ULP
// off the exact value for some scores (47 of 1056 in a trained test model).
// Viterbi ties between segmentations of equal score turn on that last bit, so
// the score is re-read the same way from its shortest decimal form (what
// serde_json and Python's json write, so what the file holds).
double serde_json_f64(double exact) {
  if (!std::isfinite(exact) || exact == 0) return exact;
  char text[40];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(text, sizeof(text), "%.*e", digits - 1, exact);
    if (std::strtod(text, nullptr) == exact) break;  // the shortest round-trip form
  }
  uint64_t significand = 0;
  int exponent = 0;
  const char* p = text + (text[0] == '-');
  for (; *p && *p != 'e'; ++p) {
    if (*p == '.') continue;
    significand = significand * 10 + static_cast<uint64_t>(*p - '0');
  }
  const char* point = std::strchr(text, '.');
  const int fraction_digits = point ? static_cast<int>(p - point - 1) : 0;
  if (*p == 'e') exponent = std::atoi(p + 1);
  exponent -= fraction_digits;
  double value = static_cast<double>(significand);
  while (exponent < -308) {  // serde_json: divide by 1e308 until the table covers the rest
    value /= 1e308;
    exponent += 308;
  }
  char power[16];
  std::snprintf(power, sizeof(power), "1e%d", exponent < 0 ? -exponent : exponent);
  const double ten_to = std::strtod(power, nullptr);  // the correctly rounded constant, as in its table
  value = exponent < 0 ? value / ten_to : value * ten_to;
  return text[0] == '-' ? -value : value;
}

// "vocab": [[piece, score], ...] (the index is the id), "unk_id", "byte_fallback".
Status load_unigram(const Json& model, TokenizerData* data) {
  UnigramModel& unigram = data->model.unigram;
  const Json* vocab = member(model, "vocab");
  if (!vocab || !vocab->is_array()) {
    return make_error(ErrorKind::InvalidConfig, "tokenizer.json: model.vocab: expected [[piece, score], ...]");
  }
  unigram.pieces.reserve(vocab->size());
  unigram.min_score = vocab->empty() ? 0 : std::numeric_limits<double>::infinity();
  for (size_t id = 0; id < vocab->size(); ++id) {
    const Json& entry = (*vocab)[id];
    if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() || !entry[1].is_number() ||
        id >= static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
      return make_error(ErrorKind::InvalidConfig,
                        "tokenizer.json: model.vocab[" + std::to_string(id) + "]: expected [piece, score]");
    }
    const std::string& piece = entry[0].get_ref<const std::string&>();
    const double score = serde_json_f64(entry[1].get<double>());
    unigram.pieces.emplace_back(piece, score);
    unigram.vocab.insert_or_assign(piece, static_cast<int32_t>(id));  // HF: the last of duplicate pieces wins
    unigram.min_score = std::min(unigram.min_score, score);
    unigram.longest_piece = std::max(unigram.longest_piece, piece.size());
  }
  if (const Json* unk = member(model, "unk_id")) {
    std::optional<int32_t> id = as_id(*unk);
    if (!id || static_cast<size_t>(*id) >= unigram.pieces.size()) {
      return field_error("model", "unk_id", "expected an id inside the vocabulary");
    }
    unigram.unk_id = *id;
  }
  WS_ASSIGN_OR_RETURN(unigram.byte_fallback, bool_or(model, "model", "byte_fallback", false));
  data->model.kind = Model::Kind::Unigram;
  return Status::ok();
}

Status load_bpe_model(const Json& root, TokenizerData* data) {
  const Json* model = member(root, "model");
  if (!model || !model->is_object()) {
    return make_error(ErrorKind::InvalidConfig, "tokenizer.json: no \"model\" object");
  }
  std::string type = type_of(*model);
  // Files written before "type" was serialized are recognised by their fields.
  if (type.empty() && member(*model, "merges")) type = "BPE";
  if (type.empty() && member(*model, "max_input_chars_per_word")) type = "WordPiece";
  if (const Json* vocab = member(*model, "vocab"); type.empty() && vocab && vocab->is_array()) type = "Unigram";
  if (type == "WordPiece") return load_wordpiece(*model, data);
  if (type == "WordLevel") return load_wordlevel(*model, data);
  if (type == "Unigram") return load_unigram(*model, data);
  if (type != "BPE") return unsupported("model", type.empty() ? "(untagged)" : type);

  WS_ASSIGN_OR_RETURN(auto vocab, vocab_object(*model));

  std::vector<std::pair<std::string, std::string>> merges;
  if (const Json* merges_json = member(*model, "merges")) {
    if (!merges_json->is_array()) {
      return make_error(ErrorKind::InvalidConfig, "tokenizer.json: model.merges: expected an array");
    }
    merges.reserve(merges_json->size());
    for (size_t rank = 0; rank < merges_json->size(); ++rank) {
      WS_ASSIGN_OR_RETURN(auto merge, parse_merge((*merges_json)[rank], rank));
      merges.push_back(std::move(merge));
    }
  }

  // Dropout is ignored: inference wants the deterministic segmentation.
  BpeOptions options;
  const std::string path = "model";
  WS_ASSIGN_OR_RETURN(options.unk_token, optional_string(*model, path, "unk_token"));
  WS_ASSIGN_OR_RETURN(auto prefix, optional_string(*model, path, "continuing_subword_prefix"));
  WS_ASSIGN_OR_RETURN(auto suffix, optional_string(*model, path, "end_of_word_suffix"));
  options.continuing_subword_prefix = prefix.value_or("");
  options.end_of_word_suffix = suffix.value_or("");
  WS_ASSIGN_OR_RETURN(options.fuse_unk, bool_or(*model, path, "fuse_unk", false));
  WS_ASSIGN_OR_RETURN(options.byte_fallback, bool_or(*model, path, "byte_fallback", false));
  WS_ASSIGN_OR_RETURN(options.ignore_merges, bool_or(*model, path, "ignore_merges", false));

  auto built = BpeModel::build(std::move(vocab), merges, std::move(options));
  if (!built) return make_error(built.error().kind, "tokenizer.json: " + built.error().message);
  data->model.bpe = std::move(built).value();
  return Status::ok();
}

Status load_added_tokens(const Json& root, TokenizerData* data) {
  const Json* list = member(root, "added_tokens");
  if (!list) return Status::ok();
  if (!list->is_array()) return make_error(ErrorKind::InvalidConfig, "tokenizer.json: added_tokens: expected an array");
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& entry = (*list)[i];
    const std::string path = "added_tokens[" + std::to_string(i) + "]";
    const Json* id = member(entry, "id");
    const Json* content = member(entry, "content");
    std::optional<int32_t> token_id = id ? as_id(*id) : std::nullopt;
    if (!token_id || !content || !content->is_string()) {
      return make_error(ErrorKind::InvalidConfig, "tokenizer.json: " + path + ": needs an integer id and a content string");
    }
    AddedToken token;
    token.id = *token_id;
    token.content = content->get<std::string>();
    WS_ASSIGN_OR_RETURN(token.special, bool_or(entry, path, "special", false));
    WS_ASSIGN_OR_RETURN(token.lstrip, bool_or(entry, path, "lstrip", false));
    WS_ASSIGN_OR_RETURN(token.rstrip, bool_or(entry, path, "rstrip", false));
    WS_ASSIGN_OR_RETURN(token.single_word, bool_or(entry, path, "single_word", false));
    WS_ASSIGN_OR_RETURN(token.normalized, bool_or(entry, path, "normalized", !token.special));
    data->added_tokens.push_back(std::move(token));
  }
  return Status::ok();
}

}  // namespace ws::tokenizer_detail
