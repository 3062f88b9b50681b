// A text prompt as token ids, optionally inside the model's chat template
// (ModelFiles::chat_template, run by the Jinja engine). Shared by the CLI's
// generate and tokenize commands and the library.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/model_files.h"
#include "core/result.h"

namespace ws {

enum class ChatMode {
  Off,          // the text as it is, with the tokenizer's special tokens (BOS)
  On,           // inside the chat template; an error when the model has none
  IfAvailable,  // inside the chat template when the model has one that renders, else as it is
};

struct Prompt {
  std::vector<int32_t> ids;
  std::string text;               // what was tokenized (the rendered chat when chat)
  bool chat = false;              // the chat template was applied
  std::vector<int32_t> stop_ids;  // the template's end-of-turn token, to stop at
};

// Errors: usable_tokenizer's; with ChatMode::On, Unsupported when the model
// has no chat template, Template when it does not parse or render (with its
// line); InvalidArgument when the text encodes to no tokens.
Result<Prompt> encode_prompt(const ModelFiles& files, const std::string& text, ChatMode chat,
                             const std::optional<std::string>& system);

// `messages` (a JSON array of {role, content, ...}) inside the chat template,
// with the generation prompt. Errors: as encode_prompt with ChatMode::On.
Result<Prompt> encode_chat(const ModelFiles& files, const nlohmann::ordered_json& messages);

}  // namespace ws
