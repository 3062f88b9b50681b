// tokenizer.json synthesized from tokenizer.ggml.* metadata, the inverse of
// what llama.cpp's convert_hf_to_gguf.py reads from a Hugging Face tokenizer:
//   "gpt2"  -> byte-level BPE (vocab + merges), pre-tokenizer chosen by
//              tokenizer.ggml.pre as llama.cpp's llama-vocab.cpp does;
//   "llama" -> SentencePiece-style BPE with byte fallback, merges rebuilt
//              from the scores as transformers' SentencePieceExtractor does.
#include <algorithm>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "format/gguf.h"

namespace ws {

namespace {

using json = nlohmann::json;

// llama_token_type (llama.h).
constexpr uint64_t kTokenUnknown = 2, kTokenControl = 3, kTokenUserDefined = 4;

constexpr const char* kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

json byte_level(bool add_prefix_space, bool use_regex) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", add_prefix_space}, {"trim_offsets", true},
          {"use_regex", use_regex}};
}

json split(const char* regex) {
  return {{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}};
}

// The pre-tokenizer of each tokenizer.ggml.pre value we know.
Result<json> gpt2_pre_tokenizer(const std::string& pre, std::string_view file_name) {
  if (pre.empty() || pre == "default" || pre == "gpt-2" || pre == "gpt2") return byte_level(false, true);
  if (pre == "smollm" || pre == "starcoder" || pre == "refact" || pre == "codeshell") {
    // llama.cpp: "\p{N}" then the GPT-2 regex, i.e. Hugging Face's Digits(individual) + ByteLevel.
    return json{{"type", "Sequence"},
                {"pretokenizers", json::array({{{"type", "Digits"}, {"individual_digits", true}},
                                               byte_level(false, true)})}};
  }
  if (pre == "llama-bpe" || pre == "llama3") {
    return json{{"type", "Sequence"}, {"pretokenizers", json::array({split(kLlama3Regex), byte_level(false, false)})}};
  }
  if (pre == "qwen2") {
    return json{{"type", "Sequence"}, {"pretokenizers", json::array({split(kQwen2Regex), byte_level(false, false)})}};
  }
  return make_error(ErrorKind::Unsupported,
                    std::string(file_name) + ": tokenizer.ggml.pre \"" + pre +
                        "\" (supported: default, gpt-2, smollm, starcoder, refact, codeshell, llama-bpe, qwen2)");
}

// transformers' SentencePieceExtractor: every split of a piece into two pieces
// of the vocabulary is a merge; merges rank by the merged piece's score.
json spm_merges(const std::vector<std::string>& tokens, const std::vector<double>& scores) {
  std::unordered_map<std::string, size_t> id;
  for (size_t i = 0; i < tokens.size(); ++i) id.emplace(tokens[i], i);
  struct Merge {
    size_t left, right;
    double score;
  };
  std::vector<Merge> merges;
  for (size_t t = 0; t < tokens.size(); ++t) {
    const std::string& piece = tokens[t];
    std::vector<Merge> local;
    for (size_t cut = 1; cut < piece.size(); ++cut) {
      if ((static_cast<uint8_t>(piece[cut]) & 0xC0) == 0x80) continue;  // split on characters, not bytes
      auto l = id.find(piece.substr(0, cut)), r = id.find(piece.substr(cut));
      if (l != id.end() && r != id.end()) local.push_back({l->second, r->second, t < scores.size() ? scores[t] : 0});
    }
    std::sort(local.begin(), local.end(),
              [](const Merge& a, const Merge& b) { return a.left != b.left ? a.left < b.left : a.right < b.right; });
    merges.insert(merges.end(), local.begin(), local.end());
  }
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) { return a.score > b.score; });
  json out = json::array();
  for (const Merge& m : merges) out.push_back(json::array({tokens[m.left], tokens[m.right]}));
  return out;
}

}  // namespace

Result<std::string> gguf_tokenizer_json(const GgufHeader& header, std::string_view file_name) {
  const std::string model = header.get_string("tokenizer.ggml.model").value_or("");
  const std::vector<std::string>* tokens = header.get_strings("tokenizer.ggml.tokens");
  if (!tokens) {
    return make_error(ErrorKind::InvalidConfig, std::string(file_name) + ": no tokenizer.ggml.tokens string array");
  }
  const GgufValue* types = header.find("tokenizer.ggml.token_type");
  auto token_type = [&](size_t i) -> uint64_t {
    return types && types->is_array() && i < types->integers.size() ? types->integers[i] : 1;
  };
  const std::optional<uint64_t> bos = header.get_uint("tokenizer.ggml.bos_token_id");
  const bool add_bos = header.get_bool("tokenizer.ggml.add_bos_token").value_or(model == "llama");

  json tokenizer = {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}};
  json added = json::array();
  json vocab = json::object();
  for (size_t i = 0; i < tokens->size(); ++i) {
    vocab[(*tokens)[i]] = i;
    const uint64_t type = token_type(i);
    if (type == kTokenControl || type == kTokenUserDefined || (model == "llama" && type == kTokenUnknown)) {
      added.push_back({{"id", i}, {"content", (*tokens)[i]}, {"single_word", false}, {"lstrip", false},
                       {"rstrip", false}, {"normalized", type == kTokenUserDefined}, {"special", type != kTokenUserDefined}});
    }
  }
  tokenizer["added_tokens"] = added;

  json post = nullptr;
  if (add_bos && bos && *bos < tokens->size()) {
    const std::string& b = (*tokens)[*bos];
    post = {{"type", "TemplateProcessing"},
            {"single", json::array({{{"SpecialToken", {{"id", b}, {"type_id", 0}}}},
                                    {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
            {"pair", json::array({{{"SpecialToken", {{"id", b}, {"type_id", 0}}}},
                                  {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                  {{"SpecialToken", {{"id", b}, {"type_id", 1}}}},
                                  {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}})},
            {"special_tokens", {{b, {{"id", b}, {"ids", json::array({*bos})}, {"tokens", json::array({b})}}}}}};
  }

  if (model == "gpt2") {
    const std::vector<std::string>* merges = header.get_strings("tokenizer.ggml.merges");
    if (!merges) {
      return make_error(ErrorKind::InvalidConfig, std::string(file_name) + ": a gpt2 tokenizer without tokenizer.ggml.merges");
    }
    WS_ASSIGN_OR_RETURN(json pre, gpt2_pre_tokenizer(header.get_string("tokenizer.ggml.pre").value_or(""), file_name));
    tokenizer["normalizer"] = nullptr;
    tokenizer["pre_tokenizer"] = pre;
    tokenizer["post_processor"] = post.is_null() ? json(byte_level(true, true)) : post;
    if (post.is_null()) tokenizer["post_processor"]["trim_offsets"] = false;
    tokenizer["decoder"] = byte_level(true, true);
    tokenizer["model"] = {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr},
                          {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
                          {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", false},
                          {"vocab", vocab}, {"merges", *merges}};
  } else if (model == "llama") {
    const GgufValue* scores = header.find("tokenizer.ggml.scores");
    static const std::vector<double> kNoScores;
    const std::vector<double>& score_list = scores && scores->is_array() ? scores->floats : kNoScores;
    const bool prefix_space = header.get_bool("tokenizer.ggml.add_space_prefix").value_or(true);
    json normalizers = json::array();
    if (prefix_space) normalizers.push_back({{"type", "Prepend"}, {"prepend", "\u2581"}});
    normalizers.push_back({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\u2581"}});
    tokenizer["normalizer"] = {{"type", "Sequence"}, {"normalizers", normalizers}};
    tokenizer["pre_tokenizer"] = nullptr;
    tokenizer["post_processor"] = post;
    json decoders = json::array({{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}},
                                 {{"type", "ByteFallback"}},
                                 {{"type", "Fuse"}}});
    if (prefix_space) decoders.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
    tokenizer["decoder"] = {{"type", "Sequence"}, {"decoders", decoders}};
    const std::optional<uint64_t> unk = header.get_uint("tokenizer.ggml.unknown_token_id");
    tokenizer["model"] = {{"type", "BPE"}, {"dropout", nullptr},
                          {"unk_token", unk && *unk < tokens->size() ? json((*tokens)[*unk]) : json(nullptr)},
                          {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
                          {"fuse_unk", true}, {"byte_fallback", true}, {"ignore_merges", false},
                          {"vocab", vocab}, {"merges", spm_merges(*tokens, score_list)}};
  } else {
    return make_error(ErrorKind::Unsupported, std::string(file_name) + ": tokenizer.ggml.model \"" + model +
                                                  "\" (supported: gpt2, llama)");
  }
  return tokenizer.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace ws
