#include "format/header_builder.h"

namespace ws::test {

std::string with_declared_length(uint64_t declared, const std::string& rest) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((declared >> (8 * i)) & 0xff);
  return out + rest;
}

std::string safetensors_file(const std::string& header_json, uint64_t data_bytes, uint8_t fill) {
  return with_declared_length(header_json.size(), header_json) + std::string(data_bytes, static_cast<char>(fill));
}

Status parse_file(const std::string& file, Checkpoint& out, const std::string& name) {
  uint8_t prefix[8] = {0};
  for (size_t i = 0; i < 8 && i < file.size(); ++i) prefix[i] = static_cast<uint8_t>(file[i]);
  WS_ASSIGN_OR_RETURN(uint64_t header_bytes, parse_safetensors_prefix(prefix, file.size(), name));
  ShardInfo shard;
  WS_TRY(parse_safetensors_header(std::string_view(file).substr(8, header_bytes), file.size(), name,
                                  out.shards.size(), shard, out.tensors));
  out.shards.push_back(shard);
  return Status::ok();
}

std::string entry(const std::string& name, const std::string& dtype, const std::string& shape, uint64_t begin,
                  uint64_t end) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" +
         std::to_string(begin) + "," + std::to_string(end) + "]}";
}

}  // namespace ws::test
