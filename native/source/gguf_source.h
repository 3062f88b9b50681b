// A single .gguf file as a ModelSource: its checkpoint and the side files
// (config.json, tokenizer.json, tokenizer_config.json) made from its metadata.
#pragma once

#include <map>
#include <string>

#include "source/model_source.h"

namespace ws {

// Reads and validates the header of `file` through `transport`, appends its
// shard and tensors (Hugging Face names) to `checkpoint`, and fills
// `side_files` with whichever side files the metadata supports and
// `side_file_errors` with why the others could not be made (an architecture
// we do not run: Unsupported, naming it). Only the header is read. Errors:
// those of parse_gguf_prefix / gguf_checkpoint, and the transport's.
Status open_gguf(Transport& transport, const std::string& file, Checkpoint& checkpoint,
                 std::map<std::string, std::string>& side_files, std::map<std::string, Error>& side_file_errors);

}  // namespace ws
