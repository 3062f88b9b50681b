// A one-pass reader for safetensors headers of the plain shape every writer
// produces: {"name": {"dtype": S, "shape": [u...], "data_offsets": [u, u]}, ...,
// "__metadata__": {"k": "v", ...} or null}, each key once. It fills TensorInfos
// straight from the parser's events, with no JSON value per entry (a 1M-tensor
// header: 10 allocations fewer per entry, issue 13's 2 s budget).
//
// Anything else (a syntax error, an extra field, a wrong type, an unknown
// dtype, a duplicate name) returns false and the caller re-parses with the
// general strict parser, which words the error. So this reader only ever
// accepts; it never has to explain.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "format/format.h"

namespace ws::detail {

// Appends one TensorInfo per entry (offsets relative to the data section,
// unvalidated) and sets `metadata`. False: not plain; `tensors` and
// `metadata` are then unspecified.
bool read_plain_safetensors_header(std::string_view header_json, size_t shard_index,
                                   std::vector<TensorInfo>& tensors, std::map<std::string, std::string>& metadata);

}  // namespace ws::detail
