// Generator: generation pulled one token at a time (start, then step() until
// it returns nullopt). It owns everything a generation needs: the KV cache,
// the sampler, the stop rules (EOS ids, max_new_tokens, the context limit)
// and, given a tokenizer, the stream decoder that turns each id into text.
// ws::generate, the library's generate_text and the web session are loops
// over it, so every target stops, samples and streams text the same way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "generate/generate.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace ws {

class Generator {
 public:
  // Checks the prompt and options and allocates the KV cache, sized
  // min(model maximum, prompt + max_new_tokens, max_context if set); the
  // prompt's prefill runs in the first step(). `model` (and `tokenizer`, when
  // given) must outlive the generator. Errors: InvalidArgument (empty prompt,
  // prompt longer than the context, bad sampling options), OutOfBudget (cache).
  static Result<Generator> start(Model& model, std::vector<int32_t> prompt, const GenerateOptions& options,
                                 const Tokenizer* tokenizer = nullptr);

  // The next id, or nullopt once generation is over (EOS emitted, max_new_tokens
  // reached, the context full, or stop() called). An EOS id is returned (and
  // counted) but adds no text: an end-of-turn marker is not part of the answer.
  Result<std::optional<int32_t>> step();
  // The caller wants no more tokens: the next step() returns nullopt.
  void stop() { finished_ = true; }
  bool finished() const { return finished_; }

  // The text the last step() completed (empty without a tokenizer); on the
  // final step (the one returning nullopt), whatever the decoder held back.
  const std::string& piece() const { return piece_; }
  const GenerateResult& result() const { return result_; }

 private:
  Generator(Model& model, Sampler sampler, KVCache cache, std::vector<int32_t> prompt, const GenerateOptions& options,
            size_t capacity, const Tokenizer* tokenizer);
  Status forward(const int32_t* tokens, const int32_t* positions, size_t n);

  Model* model_;
  Sampler sampler_;
  KVCache cache_;
  std::vector<int32_t> eos_ids_;
  size_t max_new_tokens_;
  size_t capacity_;
  bool argmax_only_;            // plain greedy: the backend picks the id where the logits are
  std::vector<int32_t> history_;  // the prompt, then every generated id
  std::vector<float> logits_;
  int32_t chosen_ = 0;          // forward_argmax's answer
  bool prefilled_ = false;
  bool finished_ = false;
  std::optional<StreamDecoder> decoder_;
  std::string piece_;
  GenerateResult result_;
};

// The ids that end a generation, merged without repeats: config.json's
// eos_token_id, generation_config.json's (an int or a list; pass "" when the
// file is absent) and the tokenizer's EOS. A malformed generation_config.json
// only costs its own ids: broken generation settings never stop a model.
std::vector<int32_t> model_eos_ids(const ModelConfig& config, std::string_view generation_config_json,
                                   const Tokenizer* tokenizer);

// `more` appended to `ids`, skipping ids already there (a set, so a 100k-id
// list costs no 10^10 compares).
void add_unique_ids(std::vector<int32_t>& ids, const std::vector<int32_t>& more);

}  // namespace ws
