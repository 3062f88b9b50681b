// A text prompt as token ids, optionally inside the model's chat template
// (tokenizer_config.json's "chat_template", or GGUF's). Shared by the CLI's
// generate command and the library.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/model_files.h"
#include "core/result.h"

namespace ws {

enum class ChatMode {
  Off,          // the text as it is, with the tokenizer's special tokens (BOS)
  On,           // inside the chat template; an error when there is none we know
  IfAvailable,  // inside the chat template when the model has one we know, else as it is
};

struct Prompt {
  std::vector<int32_t> ids;
  bool chat = false;              // the chat template was applied
  std::vector<int32_t> stop_ids;  // the template's end-of-turn token, to stop at
};

// The template text of tokenizer_config.json's "chat_template" (a string, or
// the "default" entry of a list of {"name", "template"}); "" when absent.
std::string chat_template_text(const std::string& tokenizer_config);

// Errors: usable_tokenizer's; with ChatMode::On, Unsupported when there is no chat
// template or it is not a layout we render, InvalidArgument from
// render_chat; InvalidArgument when the text encodes to no tokens.
Result<Prompt> encode_prompt(const ModelFiles& files, const std::string& text, ChatMode chat,
                             const std::optional<std::string>& system);

}  // namespace ws
