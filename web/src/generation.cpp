// Session: tokens and step-by-step generation (the loop of ws::generate cut
// at each token, so JS can hand every piece to the page as it is chosen).
#include <algorithm>
#include <chrono>
#include <numeric>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "format/json_strict.h"
#include "web/src/session.h"

namespace ws::web {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A set beside the list: a 100k-id eos list must not cost 10^10 compares.
void add_ids(std::vector<int32_t>& ids, const std::vector<int32_t>& more) {
  std::unordered_set<int32_t> seen(ids.begin(), ids.end());
  for (int32_t id : more) {
    if (seen.insert(id).second) ids.push_back(id);
  }
}

// eos_token_id of generation_config.json (an int or a list), as the CLI reads it.
std::vector<int32_t> generation_config_eos(const std::string* text) {
  std::vector<int32_t> ids;
  if (!text) return ids;
  Result<nlohmann::json> j = detail::parse_json_strict(*text, ErrorKind::InvalidConfig, "generation_config.json");
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

Result<std::vector<int32_t>> Session::encode(const std::string& text, bool add_special_tokens) {
  if (tokenizer_error_) return *tokenizer_error_;
  if (!tokenizer_) return make_error(ErrorKind::NotFound, "no tokenizer.json, so text cannot be tokenized; pass token ids");
  return tokenizer_->encode(text, add_special_tokens);
}

Result<std::string> Session::decode(const std::vector<int32_t>& ids) {
  if (tokenizer_error_) return *tokenizer_error_;
  if (!tokenizer_) return make_error(ErrorKind::NotFound, "no tokenizer.json, so ids cannot be decoded");
  return tokenizer_->decode(ids);
}

Status Session::start_generation(std::vector<int32_t> prompt, const SamplingOptions& sampling,
                                 size_t max_new_tokens) {
  if (!model_ || executor_) return make_error(ErrorKind::InvalidArgument, "the model is not loaded");
  if (prompt.empty()) return make_error(ErrorKind::InvalidArgument, "the prompt has no tokens");
  WS_ASSIGN_OR_RETURN(Sampler sampler, Sampler::create(sampling));
  const ModelConfig& config = model_->config();
  capacity_ = std::min(config.max_positions, prompt.size() + max_new_tokens);
  if (prompt.size() > capacity_) {
    return make_error(ErrorKind::InvalidArgument, "prompt of " + std::to_string(prompt.size()) +
                                                      " tokens does not fit a context of " + std::to_string(capacity_));
  }
  cache_.reset();  // the previous generation's cache goes before the new one is allocated
  WS_ASSIGN_OR_RETURN(KVCache cache, model_->make_cache(capacity_));
  cache_ = std::move(cache);
  sampler_ = std::move(sampler);
  eos_ids_.clear();
  add_ids(eos_ids_, config.eos_token_ids);
  add_ids(eos_ids_, generation_config_eos(file("generation_config.json")));
  if (tokenizer_ && tokenizer_->eos_id()) add_ids(eos_ids_, {*tokenizer_->eos_id()});
  add_ids(eos_ids_, stop_ids_);
  decoder_.reset();
  if (tokenizer_) decoder_.emplace(*tokenizer_);
  prompt_ = std::move(prompt);
  history_ = prompt_;
  logits_.assign(config.vocab_size, 0.0f);
  max_new_tokens_ = max_new_tokens;
  prefilled_ = false;
  finished_ = max_new_tokens == 0;
  stats_ = GenerateResult{};
  piece_.clear();
  return Status::ok();
}

Result<std::optional<int32_t>> Session::step() {
  piece_.clear();
  if (finished_ || !sampler_) {
    if (decoder_) piece_ = decoder_->flush();
    decoder_.reset();
    return std::optional<int32_t>();
  }
  const auto start = std::chrono::steady_clock::now();
  if (!prefilled_) {
    std::vector<int32_t> positions(prompt_.size());
    std::iota(positions.begin(), positions.end(), 0);
    WS_TRY(model_->forward(prompt_.data(), positions.data(), prompt_.size(), *cache_, logits_.data()));
    stats_.prefill_tokens = prompt_.size();
    prefilled_ = true;
  } else {
    const int32_t id = history_.back();
    const int32_t position = static_cast<int32_t>(history_.size() - 1);
    if (static_cast<size_t>(position) >= capacity_) {  // the cache is full
      finished_ = true;
      return step();
    }
    WS_TRY(model_->forward(&id, &position, 1, *cache_, logits_.data()));
    ++stats_.decode_tokens;
  }
  const int32_t id = sampler_->sample(logits_.data(), logits_.size(), history_);
  if (stats_.ids.empty()) stats_.prefill_seconds += seconds_since(start);
  else stats_.decode_seconds += seconds_since(start);
  stats_.ids.push_back(id);
  history_.push_back(id);
  const bool stops = std::find(eos_ids_.begin(), eos_ids_.end(), id) != eos_ids_.end();
  if (stops) {
    stats_.stopped_at_eos = true;
    finished_ = true;
  }
  if (stats_.ids.size() >= max_new_tokens_) finished_ = true;
  // The stopping token's text (</s>, <|im_end|>) is not part of the answer,
  // as in the native generate_text (native/api/stream_text.cpp).
  piece_.clear();
  if (decoder_ && !stops) piece_ = decoder_->push(id);
  return std::optional<int32_t>(id);
}

}  // namespace ws::web
