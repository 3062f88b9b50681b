// tokenizer.ggml.* from a Hugging Face tokenizer.json, as convert_hf_to_gguf.py
// writes it: "gpt2" (byte-level BPE: tokens, token types, merges, pre) or
// "llama" (SentencePiece-style BPE with byte fallback: tokens, token types,
// scores). The pre-tokenizer name is found by asking our own GGUF reader which
// name gives this tokenizer.json's pre-tokenizer, so reading and writing use
// one table.
#include <algorithm>
#include <cctype>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "cli/gguf_export.h"
#include "format/gguf.h"

namespace ws::cli {

namespace {

using json = nlohmann::json;

// llama_token_type (llama.h).
constexpr int32_t kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6;

Error invalid(const std::string& what) { return make_error(ErrorKind::InvalidConfig, "tokenizer.json: " + what); }

// A token given as a string or as {"content": ...} (tokenizer_config.json).
std::optional<std::string> token_text(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string()) {
    return value["content"].get<std::string>();
  }
  return std::nullopt;
}

bool contains_type(const json& component, const char* type) {
  if (!component.is_object()) return false;
  if (component.value("type", "") == type) return true;
  for (const char* list : {"normalizers", "pretokenizers", "decoders"}) {
    if (component.contains(list) && component[list].is_array()) {
      for (const json& c : component[list]) {
        if (contains_type(c, type)) return true;
      }
    }
  }
  return false;
}

bool byte_level_prefix_space(const json& component) {
  if (!component.is_object()) return false;
  if (component.value("type", "") == "ByteLevel") return component.value("add_prefix_space", false);
  if (component.contains("pretokenizers") && component["pretokenizers"].is_array()) {
    for (const json& c : component["pretokenizers"]) {
      if (byte_level_prefix_space(c)) return true;
    }
  }
  return false;
}

// `component` without the fields that do not change the ids a text gets
// (ByteLevel's trim_offsets only moves offsets: Qwen2 sets it false).
json without_offsets(json component) {
  if (component.is_object()) {
    component.erase("trim_offsets");
    for (auto& [key, value] : component.items()) value = without_offsets(value);
  } else if (component.is_array()) {
    for (json& value : component) value = without_offsets(value);
  }
  return component;
}

// The tokenizer.ggml.pre value whose pre-tokenizer (as our GGUF reader
// builds it) is `pre_tokenizer`.
Result<std::string> pre_tokenizer_name(const json& pre_tokenizer) {
  const json wanted = without_offsets(pre_tokenizer);
  for (const char* name : {"gpt-2", "smollm", "llama-bpe", "qwen2"}) {
    GgufHeader probe;
    probe.metadata["tokenizer.ggml.model"] = gguf_string("gpt2");
    probe.metadata["tokenizer.ggml.pre"] = gguf_string(name);
    probe.metadata["tokenizer.ggml.tokens"] = gguf_string_array({"a"});
    probe.metadata["tokenizer.ggml.merges"] = gguf_string_array({});
    Result<std::string> text = gguf_tokenizer_json(probe, "probe");
    if (!text) continue;
    const json built = json::parse(*text, nullptr, false);
    if (built.is_object() && without_offsets(built["pre_tokenizer"]) == wanted) return std::string(name);
  }
  return make_error(ErrorKind::Unsupported, "tokenizer.json: pre_tokenizer " + pre_tokenizer.dump() +
                                                " has no llama.cpp name we know (gpt-2, smollm, llama-bpe, qwen2)");
}

std::string merge_text(const json& merge) {
  if (merge.is_string()) return merge.get<std::string>();
  if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
    return merge[0].get<std::string>() + " " + merge[1].get<std::string>();
  }
  return {};
}

bool is_byte_token(const std::string& t) {
  return t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' && std::isxdigit(static_cast<unsigned char>(t[3])) &&
         std::isxdigit(static_cast<unsigned char>(t[4]));
}

}  // namespace

Result<GgufMetadata> gguf_tokenizer_metadata(std::string_view tokenizer_json, std::string_view tokenizer_config_json,
                                             const ModelConfig& config) {
  const json tokenizer = json::parse(tokenizer_json, nullptr, false);
  if (!tokenizer.is_object() || !tokenizer.contains("model") || !tokenizer["model"].is_object()) {
    return invalid("not a JSON object with a \"model\"");
  }
  json tokenizer_config = json::object();
  if (!tokenizer_config_json.empty()) {
    tokenizer_config = json::parse(tokenizer_config_json, nullptr, false);
    if (!tokenizer_config.is_object()) {
      return make_error(ErrorKind::InvalidConfig, "tokenizer_config.json: not a JSON object");
    }
  }
  const json& model = tokenizer["model"];
  if (model.value("type", "BPE") != "BPE" || !model.contains("vocab") || !model["vocab"].is_object()) {
    return make_error(ErrorKind::Unsupported, "tokenizer.json: model type \"" + model.value("type", "") +
                                                  "\" (GGUF output supports BPE)");
  }
  const bool spm = model.value("byte_fallback", false) || contains_type(tokenizer["normalizer"], "Prepend") ||
                   contains_type(tokenizer["pre_tokenizer"], "Metaspace");
  if (!spm && !contains_type(tokenizer["pre_tokenizer"], "ByteLevel")) {
    return make_error(ErrorKind::Unsupported,
                      "tokenizer.json: a BPE that is neither byte-level nor byte-fallback SentencePiece style");
  }

  // Ids: the model vocabulary, then added tokens (which may extend it).
  std::vector<std::optional<std::string>> by_id;
  std::vector<int32_t> types;
  auto place = [&](uint64_t id, const std::string& text, int32_t type) -> Status {
    if (id >= (1u << 31)) return invalid("token id " + std::to_string(id) + " is out of range");
    if (id >= by_id.size()) {
      by_id.resize(id + 1);
      types.resize(id + 1, kUnused);
    }
    by_id[id] = text;
    types[id] = type;
    return Status::ok();
  };
  for (const auto& [text, id] : model["vocab"].items()) {
    if (!id.is_number_unsigned()) return invalid("vocab entry \"" + text + "\" has no unsigned id");
    WS_TRY(place(id.get<uint64_t>(), text, spm && is_byte_token(text) ? kByte : kNormal));
  }
  if (tokenizer.contains("added_tokens") && tokenizer["added_tokens"].is_array()) {
    for (const json& added : tokenizer["added_tokens"]) {
      if (!added.is_object() || !added.contains("id") || !added["id"].is_number_unsigned() ||
          !added.contains("content") || !added["content"].is_string()) {
        return invalid("an added_tokens entry without an id and content");
      }
      WS_TRY(place(added["id"].get<uint64_t>(), added["content"].get<std::string>(),
                   added.value("special", false) ? kControl : kUserDefined));
    }
  }
  if (by_id.size() > config.vocab_size) {
    return invalid(std::to_string(by_id.size()) + " token ids, more than config.json's vocab_size " +
                   std::to_string(config.vocab_size));
  }
  by_id.resize(config.vocab_size);
  types.resize(config.vocab_size, kUnused);
  std::vector<std::string> tokens(config.vocab_size);
  std::unordered_map<std::string, int32_t> id_of;
  for (size_t i = 0; i < by_id.size(); ++i) {
    tokens[i] = by_id[i] ? *by_id[i] : "[PAD" + std::to_string(i) + "]";
    id_of.emplace(tokens[i], static_cast<int32_t>(i));
  }
  // Token ids as int64_t, -1 for none (a sentinel keeps GCC's
  // -Wmaybe-uninitialized quiet, which std::optional<int32_t> does not).
  auto lookup = [&](const json& value) -> int64_t {
    std::optional<std::string> text = token_text(value);
    if (!text) return -1;
    auto it = id_of.find(*text);
    return it == id_of.end() ? -1 : it->second;
  };
  auto configured = [&](const char* key) -> int64_t {
    return tokenizer_config.contains(key) ? lookup(tokenizer_config[key]) : -1;
  };
  int64_t unk = model.contains("unk_token") ? lookup(model["unk_token"]) : -1;
  if (tokenizer_config.contains("unk_token")) unk = configured("unk_token");
  if (spm && unk >= 0 && types[unk] != kControl) types[unk] = kUnknown;

  std::vector<std::string> merges;
  if (model.contains("merges") && model["merges"].is_array()) {
    for (const json& m : model["merges"]) {
      std::string text = merge_text(m);
      if (text.empty()) return invalid("a merge that is neither \"a b\" nor [\"a\", \"b\"]");
      merges.push_back(std::move(text));
    }
  }

  GgufMetadata out;
  out.emplace_back("tokenizer.ggml.model", gguf_string(spm ? "llama" : "gpt2"));
  if (!spm) {
    WS_ASSIGN_OR_RETURN(std::string pre, pre_tokenizer_name(tokenizer["pre_tokenizer"]));
    out.emplace_back("tokenizer.ggml.pre", gguf_string(pre));
  }
  out.emplace_back("tokenizer.ggml.tokens", gguf_string_array(tokens));
  if (spm) {
    // llama.cpp's SentencePiece tokenizer merges the adjacent pair whose
    // result scores highest: score a token by the rank of the first merge
    // that makes it (earlier = higher); tokens no merge makes come last.
    std::vector<float> scores(tokens.size());
    for (size_t i = 0; i < tokens.size(); ++i) scores[i] = -static_cast<float>(merges.size() + i);
    std::vector<bool> scored(tokens.size(), false);
    for (size_t rank = 0; rank < merges.size(); ++rank) {
      const size_t space = merges[rank].find(' ');
      std::string merged = merges[rank];
      merged.erase(space, 1);
      auto it = id_of.find(merged);
      if (it != id_of.end() && !scored[it->second]) {
        scores[it->second] = -static_cast<float>(rank);
        scored[it->second] = true;
      }
    }
    out.emplace_back("tokenizer.ggml.scores", gguf_f32_array(scores));
  }
  out.emplace_back("tokenizer.ggml.token_type", gguf_i32_array(types));
  if (!spm) out.emplace_back("tokenizer.ggml.merges", gguf_string_array(std::move(merges)));

  int64_t bos = configured("bos_token"), eos = configured("eos_token");
  if (bos < 0 && config.bos_token_id) bos = *config.bos_token_id;
  if (eos < 0 && !config.eos_token_ids.empty()) eos = config.eos_token_ids[0];
  const int64_t pad = configured("pad_token");
  auto id_key = [&](const char* key, int64_t id) {
    if (id >= 0 && static_cast<uint64_t>(id) < tokens.size()) {
      out.emplace_back(std::string("tokenizer.ggml.") + key, gguf_u32(static_cast<uint32_t>(id)));
    }
  };
  id_key("bos_token_id", bos);
  id_key("eos_token_id", eos);
  id_key("unknown_token_id", unk);
  id_key("padding_token_id", pad);

  // add_bos_token: tokenizer_config.json says, else the post-processor does
  // (a template that starts with a special token).
  bool add_bos = false;
  const json& post = tokenizer["post_processor"];
  if (post.is_object() && post.value("type", "") == "TemplateProcessing" && post.contains("single") &&
      post["single"].is_array() && !post["single"].empty() && post["single"][0].contains("SpecialToken")) {
    add_bos = true;
  }
  if (tokenizer_config.contains("add_bos_token") && tokenizer_config["add_bos_token"].is_boolean()) {
    add_bos = tokenizer_config["add_bos_token"].get<bool>();
  }
  out.emplace_back("tokenizer.ggml.add_bos_token", gguf_bool(add_bos));
  if (tokenizer_config.contains("add_eos_token") && tokenizer_config["add_eos_token"].is_boolean()) {
    out.emplace_back("tokenizer.ggml.add_eos_token", gguf_bool(tokenizer_config["add_eos_token"].get<bool>()));
  }
  // SentencePiece style: a "▁" prepended by the normalizer; byte-level: the
  // ByteLevel pre-tokenizer's add_prefix_space.
  const bool prefix = spm ? contains_type(tokenizer["normalizer"], "Prepend") ||
                                contains_type(tokenizer["pre_tokenizer"], "Metaspace")
                          : byte_level_prefix_space(tokenizer["pre_tokenizer"]);
  out.emplace_back("tokenizer.ggml.add_space_prefix", gguf_bool(prefix));

  // chat_template: a string, or a list of {name, template} (the "default" one).
  if (tokenizer_config.contains("chat_template")) {
    const json& chat = tokenizer_config["chat_template"];
    std::optional<std::string> text;
    if (chat.is_string()) text = chat.get<std::string>();
    if (chat.is_array()) {
      for (const json& entry : chat) {
        if (entry.is_object() && entry.value("name", "") == "default" && entry.contains("template") &&
            entry["template"].is_string()) {
          text = entry["template"].get<std::string>();
        }
      }
    }
    if (text) out.emplace_back("tokenizer.chat_template", gguf_string(*text));
  }
  return out;
}

}  // namespace ws::cli
