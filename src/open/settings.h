// What generation needs from an opened model (open.h): config.json parsed,
// the tokenizer, its chat template and the ids generation stops at. Shared by
// the native API (native/api/model_files.cpp) and the wasm session
// (web/src/session.cpp), so both read a model's settings the same way.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "model/model.h"
#include "open/open.h"
#include "tokenizer/tokenizer.h"

namespace ws {

struct ModelSettings {
  std::string config_text;
  ModelConfig config;
  // tokenizer.json with BOS/EOS from tokenizer_config.json and config.json;
  // absent when the model has no tokenizer.json or it is unusable.
  std::optional<Tokenizer> tokenizer;
  // Why tokenizer.json could not be used. Only a text prompt needs it, so
  // this is not an error of the open itself: token ids still work.
  std::optional<Error> tokenizer_error;
  std::string tokenizer_config;  // tokenizer_config.json ("" when absent)
  // The chat template's source ("" when the model has none), as transformers
  // picks it: chat_template.jinja, else chat_template.json's "chat_template",
  // else tokenizer_config.json's (a GGUF's tokenizer.chat_template lands there).
  std::string chat_template;
  std::string chat_template_origin;  // the file it came from, for messages
  // config.json's, generation_config.json's and the tokenizer's EOS ids.
  std::vector<int32_t> eos_token_ids;
  // A BOS/EOS naming problem (an id past the vocabulary, a token it lacks):
  // generation goes on with what the tokenizer knows.
  std::optional<Error> special_tokens_warning;
};

// Parses the opened model's config.json, tokenizer files, chat template and
// generation_config.json. `location` is what messages name. Errors: NotFound
// (no config.json), the GGUF's reason it could not make one (Unsupported),
// parse_model_config's (InvalidConfig, Unsupported).
Result<ModelSettings> read_model_settings(const OpenedModel& opened, const std::string& location);

// A conversation in the model's chat template, and where its turn ends.
struct RenderedChat {
  std::string text;
  std::string end_of_turn;  // the marker the template closes a turn with ("" when it has none)
  // The marker's token id, when the tokenizer has it as one token:
  // generation stops there too.
  std::optional<int32_t> end_of_turn_id;
};

// Renders `messages` (an array of {role, content, ...}) with the settings'
// chat template (the Jinja engine of src/template, transformers' variables).
// Errors: Unsupported when the model has no chat template; Template ("<origin>:
// template line N: ...") when it does not parse or render.
Result<RenderedChat> render_model_chat(const ModelSettings& settings, const nlohmann::ordered_json& messages,
                                       bool add_generation_prompt = true);

// A conversation as the model is given it: rendered with the generation
// prompt and encoded as transformers' apply_chat_template(tokenize=True)
// does (the template writes its own special tokens, BOS included, so none are
// added), with the end-of-turn id generation stops at.
struct ChatPrompt {
  std::string text;
  std::vector<int32_t> ids;
  std::vector<int32_t> stop_ids;
};
// Errors: settings.tokenizer_error, or NotFound without a tokenizer;
// render_model_chat's; InvalidArgument when the text encodes to no tokens.
Result<ChatPrompt> encode_model_chat(const ModelSettings& settings, const nlohmann::ordered_json& messages);

}  // namespace ws
