// model.safetensors.index.json: {"metadata": {"total_size": N, ...},
// "weight_map": {"tensor name": "shard file name", ...}}
#include <set>

#include "format/format.h"
#include "format/json_strict.h"

namespace ws {

namespace {

using json = nlohmann::json;

Error index_error(std::string message) { return make_error(ErrorKind::InvalidIndex, std::move(message)); }

bool is_plain(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\\') == std::string::npos && name.find('\0') == std::string::npos;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX sequences decoded, as a server decodes a request path.
std::string percent_decoded(const std::string& name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '%' && i + 2 < name.size() && hex_value(name[i + 1]) >= 0 &&
        hex_value(name[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(name[i + 1]) * 16 + hex_value(name[i + 2]));
      i += 2;
    } else {
      out += name[i];
    }
  }
  return out;
}

// A shard must be a plain file beside the index: an index must never make us
// open /etc/passwd or ../../secret, locally or over HTTP, where a server
// decodes "..%2Fsecret" into a path (checked once and twice decoded, for
// servers and proxies that decode again). '?' and '#' would end a URL's path.
bool is_plain_file_name(const std::string& name) {
  const std::string once = percent_decoded(name);
  return is_plain(name) && is_plain(once) && is_plain(percent_decoded(once)) &&
         name.find('?') == std::string::npos && name.find('#') == std::string::npos;
}

}  // namespace

Result<ShardIndex> parse_shard_index(std::string_view text, std::string_view file_name) {
  const std::string file(file_name);
  WS_ASSIGN_OR_RETURN(json root, detail::parse_json_strict(text, ErrorKind::InvalidIndex, file));
  if (!root.is_object()) return index_error(file + ": not a JSON object");

  ShardIndex index;
  auto metadata_it = root.find("metadata");
  if (metadata_it != root.end() && !metadata_it->is_null()) {
    if (!metadata_it->is_object()) return index_error(file + ": \"metadata\" is not an object");
    for (auto it = metadata_it->begin(); it != metadata_it->end(); ++it) {
      if (it.key() == "total_size") {
        if (!it.value().is_number_unsigned()) {
          return index_error(file + ": \"metadata.total_size\" is not a non-negative integer");
        }
        index.total_size = it.value().get<uint64_t>();
      }
      index.metadata[it.key()] = it.value().is_string() ? it.value().get<std::string>() : detail::dump_json(it.value());
    }
  }

  auto map_it = root.find("weight_map");
  if (map_it == root.end() || !map_it->is_object()) return index_error(file + ": missing \"weight_map\" object");
  if (map_it->empty()) return index_error(file + ": \"weight_map\" is empty");
  std::set<std::string> seen_shards;
  for (auto it = map_it->begin(); it != map_it->end(); ++it) {
    if (!it.value().is_string()) {
      return index_error(file + ": weight_map[\"" + it.key() + "\"] is not a file name string");
    }
    const std::string& shard = it.value().get_ref<const std::string&>();
    if (!is_plain_file_name(shard)) {
      return index_error(file + ": weight_map[\"" + it.key() + "\"] = \"" + shard +
                         "\" is not a plain file name beside the index");
    }
    index.weight_map[it.key()] = shard;
    if (seen_shards.insert(shard).second) index.shard_files.push_back(shard);
  }
  return index;
}

Status check_shard_index(const ShardIndex& index, const Checkpoint& checkpoint,
                         std::string_view index_file_name) {
  const std::string file(index_file_name);
  std::set<std::string> in_shards;
  for (const TensorInfo& t : checkpoint.tensors) {
    const std::string& shard_file = checkpoint.shards[t.shard].file_name;
    auto it = index.weight_map.find(t.name);
    if (it == index.weight_map.end()) {
      return index_error(file + ": tensor \"" + t.name + "\" is in " + shard_file + " but not in weight_map");
    }
    if (it->second != shard_file) {
      return index_error(file + ": weight_map puts \"" + t.name + "\" in " + it->second + " but it is in " +
                         shard_file);
    }
    if (!in_shards.insert(t.name).second) {
      return index_error(file + ": tensor \"" + t.name + "\" appears in more than one shard");
    }
  }
  for (const auto& [name, shard_file] : index.weight_map) {
    if (!in_shards.count(name)) {
      return make_error(ErrorKind::MissingTensor,
                        file + ": weight_map names \"" + name + "\" in " + shard_file + " but that shard has no such tensor");
    }
  }
  if (index.total_size && *index.total_size != checkpoint.data_bytes()) {
    return index_error(file + ": metadata.total_size is " + std::to_string(*index.total_size) +
                       " but the shards hold " + std::to_string(checkpoint.data_bytes()) + " tensor bytes");
  }
  return Status::ok();
}

}  // namespace ws
