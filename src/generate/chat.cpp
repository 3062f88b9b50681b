#include "generate/chat.h"

#include "format/json_strict.h"

namespace ws {

namespace {

using ojson = nlohmann::ordered_json;

// transformers' SPECIAL_TOKENS_ATTRIBUTES, each passed when set.
const char* kSpecialTokens[] = {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"};

ojson special_tokens_of(std::string_view tokenizer_config) {
  ojson tokens = ojson::object();
  if (tokenizer_config.empty()) return tokens;
  const ojson config = ojson::parse(tokenizer_config, nullptr, /*allow_exceptions=*/false);
  if (!config.is_object()) return tokens;
  for (const char* key : kSpecialTokens) {
    auto it = config.find(key);
    if (it == config.end()) continue;
    if (it->is_string()) {
      tokens[key] = *it;
    } else if (it->is_object()) {
      auto content = it->find("content");
      if (content != it->end() && content->is_string()) tokens[key] = *content;
    }
  }
  return tokens;
}

}  // namespace

std::string chat_template_in_config(const std::string& tokenizer_config, std::string_view wanted) {
  Result<nlohmann::json> parsed =
      detail::parse_json_strict(tokenizer_config, ErrorKind::InvalidConfig, "tokenizer_config.json");
  if (!parsed || !parsed->is_object()) return "";
  auto it = parsed->find("chat_template");
  if (it == parsed->end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_array()) {
    for (const nlohmann::json& entry : *it) {
      // find + type checks, not value(): value() throws when "name" is not a string.
      if (!entry.is_object()) continue;
      auto name = entry.find("name");
      auto body = entry.find("template");
      if (name != entry.end() && name->is_string() && name->get_ref<const std::string&>() == wanted &&
          body != entry.end() && body->is_string()) {
        return body->get<std::string>();
      }
    }
  }
  return "";
}

ChatTemplateSource find_chat_template(const std::string* chat_template_jinja, const std::string* chat_template_json,
                                      const std::string* tokenizer_config) {
  if (chat_template_jinja && !chat_template_jinja->empty()) return {*chat_template_jinja, "chat_template.jinja"};
  if (chat_template_json) {
    const ojson j = ojson::parse(*chat_template_json, nullptr, /*allow_exceptions=*/false);
    auto it = j.is_object() ? j.find("chat_template") : j.end();
    if (j.is_object() && it != j.end() && it->is_string()) return {it->get<std::string>(), "chat_template.json"};
  }
  if (tokenizer_config) {
    std::string text = chat_template_in_config(*tokenizer_config);
    if (!text.empty()) return {std::move(text), "tokenizer_config.json"};
  }
  return {};
}

Result<ChatTemplate> parse_chat_template(std::string_view jinja, std::string_view tokenizer_config) {
  WS_ASSIGN_OR_RETURN(JinjaTemplate program, JinjaTemplate::parse(jinja));
  return ChatTemplate{std::move(program), special_tokens_of(tokenizer_config)};
}

Result<std::string> render_chat(const ChatTemplate& chat, const ojson& messages, bool add_generation_prompt) {
  ojson context = ojson::object();
  context["messages"] = messages;
  context["tools"] = nullptr;
  context["documents"] = nullptr;
  context["add_generation_prompt"] = add_generation_prompt;
  for (auto it = chat.special_tokens.begin(); it != chat.special_tokens.end(); ++it) context[it.key()] = it.value();
  return chat.program.render(context);
}

std::string end_of_turn_marker(const ChatTemplate& chat) {
  // A reply no template writes by itself, after one user turn.
  static const char* kReply = "Q7zk reply";
  ojson messages = ojson::array({{{"role", "user"}, {"content", "Hi"}}, {{"role", "assistant"}, {"content", kReply}}});
  Result<std::string> text = render_chat(chat, messages, false);
  if (!text) return "";
  const size_t at = text->rfind(kReply);
  if (at == std::string::npos) return "";
  const std::string rest = text->substr(at + std::string(kReply).size());
  const size_t begin = rest.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  const size_t end = rest.find_first_of(" \t\r\n", begin);
  return rest.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

Result<ojson> parse_chat_messages(std::string_view json_text, const std::string& origin) {
  const ojson messages = ojson::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (messages.is_discarded()) return make_error(ErrorKind::InvalidArgument, origin + ": not valid JSON");
  if (!messages.is_array()) return make_error(ErrorKind::InvalidArgument, origin + ": expected a JSON array of {role, content}");
  for (size_t i = 0; i < messages.size(); ++i) {
    const ojson& m = messages[i];
    const std::string where = origin + ": message " + std::to_string(i);
    if (!m.is_object()) return make_error(ErrorKind::InvalidArgument, where + " is not an object");
    auto role = m.find("role");
    if (role == m.end() || !role->is_string()) return make_error(ErrorKind::InvalidArgument, where + " has no string \"role\"");
    auto content = m.find("content");
    if (content != m.end() && !content->is_string() && !content->is_array() && !content->is_null()) {
      return make_error(ErrorKind::InvalidArgument, where + ": \"content\" must be a string, a list or null");
    }
  }
  return messages;
}

}  // namespace ws
