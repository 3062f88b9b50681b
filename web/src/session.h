// One model in the wasm module: its side files, checkpoint headers, the model
// and its load executor, tokenizer and a step-by-step generation. The JS
// loader (web/js/) drives it through the C API in exports.cpp; every parser
// here is the shared core's, so there is one parser per format.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/result.h"
#include "format/format.h"
#include "generate/generate.h"
#include "generate/generator.h"
#include "load/load.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace ws::web {

// Threads a backend may use: the pthreads build starts a pool of 3 workers
// with the module (PTHREAD_POOL_SIZE in web/CMakeLists.txt) plus the caller.
#if defined(__EMSCRIPTEN_PTHREADS__)
constexpr int kMaxThreads = 4;
#else
constexpr int kMaxThreads = 1;
#endif

class Session {
 public:
  // ---- side files and headers ----
  // config.json, tokenizer.json, tokenizer_config.json,
  // generation_config.json, model.safetensors.index.json; GGUF files add
  // their synthesized config/tokenizer texts here (those win).
  void set_file(const std::string& name, std::string text);
  const std::string* file(const std::string& name) const;

  // Parses model.safetensors.index.json (set_file first) and returns its
  // shard file names in the order they must be fed. Errors: InvalidIndex.
  Result<std::vector<std::string>> index_shards();

  // A shard's header arrives as a growing prefix of the file: begin_shard,
  // then (prefix_buffer + parse_prefix) until parse_prefix returns 0, or the
  // number of bytes (from the start of the file) it needs before it can go on.
  // `file_name` is relative to the model (what an index names); `location`
  // (the URL or path) is what error messages name.
  Status begin_shard(const std::string& file_name, const std::string& location, uint64_t file_bytes);
  // Room for the first `bytes` bytes of the shard (the ones already given are
  // kept); the caller writes bytes [previous size, bytes) there.
  uint8_t* prefix_buffer(uint64_t bytes);
  Result<uint64_t> parse_prefix();

  // ---- the model ----
  // config.json -> model (weights allocated, untouched) -> plan -> executor.
  // Errors: NotFound (no config.json), InvalidIndex, those of
  // parse_model_config / build_model / plan_model_load, OutOfBudget when the
  // weights cannot fit wasm32's 4 GiB.
  // `threads` > 1 only in the pthreads build (kMaxThreads there).
  Status prepare(const std::string& dtype, int threads = 1);
  const Checkpoint& checkpoint() const { return checkpoint_; }
  const LoadPlan& plan() const { return plan_; }
  LoadExecutor* executor() { return executor_.get(); }
  // Every shard must be complete; frees the staging buffer.
  Status finish_load();
  const Model* model() const { return model_.get(); }
  std::string backend_name() const { return backend_ ? backend_->describe() : ""; }

  // ---- tokens ----
  // Errors: NotFound / the tokenizer's parse error when tokenizer.json is
  // missing or unusable.
  Result<std::vector<int32_t>> encode(const std::string& text, bool add_special_tokens);
  Result<std::string> decode(const std::vector<int32_t>& ids);
  bool has_tokenizer() const { return tokenizer_.has_value(); }

  // ---- generation, one token per call ----
  // A ws::Generator, as native runs it (same cache size, sampler, stopping
  // rules, stream decoder): the first step is the prompt's prefill. EOS ids:
  // config.json, generation_config.json and the tokenizer's, merged.
  Status start_generation(std::vector<int32_t> prompt, const SamplingOptions& sampling, size_t max_new_tokens);
  // More ids to stop at (a chat template's end of turn), for the generations
  // started after this call; replaces the previous set.
  void set_stop_ids(std::vector<int32_t> ids) { stop_ids_ = std::move(ids); }
  // The next id, or nullopt when generation is over. Its text piece (the
  // held-back rest on the final call; none for an EOS id) is in piece().
  Result<std::optional<int32_t>> step();
  const std::string& piece() const { return generator_ ? generator_->piece() : no_piece_; }
  const GenerateResult& stats() const { return generator_ ? generator_->result() : no_stats_; }

 private:
  Status add_parsed_shard(ShardInfo shard);

  std::map<std::string, std::string> files_;
  std::map<std::string, std::string> synthesized_;
  std::optional<ShardIndex> index_;
  Checkpoint checkpoint_;
  // The shard whose header is being read.
  std::string shard_file_;
  std::string shard_location_;
  uint64_t shard_file_bytes_ = 0;
  std::vector<uint8_t> prefix_;

  std::optional<ModelConfig> config_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Model> model_;
  LoadPlan plan_;
  std::unique_ptr<LoadExecutor> executor_;
  std::optional<Tokenizer> tokenizer_;
  std::optional<Error> tokenizer_error_;

  std::optional<Generator> generator_;
  inline static const std::string no_piece_;
  inline static const GenerateResult no_stats_{};
  std::vector<int32_t> stop_ids_;  // set_stop_ids
};

}  // namespace ws::web
