// A model location opened for generation, before any weight byte moves: the
// source (checkpoint headers), config.json, the tokenizer and its chat
// template, and the ids generation stops at. Shared by the CLI's generate
// command and the library (include/weightstream/weightstream.h).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "model/model.h"
#include "source/model_source.h"
#include "generate/generator.h"  // add_unique_ids
#include "tokenizer/tokenizer.h"

namespace ws {

struct ModelFiles {
  std::unique_ptr<ModelSource> source;
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

// Opens `location` (see ModelSource::open) and reads config.json and the
// tokenizer files (`http`: see ModelSource::open). Errors: ModelSource::open's, parse_model_config's
// (InvalidConfig, Unsupported), and Io/Http/NotFound for config.json.
Result<ModelFiles> open_model_files(const std::string& location, const HttpTransportOptions& http = {});

// The tokenizer, or why there is none: files.tokenizer_error, else NotFound
// (the model has no tokenizer.json).
Result<const Tokenizer*> usable_tokenizer(const ModelFiles& files);

}  // namespace ws
