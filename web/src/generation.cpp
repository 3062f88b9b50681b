// Session: tokens and step-by-step generation (a ws::Generator, stepped from
// JS so every piece reaches the page as soon as it is chosen).
#include "web/src/session.h"

namespace ws::web {

Result<std::vector<int32_t>> Session::encode(const std::string& text, bool add_special_tokens) {
  if (settings_ && settings_->tokenizer_error) return *settings_->tokenizer_error;
  if (!has_tokenizer()) return make_error(ErrorKind::NotFound, "no tokenizer.json, so text cannot be tokenized; pass token ids");
  return settings_->tokenizer->encode(text, add_special_tokens);
}

Result<std::string> Session::decode(const std::vector<int32_t>& ids) {
  if (settings_ && settings_->tokenizer_error) return *settings_->tokenizer_error;
  if (!has_tokenizer()) return make_error(ErrorKind::NotFound, "no tokenizer.json, so ids cannot be decoded");
  return settings_->tokenizer->decode(ids);
}

Status Session::start_generation(std::vector<int32_t> prompt, const SamplingOptions& sampling,
                                 size_t max_new_tokens) {
  if (!model_ || !load_ || load_->executor()) return make_error(ErrorKind::InvalidArgument, "the model is not loaded");
  GenerateOptions options;
  options.sampling = sampling;
  options.max_new_tokens = max_new_tokens;
  options.max_context = max_context_;
  const Tokenizer* tokenizer = has_tokenizer() ? &*settings_->tokenizer : nullptr;
  options.eos_token_ids = settings_->eos_token_ids;
  add_unique_ids(options.eos_token_ids, stop_ids_);
  generator_.reset();  // the previous generation's cache goes before the new one is allocated
  WS_ASSIGN_OR_RETURN(Generator generator, Generator::start(*model_, std::move(prompt), options, tokenizer));
  generator_.emplace(std::move(generator));
  return Status::ok();
}

Result<std::optional<int32_t>> Session::step() {
  if (!generator_) return std::optional<int32_t>();
  return generator_->step();
}

}  // namespace ws::web
