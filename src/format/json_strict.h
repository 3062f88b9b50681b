// The one JSON entry point for every file we read (safetensors header, index,
// config.json, generation_config.json, tokenizer.json, tokenizer_config.json):
// no exceptions, linear time, bounded depth, duplicate object keys rejected
// (nlohmann would silently keep the last one, which lets two different
// tensors hide behind one name).
//
// The depth bound is what makes the parsed value safe to copy, compare and
// dump: nlohmann recurses on those, so a 100k-deep value parsed once would
// overflow the stack later, wherever it is echoed into a message.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace ws::detail {

// Deepest nesting of arrays and objects accepted. Real files nest a handful of
// levels (tokenizer.json: about 6; a Sequence of Sequences a few more).
inline constexpr size_t kMaxJsonDepth = 128;

// Parses `text` as JSON. On failure returns an error of `kind` whose message
// starts with `what` (e.g. "model.safetensors: header") and says why: a syntax
// error (with its byte offset), a duplicate key, or nesting deeper than
// kMaxJsonDepth.
Result<nlohmann::json> parse_json_strict(std::string_view text, ErrorKind kind, const std::string& what);

// Parses `text`, which must be a JSON object, handing each top-level member to
// `on_member` as soon as it is complete, then dropping it: the whole object is
// never built (a 1M-tensor safetensors header costs its entries, not a DOM 14x
// its size). Same checks and errors as parse_json_strict; an error returned by
// `on_member` stops the parse and is returned as is.
Status parse_json_object_members(std::string_view text, ErrorKind kind, const std::string& what,
                                 const std::function<Status(std::string key, nlohmann::json value)>& on_member);

// `value` as JSON text that cannot throw: invalid UTF-8 in strings (from GGUF
// metadata, tensor names, paths) is replaced with U+FFFD. indent < 0: compact.
std::string dump_json(const nlohmann::json& value, int indent = -1);

}  // namespace ws::detail
