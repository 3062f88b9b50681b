#include "api/model_files.h"

#include "generate/chat.h"
#include "generate/generator.h"

namespace ws {

namespace {

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

Result<const Tokenizer*> usable_tokenizer(const ModelFiles& files) {
  if (files.tokenizer) return &*files.tokenizer;
  if (files.tokenizer_error) return *files.tokenizer_error;
  return make_error(ErrorKind::NotFound, files.source->shown_location() +
                                             ": no tokenizer.json, so text cannot be tokenized; give token ids (--prompt-ids, generate_from_ids)");
}

Result<ModelFiles> open_model_files(const std::string& location, const HttpTransportOptions& http) {
  ModelFiles files;
  WS_ASSIGN_OR_RETURN(files.source, ModelSource::open(location, http));
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

  // generation_config.json is optional; one that cannot be read only costs its ids.
  std::string generation_config;
  if (Result<bool> has = files.source->has_file("generation_config.json"); has.is_ok() && *has) {
    if (Result<std::string> text = files.source->read_text("generation_config.json"); text.is_ok()) {
      generation_config = std::move(*text);
    }
  }
  files.eos_token_ids = model_eos_ids(files.config, generation_config, files.tokenizer ? &*files.tokenizer : nullptr);
  return files;
}

}  // namespace ws
