// apply_special_tokens_config: BOS/EOS from tokenizer_config.json and config.json.
#include "tokenizer/json_loader.h"
#include "tokenizer/tokenizer.h"

namespace ws {
namespace {

using tokenizer_detail::Json;
using tokenizer_detail::member;

// tokenizer_config.json's "bos_token": "<s>" or {"content": "<s>", ...}.
Result<std::optional<int32_t>> token_from_tokenizer_config(const Tokenizer& tokenizer, const Json& config,
                                                           const char* key) {
  const Json* value = member(config, key);
  // null: no such token (Qwen2/2.5/3 write "bos_token": null).
  if (!value || value->is_null()) return std::optional<int32_t>();
  if (value->is_object()) value = member(*value, "content");
  if (!value || !value->is_string()) {
    return make_error(ErrorKind::InvalidConfig,
                      std::string("tokenizer_config.json: ") + key + ": expected a string or {\"content\": ...}");
  }
  std::optional<int32_t> id = tokenizer.token_id(value->get_ref<const std::string&>());
  if (!id) {
    return make_error(ErrorKind::InvalidConfig, std::string("tokenizer_config.json: ") + key + " '" +
                                                    value->get<std::string>() + "' is not in the vocabulary");
  }
  return id;
}

// config.json's "bos_token_id": 1, or [1, 2] (the first is taken).
Result<std::optional<int32_t>> id_from_model_config(const Tokenizer& tokenizer, const Json& config, const char* key) {
  const Json* value = member(config, key);
  if (!value || value->is_null()) return std::optional<int32_t>();  // transformers 5 writes null ids
  if (value->is_array()) {
    if (value->empty()) return std::optional<int32_t>();
    value = &(*value)[0];
  }
  std::optional<int32_t> id = tokenizer_detail::as_id(*value);
  if (!id || static_cast<size_t>(*id) >= tokenizer.vocab_size()) {
    return make_error(ErrorKind::InvalidConfig,
                      std::string("config.json: ") + key + ": expected an id below the vocabulary size " +
                          std::to_string(tokenizer.vocab_size()));
  }
  return id;
}

}  // namespace

Status apply_special_tokens_config(Tokenizer& tokenizer, std::string_view tokenizer_config_json,
                                   std::string_view config_json) {
  std::optional<int32_t> bos = tokenizer.bos_id(), eos = tokenizer.eos_id();
  if (!config_json.empty()) {
    WS_ASSIGN_OR_RETURN(Json config, tokenizer_detail::parse_json_object(config_json, "config.json"));
    WS_ASSIGN_OR_RETURN(auto config_bos, id_from_model_config(tokenizer, config, "bos_token_id"));
    WS_ASSIGN_OR_RETURN(auto config_eos, id_from_model_config(tokenizer, config, "eos_token_id"));
    if (config_bos) bos = config_bos;
    if (config_eos) eos = config_eos;
  }
  if (!tokenizer_config_json.empty()) {
    WS_ASSIGN_OR_RETURN(Json config, tokenizer_detail::parse_json_object(tokenizer_config_json, "tokenizer_config.json"));
    WS_ASSIGN_OR_RETURN(auto config_bos, token_from_tokenizer_config(tokenizer, config, "bos_token"));
    WS_ASSIGN_OR_RETURN(auto config_eos, token_from_tokenizer_config(tokenizer, config, "eos_token"));
    if (config_bos) bos = config_bos;
    if (config_eos) eos = config_eos;
  }
  tokenizer.set_special_ids(bos, eos);
  return Status::ok();
}

}  // namespace ws
