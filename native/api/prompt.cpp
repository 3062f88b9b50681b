#include "api/prompt.h"

#include "generate/chat.h"

namespace ws {

namespace {

using ojson = nlohmann::ordered_json;

// The shared rendering (open/settings.h), its Unsupported error naming the option.
Result<RenderedChat> render_for_chat_option(const ModelFiles& files, const ojson& messages) {
  Result<RenderedChat> rendered = render_model_chat(files, messages);
  if (!rendered && rendered.error().kind == ErrorKind::Unsupported) {
    return make_error(ErrorKind::Unsupported, "chat (--chat): " + rendered.error().message);
  }
  return rendered;
}

Result<Prompt> encode_rendered(const Tokenizer& tokenizer, RenderedChat rendered) {
  Prompt prompt;
  prompt.text = std::move(rendered.text);
  prompt.chat = true;
  // A chat template writes its own special tokens (BOS included), as
  // apply_chat_template(tokenize=True) encodes without adding them.
  prompt.ids = tokenizer.encode(prompt.text, /*add_special_tokens=*/false);
  // Generation also stops at the template's end of turn, when it is one token.
  if (rendered.end_of_turn_id) prompt.stop_ids.push_back(*rendered.end_of_turn_id);
  if (prompt.ids.empty()) return make_error(ErrorKind::InvalidArgument, "the prompt encodes to no tokens");
  return prompt;
}

}  // namespace

Result<Prompt> encode_chat(const ModelFiles& files, const ojson& messages) {
  WS_ASSIGN_OR_RETURN(const Tokenizer* tokenizer, usable_tokenizer(files));
  WS_ASSIGN_OR_RETURN(RenderedChat rendered, render_for_chat_option(files, messages));
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
    Result<RenderedChat> rendered = render_for_chat_option(files, messages);
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
