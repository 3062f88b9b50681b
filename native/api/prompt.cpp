#include "api/prompt.h"

#include <nlohmann/json.hpp>

#include "format/json_strict.h"
#include "generate/chat.h"

namespace ws {

namespace {

using json = nlohmann::json;

struct RenderedChat {
  std::string text;
  std::string end_of_turn;
};

Result<RenderedChat> render_chat_prompt(const std::string& tokenizer_config, const std::optional<std::string>& system,
                                        const std::string& user) {
  const std::string jinja = chat_template_text(tokenizer_config);
  if (jinja.empty()) {
    return make_error(ErrorKind::Unsupported, "chat (--chat): the model has no chat_template in tokenizer_config.json");
  }
  WS_ASSIGN_OR_RETURN(ChatTemplate chat, parse_chat_template(jinja));
  std::vector<ChatMessage> messages;
  if (system) messages.push_back({"system", *system});
  messages.push_back({"user", user});
  WS_ASSIGN_OR_RETURN(std::string text, render_chat(chat, messages, /*add_generation_prompt=*/true));
  return RenderedChat{std::move(text), chat.end_of_turn};
}

}  // namespace

std::string chat_template_text(const std::string& tokenizer_config) {
  Result<json> parsed = detail::parse_json_strict(tokenizer_config, ErrorKind::InvalidConfig, "tokenizer_config.json");
  if (!parsed || !parsed->is_object()) return "";
  const json& config = *parsed;
  auto it = config.find("chat_template");
  if (it == config.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_array()) {
    for (const json& entry : *it) {
      // find + type checks, not value(): value() throws when "name" is not a string.
      if (!entry.is_object()) continue;
      auto name = entry.find("name");
      auto body = entry.find("template");
      if (name != entry.end() && name->is_string() && name->get_ref<const std::string&>() == "default" &&
          body != entry.end() && body->is_string()) {
        return body->get<std::string>();
      }
    }
  }
  return "";
}

Result<Prompt> encode_prompt(const ModelFiles& files, const std::string& text, ChatMode chat,
                             const std::optional<std::string>& system) {
  WS_ASSIGN_OR_RETURN(const Tokenizer* usable, usable_tokenizer(files));
  const Tokenizer& tokenizer = *usable;
  Prompt prompt;
  std::string prompt_text = text;
  if (chat != ChatMode::Off) {
    Result<RenderedChat> rendered = render_chat_prompt(files.tokenizer_config, system, text);
    if (rendered.is_ok()) {
      prompt_text = rendered->text;
      prompt.chat = true;
      // Generation also stops at the template's end of turn.
      if (auto end = tokenizer.token_id(rendered->end_of_turn)) prompt.stop_ids.push_back(*end);
    } else if (chat == ChatMode::On) {
      return rendered.error();
    }
  }
  // A chat template writes its own special tokens (BOS included).
  prompt.ids = tokenizer.encode(prompt_text, /*add_special_tokens=*/!prompt.chat);
  if (prompt.ids.empty()) return make_error(ErrorKind::InvalidArgument, "the prompt encodes to no tokens");
  return prompt;
}

}  // namespace ws
