// weightstream inspect: the checkpoint's shards, every tensor and a config summary.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/http_flags.h"
#include "cli/commands.h"
#include "format/json_strict.h"
#include "source/model_source.h"

namespace ws::cli {

namespace {

using json = nlohmann::json;

// The few config.json fields a person wants to see first.
json config_summary(ModelSource& source) {
  json summary = json::object();
  Result<bool> has_config = source.has_file("config.json");
  if (!has_config || !*has_config) return summary;
  Result<std::string> text = source.read_text("config.json");
  if (!text) return summary;
  Result<json> parsed = detail::parse_json_strict(*text, ErrorKind::InvalidConfig, "config.json");
  if (!parsed || !parsed->is_object()) return summary;
  const json& config = *parsed;
  for (const char* key : {"model_type", "architectures", "hidden_size", "n_embd", "num_hidden_layers", "n_layer",
                          "num_attention_heads", "n_head", "num_key_value_heads", "vocab_size", "torch_dtype",
                          "max_position_embeddings", "n_positions"}) {
    auto it = config.find(key);
    if (it != config.end()) summary[key] = *it;
  }
  return summary;
}

std::string shape_text(const std::vector<uint64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

int run_inspect(const Args& args) {
  Result<HttpTransportOptions> http = http_options(args);
  if (!http) return usage_error(kInspect, http.error());
  Result<std::unique_ptr<ModelSource>> source = ModelSource::open(args.positional[0], *http);
  if (!source) return report_error(source.error());
  const Checkpoint& checkpoint = (*source)->checkpoint();
  const json config = config_summary(**source);

  if (args.has("json")) {
    json out;
    out["location"] = (*source)->shown_location();
    out["config"] = config;
    out["shards"] = json::array();
    for (const ShardInfo& shard : checkpoint.shards) {
      out["shards"].push_back({{"file", shard.file_name}, {"bytes", shard.file_bytes}, {"metadata", shard.metadata}});
    }
    out["tensors"] = json::array();
    for (const TensorInfo& t : checkpoint.tensors) {
      out["tensors"].push_back({{"name", t.name}, {"dtype", dtype_name(t.dtype)}, {"shape", t.shape},
                                {"bytes", t.bytes()}, {"shard", checkpoint.shards[t.shard].file_name}});
    }
    out["tensor_bytes"] = checkpoint.data_bytes();
    std::puts(detail::dump_json(out, 2).c_str());
    return kExitOk;
  }

  std::printf("model: %s\n", (*source)->shown_location().c_str());
  for (auto it = config.begin(); it != config.end(); ++it) std::printf("  %s: %s\n", it.key().c_str(), detail::dump_json(it.value()).c_str());
  std::printf("shards: %zu, tensors: %zu, tensor bytes: %llu\n", checkpoint.shards.size(), checkpoint.tensors.size(),
              static_cast<unsigned long long>(checkpoint.data_bytes()));
  for (const ShardInfo& shard : checkpoint.shards) {
    std::printf("  %s  %llu bytes\n", shard.file_name.c_str(), static_cast<unsigned long long>(shard.file_bytes));
  }
  for (const TensorInfo& t : checkpoint.tensors) {
    std::printf("%-60s %-8s %-22s %12llu  %s\n", t.name.c_str(), dtype_name(t.dtype), shape_text(t.shape).c_str(),
                static_cast<unsigned long long>(t.bytes()), checkpoint.shards[t.shard].file_name.c_str());
  }
  return kExitOk;
}

}  // namespace ws::cli
