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
#include "generate/generator.h"  // add_unique_ids
#include "open/settings.h"
#include "source/model_source.h"

namespace ws {

// The settings (open/settings.h: config, tokenizer, chat template, EOS ids)
// and the source the weights stream from.
struct ModelFiles : ModelSettings {
  std::unique_ptr<ModelSource> source;
};

// Opens `location` (see ModelSource::open) with generation's side files and
// reads them (read_model_settings; `http`: see ModelSource::open). Errors:
// ModelSource::open's, read_model_settings' (NotFound without config.json,
// InvalidConfig, Unsupported).
Result<ModelFiles> open_model_files(const std::string& location, const HttpTransportOptions& http = {});

// The tokenizer, or why there is none: files.tokenizer_error, else NotFound
// (the model has no tokenizer.json).
Result<const Tokenizer*> usable_tokenizer(const ModelFiles& files);

}  // namespace ws
