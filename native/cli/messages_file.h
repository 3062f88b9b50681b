// --messages FILE.json: a conversation for the chat template, shared by the
// generate and tokenize commands.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace ws::cli {

// The JSON array of {role, content} in `path` ("-" = standard input).
// Errors: Io / NotFound for the file, InvalidArgument for its contents.
Result<nlohmann::ordered_json> read_messages(const std::string& path);

}  // namespace ws::cli
