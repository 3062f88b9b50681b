// One model in the wasm module: its opener (the shared src/open one, answered
// by JS with fetched bytes), the model and its load executor, tokenizer and a
// step-by-step generation. The JS loader (web/js/) drives it through the C API
// in exports.cpp; every parser and every opening decision is the shared
// core's, as natively.
#pragma once

#include <cstdint>
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
#include "open/load_sequence.h"
#include "open/open.h"
#include "open/settings.h"
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
  // ---- opening: the shared ModelOpener (src/open), answered by JS ----
  // `location` (the URL or path the user gave) is what messages about the
  // model name; `weights_file` the .gguf / .safetensors file it names, or ""
  // for a directory. Then answer open_wanted() until it is empty.
  // Errors: InvalidArgument after prepare.
  Status open(const std::string& location, const std::string& weights_file);
  const std::vector<ByteRequest>& open_wanted() const;
  // ModelOpener::answer / absent; InvalidArgument when nothing is being opened.
  Status open_answer(const std::string& file, const uint8_t* data, uint64_t size, uint64_t file_bytes,
                     const std::string& where);
  Status open_absent(const std::string& file, const std::string& why);
  // A side file read or made while opening (after prepare), or nullptr.
  const std::string* file(const std::string& name) const;

  // ---- the model ----
  // The opened files -> settings (read_model_settings) -> the shared load
  // sequence (open/load_sequence.h: admission, model, plan, executor), as
  // natively. Errors: InvalidArgument while the open is unfinished; NotFound
  // (no config.json), those of read_model_settings / build_admitted_model /
  // ModelLoad::start, OutOfBudget when the load cannot fit wasm32's 4 GiB.
  // `threads` > 1 only in the pthreads build (kMaxThreads there).
  // `max_context` (0: the model's maximum) is native's --max-context: the
  // positions admission sizes the KV cache for and every generation's limit.
  Status prepare(const std::string& dtype, int threads = 1, size_t max_context = 0);
  const Checkpoint& checkpoint() const { return opened_.checkpoint; }
  // After prepare: config, tokenizer, chat template, EOS ids.
  const ModelSettings* settings() const { return settings_ ? &*settings_ : nullptr; }
  const LoadPlan& plan() const { return load_ ? load_->plan() : no_plan_; }
  // What JS feeds fetched bytes to, until finish_load.
  LoadExecutor* executor() { return load_ ? load_->executor() : nullptr; }
  // ModelLoad::finish: every shard must be complete; frees the staging buffer.
  Status finish_load();
  const Model* model() const { return model_.get(); }
  std::string backend_name() const { return backend_ ? backend_->describe() : ""; }

  // ---- tokens ----
  // Errors: NotFound / the tokenizer's parse error when tokenizer.json is
  // missing or unusable.
  Result<std::vector<int32_t>> encode(const std::string& text, bool add_special_tokens);
  Result<std::string> decode(const std::vector<int32_t>& ids);
  bool has_tokenizer() const { return settings_ && settings_->tokenizer.has_value(); }

  // ---- generation, one token per call ----
  // A ws::Generator, as native runs it (same cache size, sampler, stopping
  // rules, stream decoder): the first step is the prompt's prefill. EOS ids:
  // the settings' (config.json, generation_config.json, the tokenizer's).
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
  std::string location_;
  std::optional<ModelOpener> opener_;
  OpenedModel opened_;
  std::optional<ModelSettings> settings_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<ModelLoad> load_;
  inline static const LoadPlan no_plan_{};
  size_t max_context_ = 0;

  std::optional<Generator> generator_;
  inline static const std::string no_piece_;
  inline static const GenerateResult no_stats_{};
  std::vector<int32_t> stop_ids_;  // set_stop_ids
};

}  // namespace ws::web
