// read_model_settings: config.json, the tokenizer, its chat template and the
// EOS ids, from an opened model's side files. See open.h.
#include "generate/chat.h"
#include "generate/generator.h"
#include "open/settings.h"

namespace ws {

namespace {

const std::string* file_of(const OpenedModel& opened, const char* name) {
  auto it = opened.files.find(name);
  return it == opened.files.end() ? nullptr : &it->second;
}

}  // namespace

Result<ModelSettings> read_model_settings(const OpenedModel& opened, const std::string& location) {
  ModelSettings settings;
  const std::string* config_text = file_of(opened, "config.json");
  if (!config_text) {
    auto why = opened.file_errors.find("config.json");
    if (why != opened.file_errors.end()) return why->second;
    return make_error(ErrorKind::NotFound, location + ": no config.json");
  }
  settings.config_text = *config_text;
  WS_ASSIGN_OR_RETURN(settings.config, parse_model_config(settings.config_text));

  if (const std::string* tc = file_of(opened, "tokenizer_config.json")) settings.tokenizer_config = *tc;
  if (const std::string* text = file_of(opened, "tokenizer.json")) {
    Result<Tokenizer> parsed = Tokenizer::from_json(*text);
    if (parsed) {
      settings.tokenizer = std::move(*parsed);
      Status special = apply_special_tokens_config(*settings.tokenizer, settings.tokenizer_config, settings.config_text);
      if (!special) settings.special_tokens_warning = special.error();
    } else {
      settings.tokenizer_error = parsed.error();
    }
  }

  ChatTemplateSource found = find_chat_template(file_of(opened, "chat_template.jinja"), file_of(opened, "chat_template.json"),
                                                &settings.tokenizer_config);
  settings.chat_template = std::move(found.text);
  settings.chat_template_origin = std::move(found.origin);
  if (opened.gguf && settings.chat_template_origin == "tokenizer_config.json") {
    settings.chat_template_origin = "GGUF tokenizer.chat_template";  // synthesized from its metadata
  }

  // generation_config.json is optional; a malformed one only costs its ids.
  const std::string* generation_config = file_of(opened, "generation_config.json");
  settings.eos_token_ids = model_eos_ids(settings.config, generation_config ? *generation_config : "",
                                         settings.tokenizer ? &*settings.tokenizer : nullptr);
  return settings;
}

Result<RenderedChat> render_model_chat(const ModelSettings& settings, const nlohmann::ordered_json& messages,
                                       bool add_generation_prompt) {
  if (settings.chat_template.empty()) {
    return make_error(ErrorKind::Unsupported, "the model has no chat template (chat_template.jinja, chat_template.json, "
                                              "tokenizer_config.json's chat_template or GGUF's tokenizer.chat_template)");
  }
  const std::string& origin = settings.chat_template_origin;
  Result<ChatTemplate> chat = parse_chat_template(settings.chat_template, settings.tokenizer_config);
  if (!chat) return make_error(chat.error().kind, origin + ": " + chat.error().message);
  Result<std::string> text = render_chat(*chat, messages, add_generation_prompt);
  if (!text) return make_error(text.error().kind, origin + ": " + text.error().message);
  RenderedChat rendered{std::move(*text), end_of_turn_marker(*chat), std::nullopt};
  if (!rendered.end_of_turn.empty() && settings.tokenizer) {
    rendered.end_of_turn_id = settings.tokenizer->token_id(rendered.end_of_turn);
  }
  return rendered;
}

Result<ChatPrompt> encode_model_chat(const ModelSettings& settings, const nlohmann::ordered_json& messages) {
  if (!settings.tokenizer) {
    if (settings.tokenizer_error) return *settings.tokenizer_error;
    return make_error(ErrorKind::NotFound, "no tokenizer.json, so a conversation cannot be tokenized");
  }
  WS_ASSIGN_OR_RETURN(RenderedChat rendered, render_model_chat(settings, messages, /*add_generation_prompt=*/true));
  ChatPrompt prompt;
  prompt.ids = settings.tokenizer->encode(rendered.text, /*add_special_tokens=*/false);
  if (prompt.ids.empty()) return make_error(ErrorKind::InvalidArgument, "the prompt encodes to no tokens");
  prompt.text = std::move(rendered.text);
  if (rendered.end_of_turn_id) prompt.stop_ids.push_back(*rendered.end_of_turn_id);
  return prompt;
}

}  // namespace ws
