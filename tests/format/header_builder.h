// Builds safetensors files in memory for tests: well-formed or deliberately broken.
#pragma once

#include <cstdint>
#include <string>

#include "format/format.h"

namespace ws::test {

// [u64 LE length of header_json][header_json][data_bytes bytes of `fill`]
std::string safetensors_file(const std::string& header_json, uint64_t data_bytes, uint8_t fill = 0);
// Like safetensors_file but with an arbitrary declared header length.
std::string with_declared_length(uint64_t declared, const std::string& rest);

// Parses a whole in-memory file the way ModelSource does (prefix, then header).
Status parse_file(const std::string& file, Checkpoint& out, const std::string& name = "test.safetensors");

// A JSON entry for one tensor: "name":{"dtype":...,"shape":[...],"data_offsets":[b,e]}
std::string entry(const std::string& name, const std::string& dtype, const std::string& shape, uint64_t begin,
                  uint64_t end);

}  // namespace ws::test
