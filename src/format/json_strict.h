// Strict JSON parsing shared by the header and index parsers: no exceptions,
// duplicate object keys rejected (nlohmann would silently keep the last one,
// which lets two different tensors hide behind one name).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace ws::detail {

// Parses `text` as JSON. On failure returns an error of `kind` whose message
// starts with `what` (e.g. "model.safetensors: header").
Result<nlohmann::json> parse_json_strict(std::string_view text, ErrorKind kind, const std::string& what);

}  // namespace ws::detail
