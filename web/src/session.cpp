// Session: headers (safetensors or GGUF, fed as growing prefixes), the model,
// its load plan and executor.
#include "web/src/session.h"

#include <algorithm>

#include "format/gguf.h"
#include "model/admission.h"

namespace ws::web {

namespace {

constexpr const char* kIndexFile = "model.safetensors.index.json";
// wasm32 addresses 4 GiB; the module, stacks, activations and the KV cache
// need some of it.
constexpr uint64_t kWasmWeightBudget = (4ull << 30) - (256ull << 20);

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

void Session::set_file(const std::string& name, std::string text) { files_[name] = std::move(text); }

const std::string* Session::file(const std::string& name) const {
  auto it = synthesized_.find(name);
  if (it != synthesized_.end()) return &it->second;
  it = files_.find(name);
  return it == files_.end() ? nullptr : &it->second;
}

Result<std::vector<std::string>> Session::index_shards() {
  const std::string* text = file(kIndexFile);
  if (!text) return make_error(ErrorKind::NotFound, std::string(kIndexFile) + " was not given");
  WS_ASSIGN_OR_RETURN(ShardIndex index, parse_shard_index(*text, kIndexFile));
  index_ = std::move(index);
  return index_->shard_files;
}

Status Session::begin_shard(const std::string& file_name, const std::string& location, uint64_t file_bytes) {
  if (model_) return make_error(ErrorKind::InvalidArgument, "shards must be given before prepare");
  shard_file_ = file_name;
  shard_location_ = location;
  shard_file_bytes_ = file_bytes;
  prefix_.clear();
  return Status::ok();
}

uint8_t* Session::prefix_buffer(uint64_t bytes) {
  if (model_ || bytes > shard_file_bytes_ || bytes > kMaxGgufHeaderBytes + 8) return nullptr;
  prefix_.resize(bytes);
  return prefix_.data();
}

Status Session::add_parsed_shard(ShardInfo shard) {
  shard.file_name = shard_file_;
  checkpoint_.shards.push_back(std::move(shard));
  prefix_.clear();
  prefix_.shrink_to_fit();
  return Status::ok();
}

Result<uint64_t> Session::parse_prefix() {
  // After prepare the plan and executor point into checkpoint_: no more shards.
  if (model_) return make_error(ErrorKind::InvalidArgument, "shards must be given before prepare");
  const std::string& where = shard_location_;
  if (ends_with(shard_file_, ".gguf")) {
    if (!checkpoint_.shards.empty()) return make_error(ErrorKind::InvalidArgument, where + ": a GGUF model is one file");
    WS_ASSIGN_OR_RETURN(GgufPrefix parsed, parse_gguf_prefix(prefix_.data(), prefix_.size(), shard_file_bytes_, where));
    if (!parsed.header) {
      // Grow geometrically so a 10 MB vocabulary takes a handful of requests.
      const uint64_t want = std::min<uint64_t>(shard_file_bytes_, std::max<uint64_t>(parsed.bytes_needed, prefix_.size() * 2));
      if (want <= prefix_.size()) {
        return make_error(ErrorKind::Truncated, where + ": header needs more than the file's " +
                                                    std::to_string(shard_file_bytes_) + " bytes");
      }
      return want;
    }
    WS_TRY(gguf_checkpoint(*parsed.header, shard_file_bytes_, where, checkpoint_));
    checkpoint_.shards.back().file_name = shard_file_;
    // Side files are best effort, as natively: what the metadata supports.
    if (Result<std::string> config = gguf_config_json(*parsed.header, where)) synthesized_["config.json"] = *config;
    if (Result<std::string> tok = gguf_tokenizer_json(*parsed.header, where)) synthesized_["tokenizer.json"] = *tok;
    if (Result<std::string> tc = gguf_tokenizer_config_json(*parsed.header, where)) {
      synthesized_["tokenizer_config.json"] = *tc;
    }
    prefix_.clear();
    prefix_.shrink_to_fit();
    return uint64_t{0};
  }
  if (prefix_.size() < 8) {
    if (shard_file_bytes_ < 8) {
      uint8_t zero[8] = {0};
      WS_ASSIGN_OR_RETURN(uint64_t unused, parse_safetensors_prefix(zero, shard_file_bytes_, where));
      (void)unused;
    }
    return uint64_t{8};
  }
  WS_ASSIGN_OR_RETURN(uint64_t header_bytes, parse_safetensors_prefix(prefix_.data(), shard_file_bytes_, where));
  if (prefix_.size() < 8 + header_bytes) return 8 + header_bytes;
  ShardInfo shard;
  const std::string_view header(reinterpret_cast<const char*>(prefix_.data()) + 8, header_bytes);
  WS_TRY(parse_safetensors_header(header, shard_file_bytes_, where, checkpoint_.shards.size(), shard,
                                  checkpoint_.tensors));
  WS_TRY(add_parsed_shard(std::move(shard)));
  return uint64_t{0};
}

Status Session::prepare(const std::string& dtype_text, int threads) {
  if (model_) return make_error(ErrorKind::InvalidArgument, "the session is already prepared");
  if (checkpoint_.shards.empty()) return make_error(ErrorKind::InvalidArgument, "no shard header was given");
  if (index_) WS_TRY(check_shard_index(*index_, checkpoint_, kIndexFile));
  WS_ASSIGN_OR_RETURN(WeightDType dtype, parse_weight_dtype(dtype_text));
  const std::string* config_text = file("config.json");
  if (!config_text) return make_error(ErrorKind::NotFound, "config.json was not given");
  WS_ASSIGN_OR_RETURN(ModelConfig config, parse_model_config(*config_text));
  config_ = config;

  // A tokenizer we cannot read only costs text: ids still work.
  if (const std::string* tok = file("tokenizer.json")) {
    Result<Tokenizer> parsed = Tokenizer::from_json(*tok);
    if (parsed) {
      tokenizer_ = std::move(*parsed);
      const std::string* tc = file("tokenizer_config.json");
      // BOS/EOS naming problems do not stop generation (as in the native CLI).
      Status special = apply_special_tokens_config(*tokenizer_, tc ? *tc : "", *config_text);
      (void)special;
    } else {
      tokenizer_error_ = parsed.error();
    }
  }

  BackendOptions options;
  options.threads = std::max(1, std::min(threads, kMaxThreads));
  WS_ASSIGN_OR_RETURN(backend_, make_portable_backend(options));
  // Refuse what cannot fit wasm32 before allocating (weights in the chosen
  // dtype, KV cache, activations, staging), naming the dtypes that would.
  WS_TRY(admit_model(config, *backend_, dtype, &checkpoint_, kWasmWeightBudget,
                     "a wasm32 module's 4 GiB address space less 256 MiB for the module"));
  Result<std::unique_ptr<Model>> model = build_model(config, *backend_, dtype, &checkpoint_);
  if (!model) {
    if (model.error().kind == ErrorKind::OutOfBudget) {
      return make_error(ErrorKind::OutOfBudget, model.error().message + " (the wasm heap is limited to 4 GiB)");
    }
    return model.error();
  }
  model_ = std::move(*model);
  WS_ASSIGN_OR_RETURN(plan_, plan_model_load(*model_, checkpoint_));
  WS_ASSIGN_OR_RETURN(executor_, LoadExecutor::create(plan_, model_->manifest()));
  return Status::ok();
}

Status Session::finish_load() {
  if (!executor_) return make_error(ErrorKind::InvalidArgument, "nothing is being loaded");
  for (size_t s = 0; s < checkpoint_.shards.size(); ++s) {
    if (!executor_->shard_done(s)) {
      return make_error(ErrorKind::Truncated, checkpoint_.shards[s].file_name + ": load stopped at byte " +
                                                  std::to_string(executor_->next(s).file_offset));
    }
  }
  executor_.reset();  // frees the staging buffer before generation
  return Status::ok();
}

}  // namespace ws::web
