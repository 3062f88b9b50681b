#include "api/prompt.h"

#include "generate/chat.h"

namespace ws {

namespace {

using ojson = nlohmann::ordered_json;

struct RenderedChat {
  std::string text;
  std::string end_of_turn;
};

Result<RenderedChat> render_model_chat(const ModelFiles& files, const ojson& messages) {
  if (files.chat_template.empty()) {
    return make_error(ErrorKind::Unsupported,
                      "chat (--chat): the model has no chat template (chat_template.jinja, chat_template.json, "
                      "tokenizer_config.json's chat_template or GGUF's tokenizer.chat_template)");
  }
  Result<ChatTemplate> chat = parse_chat_template(files.chat_template, files.tokenizer_config);
  if (!chat) return make_error(chat.error().kind, files.chat_template_origin + ": " + chat.error().message);
  Result<std::string> text = render_chat(*chat, messages, /*add_generation_prompt=*/true);
  if (!text) return make_error(text.error().kind, files.chat_template_origin + ": " + text.error().message);
  return RenderedChat{std::move(*text), end_of_turn_marker(*chat)};
}

Result<Prompt> encode_rendered(const Tokenizer& tokenizer, RenderedChat rendered) {
  Prompt prompt;
  prompt.text = std::move(rendered.text);
  prompt.chat = true;
  // A chat template writes its own special tokens (BOS included), as
  // apply_chat_template(tokenize=True) encodes without adding them.
  prompt.ids = tokenizer.encode(prompt.text, /*add_special_tokens=*/false);
  // Generation also stops at the template's end of turn, when it is one token.
  if (!rendered.end_of_turn.empty()) {
    if (auto end = tokenizer.token_id(rendered.end_of_turn)) prompt.stop_ids.push_back(*end);
  }
  if (prompt.ids.empty()) return make_error(ErrorKind::InvalidArgument, "the prompt encodes to no tokens");
  return prompt;
}

}  // namespace

Result<Prompt> encode_chat(const ModelFiles& files, const ojson& messages) {
  WS_ASSIGN_OR_RETURN(const Tokenizer* tokenizer, usable_tokenizer(files));
  WS_ASSIGN_OR_RETURN(RenderedChat rendered, render_model_chat(files, messages));
  return encode_rendered(*tokenizer, std::move(rendered));
}

Result<Prompt> encode_prompt(const ModelFiles& files, const std::string& text, ChatMode chat,
                             const std::optional<std::string>& system) {
  WS_ASSIGN_OR_RETURN(const Tokenizer* usable, usable_tokenizer(files));
  const Tokenizer& tokenizer = *usable;
  if (chat != ChatMode::Off) {
    ojson messages = ojson::array();
    if (system) messages.push_back({{"role", "system"}, {"content", *system}});
    messages.push_back({{"role", "user"}, {"content", text}});
    Result<RenderedChat> rendered = render_model_chat(files, messages);
    if (rendered.is_ok()) return encode_rendered(tokenizer, std::move(*rendered));
    if (chat == ChatMode::On) return rendered.error();
  }
  Prompt prompt;
  prompt.text = text;
  prompt.ids = tokenizer.encode(text, /*add_special_tokens=*/true);
  if (prompt.ids.empty()) return make_error(ErrorKind::InvalidArgument, "the prompt encodes to no tokens");
  return prompt;
}

}  // namespace ws
