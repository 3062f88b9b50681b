#include "api/model_files.h"

#include <unordered_set>

#include <nlohmann/json.hpp>

#include "generate/chat.h"
#include "format/json_strict.h"

namespace ws {

namespace {

using json = nlohmann::json;

// generation_config.json's "eos_token_id" (an id or a list); the file is
// optional and a malformed one only costs its ids.
std::vector<int32_t> generation_config_eos(ModelSource& source) {
  Result<bool> has = source.has_file("generation_config.json");
  if (!has.is_ok() || !*has) return {};
  Result<std::string> text = source.read_text("generation_config.json");
  if (!text.is_ok()) return {};
  Result<json> j = detail::parse_json_strict(*text, ErrorKind::InvalidConfig, "generation_config.json");
  std::vector<int32_t> ids;
  if (!j || !j->is_object()) return ids;
  auto it = j->find("eos_token_id");
  if (it == j->end()) return ids;
  auto push = [&](const json& v) {
    if (v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() <= 0x7fffffff) {
      ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
    }
  };
  if (it->is_array()) {
    for (const json& v : *it) push(v);
  } else {
    push(*it);
  }
  return ids;
}

// An optional small text file; absent or unreadable reads as "".
std::string optional_text(ModelSource& source, const std::string& name) {
  Result<bool> has = source.has_file(name);
  if (!has.is_ok() || !*has) return "";
  Result<std::string> text = source.read_text(name, 16ull << 20);
  return text.is_ok() ? *text : "";
}

void find_model_chat_template(ModelFiles& files) {
  const std::string jinja = optional_text(*files.source, "chat_template.jinja");
  const std::string json_text = optional_text(*files.source, "chat_template.json");
  ChatTemplateSource found = find_chat_template(jinja.empty() ? nullptr : &jinja, json_text.empty() ? nullptr : &json_text,
                                                &files.tokenizer_config);
  files.chat_template = std::move(found.text);
  files.chat_template_origin = std::move(found.origin);
  // A GGUF's tokenizer_config.json is synthesized from its metadata.
  const std::string shown = files.source->shown_location();
  if (files.chat_template_origin == "tokenizer_config.json" && shown.size() >= 5 &&
      shown.compare(shown.size() - 5, 5, ".gguf") == 0) {
    files.chat_template_origin = "GGUF tokenizer.chat_template";
  }
}

}  // namespace

// A set beside the list: an eos_token_id list of 100k ids must not cost 10^10 compares.
void add_unique_ids(std::vector<int32_t>& ids, const std::vector<int32_t>& more) {
  std::unordered_set<int32_t> seen(ids.begin(), ids.end());
  for (int32_t id : more) {
    if (seen.insert(id).second) ids.push_back(id);
  }
}

Result<const Tokenizer*> usable_tokenizer(const ModelFiles& files) {
  if (files.tokenizer) return &*files.tokenizer;
  if (files.tokenizer_error) return *files.tokenizer_error;
  return make_error(ErrorKind::NotFound, files.source->shown_location() +
                                             ": no tokenizer.json, so text cannot be tokenized; give token ids (--prompt-ids, generate_from_ids)");
}

Result<ModelFiles> open_model_files(const std::string& location) {
  ModelFiles files;
  WS_ASSIGN_OR_RETURN(files.source, ModelSource::open(location));
  WS_ASSIGN_OR_RETURN(files.config_text, files.source->read_text("config.json"));
  WS_ASSIGN_OR_RETURN(files.config, parse_model_config(files.config_text));

  if (Result<bool> has = files.source->has_file("tokenizer.json"); has.is_ok() && *has) {
    Result<std::string> text = files.source->read_text("tokenizer.json");
    Result<Tokenizer> parsed = text.is_ok() ? Tokenizer::from_json(*text) : Result<Tokenizer>(text.error());
    if (parsed.is_ok()) {
      files.tokenizer = std::move(*parsed);
    } else {
      files.tokenizer_error = parsed.error();
    }
  }
  if (files.tokenizer) {
    if (Result<bool> has = files.source->has_file("tokenizer_config.json"); has.is_ok() && *has) {
      Result<std::string> text = files.source->read_text("tokenizer_config.json");
      if (text.is_ok()) files.tokenizer_config = *text;
    }
    Status special = apply_special_tokens_config(*files.tokenizer, files.tokenizer_config, files.config_text);
    if (!special) files.special_tokens_warning = special.error();
    find_model_chat_template(files);
  }

  add_unique_ids(files.eos_token_ids, files.config.eos_token_ids);
  add_unique_ids(files.eos_token_ids, generation_config_eos(*files.source));
  if (files.tokenizer && files.tokenizer->eos_id()) add_unique_ids(files.eos_token_ids, {*files.tokenizer->eos_id()});
  return files;
}

}  // namespace ws
