#include "generate/chat.h"

namespace ws {

namespace {

// The text between `open` and `close` in the template, if `open` occurs
// inside a string literal there; used to lift a default system prompt out of
// "{{ '<|im_start|>system\nYou are ...<|im_end|>\n' }}".
std::string literal_between(std::string_view text, std::string_view open, std::string_view close) {
  const size_t begin = text.find(open);
  if (begin == std::string_view::npos) return "";
  const size_t content = begin + open.size();
  const size_t end = text.find(close, content);
  if (end == std::string_view::npos) return "";
  return std::string(text.substr(content, end - content));
}

// Jinja string literals in a template file hold "\n" as two characters when
// the template was written JSON-escaped twice; HF's files hold real newlines.
std::string unescape_newlines(std::string s) {
  for (size_t pos = s.find("\\n"); pos != std::string::npos; pos = s.find("\\n", pos)) s.replace(pos, 2, "\n");
  return s;
}

std::string strip(const std::string& s) {
  const char* space = " \t\n\r\f\v";
  const size_t begin = s.find_first_not_of(space);
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(space) - begin + 1);
}

}  // namespace

Result<ChatTemplate> parse_chat_template(std::string_view jinja) {
  if (jinja.find("<|im_start|>") != std::string_view::npos && jinja.find("<|im_end|>") != std::string_view::npos) {
    ChatTemplate chat{ChatStyle::ChatML, "", "<|im_end|>"};
    // Only a system turn written out literally counts as a default.
    std::string system = unescape_newlines(literal_between(jinja, "<|im_start|>system\n", "<|im_end|>"));
    if (system.empty()) system = unescape_newlines(literal_between(jinja, "<|im_start|>system\\n", "<|im_end|>"));
    if (system.find("{{") == std::string::npos && system.find("{%") == std::string::npos &&
        system.find('\'') == std::string::npos) {
      chat.default_system = system;
    }
    return chat;
  }
  if (jinja.find("[INST]") != std::string_view::npos && jinja.find("[/INST]") != std::string_view::npos) {
    return ChatTemplate{ChatStyle::Llama2, "", "</s>"};
  }
  return make_error(ErrorKind::Unsupported,
                    "chat template not recognised: supported layouts are ChatML (<|im_start|>/<|im_end|>) and "
                    "Llama 2 ([INST] ... [/INST])");
}

Result<std::string> render_chat(const ChatTemplate& chat, const std::vector<ChatMessage>& messages,
                                bool add_generation_prompt) {
  for (const ChatMessage& m : messages) {
    if (m.role != "system" && m.role != "user" && m.role != "assistant") {
      return make_error(ErrorKind::InvalidArgument, "chat message role \"" + m.role + "\" is not system, user or assistant");
    }
  }
  std::string out;
  if (chat.style == ChatStyle::ChatML) {
    const bool has_system = !messages.empty() && messages.front().role == "system";
    if (!has_system && !chat.default_system.empty()) {
      out += "<|im_start|>system\n" + chat.default_system + "<|im_end|>\n";
    }
    for (const ChatMessage& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
    if (add_generation_prompt) out += "<|im_start|>assistant\n";
    return out;
  }
  // Llama 2, as its Hugging Face template writes it.
  size_t first = 0;
  std::string system;
  if (!messages.empty() && messages.front().role == "system") {
    system = messages.front().content;
    first = 1;
  }
  for (size_t i = first; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    const bool expect_user = (i - first) % 2 == 0;
    if ((m.role == "user") != expect_user || m.role == "system") {
      return make_error(ErrorKind::InvalidArgument, "Llama 2 chat: roles must alternate user/assistant after an optional first system message");
    }
    if (m.role == "user") {
      std::string content = m.content;  // the template strips it after adding <<SYS>>
      if (i == first && !system.empty()) content = "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + content;
      out += "<s>[INST] " + strip(content) + " [/INST]";
    } else {
      out += " " + strip(m.content) + " </s>";
    }
  }
  return out;
}

}  // namespace ws
