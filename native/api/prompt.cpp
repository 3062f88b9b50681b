#include "api/prompt.h"

#include "generate/chat.h"

namespace ws {

namespace {

using ojson = nlohmann::ordered_json;

// The shared chat prompt (open/settings.h), its Unsupported error naming the option.
Result<Prompt> chat_prompt(const ModelFiles& files, const ojson& messages) {
  Result<ChatPrompt> chat = encode_model_chat(files, messages);
  if (!chat) {
    if (chat.error().kind == ErrorKind::Unsupported) {
      return make_error(ErrorKind::Unsupported, "chat (--chat): " + chat.error().message);
    }
    return chat.error();
  }
  Prompt prompt;
  prompt.ids = std::move(chat->ids);
  prompt.text = std::move(chat->text);
  prompt.chat = true;
  prompt.stop_ids = std::move(chat->stop_ids);
  return prompt;
}

}  // namespace

Result<Prompt> encode_chat(const ModelFiles& files, const ojson& messages) {
  WS_TRY(usable_tokenizer(files).status());
  return chat_prompt(files, messages);
}

Result<Prompt> encode_prompt(const ModelFiles& files, const std::string& text, ChatMode chat,
                             const std::optional<std::string>& system) {
  WS_ASSIGN_OR_RETURN(const Tokenizer* usable, usable_tokenizer(files));
  const Tokenizer& tokenizer = *usable;
  if (chat != ChatMode::Off) {
    ojson messages = ojson::array();
    if (system) messages.push_back({{"role", "system"}, {"content", *system}});
    messages.push_back({{"role", "user"}, {"content", text}});
    Result<Prompt> prompt = chat_prompt(files, messages);
    if (prompt.is_ok() || chat == ChatMode::On) return prompt;
  }
  Prompt prompt;
  prompt.text = text;
  prompt.ids = tokenizer.encode(text, /*add_special_tokens=*/true);
  if (prompt.ids.empty()) return make_error(ErrorKind::InvalidArgument, "the prompt encodes to no tokens");
  return prompt;
}

}  // namespace ws
