// Chat prompts: the model's chat template (chat_template.jinja,
// chat_template.json, tokenizer_config.json's "chat_template", or GGUF's
// tokenizer.chat_template) run by the Jinja engine (src/template) with the
// variables transformers' apply_chat_template passes: messages, tools=None,
// documents=None, add_generation_prompt and the special tokens.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "template/template.h"

namespace ws {

struct ChatTemplate {
  JinjaTemplate program;
  // transformers' special_tokens_map as template variables: bos_token,
  // eos_token, ... as strings (from tokenizer_config.json, whose entries may
  // be strings or {"content": ...} objects).
  nlohmann::ordered_json special_tokens = nlohmann::ordered_json::object();
};

// The chat template of a model's files, as transformers picks it:
// chat_template.jinja, else chat_template.json's "chat_template", else
// tokenizer_config.json's "chat_template" (a string, or the "default" entry
// of a list of {"name", "template"}); a GGUF's tokenizer.chat_template is in
// its synthesized tokenizer_config.json. Absent files are null. `text` is ""
// when there is none; `origin` names the file it came from.
// The template text of tokenizer_config.json's "chat_template" (a string, or
// the entry named `name` of a list of {"name", "template"}: transformers'
// "default", or e.g. "tool_use" / "rag"); "" when absent, and for every
// malformed shape (strict JSON: duplicate keys, nesting deeper than the
// parser's limit), never an exception. A plain string is the template
// whatever `name` asks for, as transformers uses it.
std::string chat_template_in_config(const std::string& tokenizer_config, std::string_view name = "default");

struct ChatTemplateSource {
  std::string text;
  std::string origin;
};
ChatTemplateSource find_chat_template(const std::string* chat_template_jinja, const std::string* chat_template_json,
                                      const std::string* tokenizer_config);

// Parses `jinja`; `tokenizer_config` (may be "") supplies the special tokens.
// Errors: Template ("template line N: ...") for a template that does not parse.
Result<ChatTemplate> parse_chat_template(std::string_view jinja, std::string_view tokenizer_config = "");

// The prompt text for `messages` (a JSON array of message objects, passed
// to the template as they are), ending with the assistant's turn opener when
// add_generation_prompt. Errors: Template (the template's raise_exception,
// e.g. roles that do not alternate, or any other render failure, with its
// line); OutOfBudget when rendering exceeds the engine's limits.
Result<std::string> render_chat(const ChatTemplate& chat, const nlohmann::ordered_json& messages, bool add_generation_prompt);

// The text the template writes right after an assistant message ends (its
// first whitespace-delimited piece: "<|im_end|>", "<|eot_id|>", "</s>",
// "<end_of_turn>"), found by rendering a short conversation; "" when the
// template renders none. Generation stops at it.
std::string end_of_turn_marker(const ChatTemplate& chat);

// Messages from JSON text: an array of objects with string "role" and
// (string, list or null) "content". Errors: InvalidArgument naming the
// first bad entry.
Result<nlohmann::ordered_json> parse_chat_messages(std::string_view json_text, const std::string& origin);

}  // namespace ws
