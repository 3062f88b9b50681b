// The generation loop cut at each token: the first step() is the prompt's
// batched prefill plus its first sample, every later one a single-token
// forward pass plus a sample.
#include "generate/generator.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "format/json_strict.h"

namespace ws {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::vector<int32_t> generation_config_eos(std::string_view text) {
  std::vector<int32_t> ids;
  if (text.empty()) return ids;
  Result<nlohmann::json> j = detail::parse_json_strict(text, ErrorKind::InvalidConfig, "generation_config.json");
  if (!j || !j->is_object()) return ids;
  auto it = j->find("eos_token_id");
  if (it == j->end()) return ids;
  auto push = [&](const nlohmann::json& v) {
    if (v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() <= 0x7fffffff) {
      ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
    }
  };
  if (it->is_array()) {
    for (const nlohmann::json& v : *it) push(v);
  } else {
    push(*it);
  }
  return ids;
}

}  // namespace

void add_unique_ids(std::vector<int32_t>& ids, const std::vector<int32_t>& more) {
  std::unordered_set<int32_t> seen(ids.begin(), ids.end());
  for (int32_t id : more) {
    if (seen.insert(id).second) ids.push_back(id);
  }
}

std::vector<int32_t> model_eos_ids(const ModelConfig& config, std::string_view generation_config_json,
                                   const Tokenizer* tokenizer) {
  std::vector<int32_t> ids;
  add_unique_ids(ids, config.eos_token_ids);
  add_unique_ids(ids, generation_config_eos(generation_config_json));
  if (tokenizer && tokenizer->eos_id()) add_unique_ids(ids, {*tokenizer->eos_id()});
  return ids;
}

Result<Generator> Generator::start(Model& model, std::vector<int32_t> prompt, const GenerateOptions& options,
                                   const Tokenizer* tokenizer) {
  if (prompt.empty()) return make_error(ErrorKind::InvalidArgument, "the prompt has no tokens");
  WS_ASSIGN_OR_RETURN(Sampler sampler, Sampler::create(options.sampling));
  size_t capacity = std::min(model.config().max_positions, prompt.size() + options.max_new_tokens);
  if (options.max_context > 0) capacity = std::min(capacity, options.max_context);
  if (prompt.size() > capacity) {
    return make_error(ErrorKind::InvalidArgument, "prompt of " + std::to_string(prompt.size()) +
                                                      " tokens does not fit a context of " + std::to_string(capacity));
  }
  WS_ASSIGN_OR_RETURN(KVCache cache, model.make_cache(capacity));
  return Generator(model, std::move(sampler), std::move(cache), std::move(prompt), options, capacity, tokenizer);
}

Generator::Generator(Model& model, Sampler sampler, KVCache cache, std::vector<int32_t> prompt,
                     const GenerateOptions& options, size_t capacity, const Tokenizer* tokenizer)
    : model_(&model),
      sampler_(std::move(sampler)),
      cache_(std::move(cache)),
      max_new_tokens_(options.max_new_tokens),
      capacity_(capacity),
      argmax_only_(options.sampling.temperature == 0.0f && options.sampling.repetition_penalty == 1.0f),
      history_(std::move(prompt)),
      finished_(options.max_new_tokens == 0) {
  add_unique_ids(eos_ids_, options.eos_token_ids);
  if (!argmax_only_) logits_.resize(model.config().vocab_size);
  if (tokenizer) decoder_.emplace(*tokenizer);
}

Status Generator::forward(const int32_t* tokens, const int32_t* positions, size_t n) {
  if (!argmax_only_) return model_->forward(tokens, positions, n, cache_, logits_.data());
  WS_ASSIGN_OR_RETURN(chosen_, model_->forward_argmax(tokens, positions, n, cache_));
  return Status::ok();
}

Result<std::optional<int32_t>> Generator::step() {
  piece_.clear();
  if (!finished_ && prefilled_ && history_.size() - 1 >= capacity_) finished_ = true;  // the cache is full
  if (finished_) {
    if (decoder_) piece_ = decoder_->flush();
    decoder_.reset();
    return std::optional<int32_t>();
  }
  const auto start = std::chrono::steady_clock::now();
  if (!prefilled_) {
    std::vector<int32_t> positions(history_.size());
    std::iota(positions.begin(), positions.end(), 0);
    WS_TRY(forward(history_.data(), positions.data(), history_.size()));
    result_.prefill_tokens = history_.size();
    prefilled_ = true;
  } else {
    const int32_t id = history_.back();
    const int32_t position = static_cast<int32_t>(history_.size() - 1);
    WS_TRY(forward(&id, &position, 1));
    ++result_.decode_tokens;
  }
  const int32_t sampled = argmax_only_ ? chosen_ : sampler_.sample(logits_.data(), logits_.size(), history_);
  // Tensor parallelism: every rank continues with rank 0's choice.
  WS_ASSIGN_OR_RETURN(const int32_t id, model_->agree_on_token(sampled));
  if (result_.ids.empty()) result_.prefill_seconds += seconds_since(start);
  else result_.decode_seconds += seconds_since(start);
  result_.ids.push_back(id);
  history_.push_back(id);
  const bool eos = std::find(eos_ids_.begin(), eos_ids_.end(), id) != eos_ids_.end();
  if (eos) result_.stopped_at_eos = true;
  if (eos || result_.ids.size() >= max_new_tokens_) finished_ = true;
  if (decoder_ && !eos) piece_ = decoder_->push(id);
  return std::optional<int32_t>(id);
}

}  // namespace ws
