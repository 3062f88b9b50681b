// tokenizer.json loading (detail): the stage loaders, and non-throwing field
// access on nlohmann::json for them. Every
// accessor checks the type first, so nothing throws even where exceptions are
// compiled in, and nothing aborts where they are not (WebAssembly).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "format/json_strict.h"

namespace ws::tokenizer_detail {

using Json = nlohmann::json;

// Parses `text`; InvalidConfig naming `what` when it is not a JSON object.
inline Result<Json> parse_json_object(std::string_view text, std::string_view what) {
  WS_ASSIGN_OR_RETURN(Json json, detail::parse_json_strict(text, ErrorKind::InvalidConfig, std::string(what)));
  if (!json.is_object()) return make_error(ErrorKind::InvalidConfig, std::string(what) + ": not a JSON object");
  return json;
}

// The member `key` of `object`, or nullptr when absent, null, or `object` is no object.
inline const Json* member(const Json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

inline Error field_error(std::string_view path, const char* key, std::string_view problem) {
  return make_error(ErrorKind::InvalidConfig,
                    "tokenizer.json: " + std::string(path) + "." + key + ": " + std::string(problem));
}

// An optional string: nullopt when absent or null; an error when of another type.
inline Result<std::optional<std::string>> optional_string(const Json& object, std::string_view path,
                                                          const char* key) {
  const Json* value = member(object, key);
  if (!value) return std::optional<std::string>();
  if (!value->is_string()) return field_error(path, key, "expected a string");
  return std::optional<std::string>(value->get_ref<const std::string&>());
}

inline Result<bool> bool_or(const Json& object, std::string_view path, const char* key, bool fallback) {
  const Json* value = member(object, key);
  if (!value) return fallback;
  if (!value->is_boolean()) return field_error(path, key, "expected true or false");
  return value->get<bool>();
}

// An integer in [0, INT32_MAX].
inline std::optional<int32_t> as_id(const Json& value) {
  if (!value.is_number_integer()) return std::nullopt;
  if (value.is_number_unsigned()) {
    uint64_t v = value.get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) return std::nullopt;
    return static_cast<int32_t>(v);
  }
  int64_t v = value.get<int64_t>();
  if (v < 0 || v > std::numeric_limits<int32_t>::max()) return std::nullopt;
  return static_cast<int32_t>(v);
}

inline Result<size_t> count_or(const Json& object, std::string_view path, const char* key, size_t fallback) {
  const Json* value = member(object, key);
  if (!value) return fallback;
  std::optional<int32_t> v = as_id(*value);
  if (!v) return field_error(path, key, "expected a non-negative integer");
  return static_cast<size_t>(*v);
}

// The component's "type" tag ("" when absent).
inline std::string type_of(const Json& object) {
  const Json* type = member(object, "type");
  return type && type->is_string() ? type->get_ref<const std::string&>() : std::string();
}

inline Error unsupported(std::string_view component, std::string_view type) {
  return make_error(ErrorKind::Unsupported, "tokenizer.json: " + std::string(component) + " type '" +
                                                std::string(type) + "' is not supported");
}

struct TokenizerData;

// Each fills its stage of `data` from the tokenizer.json root object.
Status load_bpe_model(const Json& root, TokenizerData* data);       // json_model.cpp
Status load_added_tokens(const Json& root, TokenizerData* data);    // json_model.cpp
Status load_normalizer(const Json& root, TokenizerData* data);      // json_stages.cpp
Status load_pre_tokenizer(const Json& root, TokenizerData* data);   // json_stages.cpp
Status load_post_processor(const Json& root, TokenizerData* data);  // json_stages.cpp
Status load_decoder(const Json& root, TokenizerData* data);         // json_stages.cpp

}  // namespace ws::tokenizer_detail
