// Chat prompts: the model's chat template (tokenizer_config.json's
// "chat_template", or GGUF's tokenizer.chat_template) recognised by its
// markers and rendered natively. Hugging Face templates are Jinja programs; we
// do not embed a Jinja engine, so only the well-known layouts are supported and
// anything else is an Unsupported error rather than a silently wrong prompt.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace ws {

enum class ChatStyle {
  ChatML,  // <|im_start|>role\ncontent<|im_end|>\n ... <|im_start|>assistant\n  (SmolLM2, Qwen2, ...)
  Llama2,  // <s>[INST] <<SYS>>\nsystem\n<</SYS>>\n\nuser [/INST] assistant </s><s>[INST] ...
};

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

struct ChatTemplate {
  ChatStyle style;
  // A system message the template inserts when the conversation has none
  // (SmolLM2's "You are a helpful AI assistant named SmolLM, ...").
  std::string default_system;
  // The text token that ends an assistant turn: generation stops on it.
  std::string end_of_turn;
};

// Recognises `jinja_template`. Errors: Unsupported (naming the layouts we know).
Result<ChatTemplate> parse_chat_template(std::string_view jinja_template);

// The prompt text for `messages`, ending with the assistant's turn opener when
// add_generation_prompt. Errors: InvalidArgument for an unknown role or a
// conversation the layout cannot express (Llama 2: system not first, roles
// not alternating user/assistant).
Result<std::string> render_chat(const ChatTemplate& chat, const std::vector<ChatMessage>& messages,
                                bool add_generation_prompt);

}  // namespace ws
