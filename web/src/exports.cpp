// The wasm module's C API, called from web/js/. Conventions:
//  - a Session* is an opaque handle; every call takes it first;
//  - a call that can fail returns -1 (or nullptr) and leaves {kind, message}
//    for ws_error_kind() / ws_error_message(), kind spelled as ws::ErrorKind;
//  - 64-bit sizes and offsets cross as doubles (exact below 2^53);
//  - text crosses as (pointer, byte length) pairs in the wasm heap.
// Load protocol, exactly ws::LoadExecutor's: for each shard, ws_next_target
// says where the next bytes of the file go ({file offset, heap pointer,
// length}); JS copies fetched bytes there and calls ws_commit.
#include <emscripten/emscripten.h>

#include <cstring>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "generate/chat.h"
#include "web/src/session.h"

using ws::web::Session;

namespace {

ws::Error g_error{ws::ErrorKind::InvalidArgument, ""};
std::string g_text;          // the last text handed to JS (decode, info)
std::vector<int32_t> g_ids;  // the last ids handed to JS (encode)
double g_target[3];

int fail(const ws::Error& error) {
  g_error = error;
  return -1;
}

std::string text_of(const char* data, size_t len) { return std::string(data ? data : "", data ? len : 0); }

// Recursion that only ends with the stack (for ws_test_trap): the volatile
// frame keeps the compiler from turning it into a loop.
int recurse_forever(int depth) {
  volatile char frame[256];
  frame[depth % 256] = static_cast<char>(depth);
  return recurse_forever(depth + 1) + frame[(depth * 7) % 256];
}

}  // namespace

extern "C" {

EMSCRIPTEN_KEEPALIVE int ws_abi_version() { return 1; }
EMSCRIPTEN_KEEPALIVE int ws_max_threads() { return ws::web::kMaxThreads; }
EMSCRIPTEN_KEEPALIVE const char* ws_error_kind() { return ws::error_kind_name(g_error.kind); }
EMSCRIPTEN_KEEPALIVE const char* ws_error_message() { return g_error.message.c_str(); }
EMSCRIPTEN_KEEPALIVE const char* ws_text() { return g_text.data(); }
EMSCRIPTEN_KEEPALIVE int ws_text_len() { return static_cast<int>(g_text.size()); }

EMSCRIPTEN_KEEPALIVE Session* ws_session_create() { return new Session(); }
EMSCRIPTEN_KEEPALIVE void ws_session_destroy(Session* s) { delete s; }

// A side file (config.json, tokenizer.json, ...): `len` bytes at `text`.
EMSCRIPTEN_KEEPALIVE int ws_set_file(Session* s, const char* name, const char* text, size_t len) {
  s->set_file(name, text_of(text, len));
  return 0;
}

// 1 and the text in ws_text() when the session has `name` (given or
// synthesized from a GGUF header), else 0.
EMSCRIPTEN_KEEPALIVE int ws_get_file(Session* s, const char* name) {
  const std::string* text = s->file(name);
  if (!text) return 0;
  g_text = *text;
  return 1;
}

// Parses model.safetensors.index.json: the shard count, names as a JSON array
// in ws_text(); -1 on error.
EMSCRIPTEN_KEEPALIVE int ws_index_shards(Session* s) {
  ws::Result<std::vector<std::string>> shards = s->index_shards();
  if (!shards) return fail(shards.error());
  g_text = nlohmann::json(*shards).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return static_cast<int>(shards->size());
}

EMSCRIPTEN_KEEPALIVE int ws_begin_shard(Session* s, const char* file_name, const char* location, double file_bytes) {
  ws::Status status = s->begin_shard(file_name, location, static_cast<uint64_t>(file_bytes));
  return status ? 0 : fail(status.error());
}

// Room for the first `bytes` bytes of the shard; JS writes the ones it has
// not given yet. nullptr (and an OutOfBudget error) past the header caps.
EMSCRIPTEN_KEEPALIVE uint8_t* ws_prefix_buffer(Session* s, double bytes) {
  uint8_t* p = s->prefix_buffer(static_cast<uint64_t>(bytes));
  if (!p) fail({ws::ErrorKind::OutOfBudget, "header prefix of " + std::to_string(bytes) + " bytes refused"});
  return p;
}

// 0 when the header is parsed, else the prefix length needed; -1 on error.
EMSCRIPTEN_KEEPALIVE double ws_parse_prefix(Session* s) {
  ws::Result<uint64_t> need = s->parse_prefix();
  if (!need) return fail(need.error());
  return static_cast<double>(*need);
}

// `threads`: what the backend may use, clamped to ws_max_threads().
EMSCRIPTEN_KEEPALIVE int ws_prepare(Session* s, const char* dtype, int threads) {
  ws::Status status = s->prepare(dtype, threads);
  return status ? 0 : fail(status.error());
}

// JSON in ws_text(): the model and its load plan.
EMSCRIPTEN_KEEPALIVE int ws_info(Session* s) {
  nlohmann::json info;
  nlohmann::json shards = nlohmann::json::array();
  for (size_t i = 0; i < s->checkpoint().shards.size(); ++i) {
    const ws::ShardInfo& shard = s->checkpoint().shards[i];
    nlohmann::json j = {{"file", shard.file_name}, {"file_bytes", shard.file_bytes}};
    if (i < s->plan().shards.size()) {
      j["begin"] = s->plan().shards[i].begin;
      j["end"] = s->plan().shards[i].end;
    }
    shards.push_back(j);
  }
  info["shards"] = shards;
  info["tensors"] = s->checkpoint().tensors.size();
  if (const ws::Model* model = s->model()) {
    const ws::ModelConfig& c = model->config();
    info["model_type"] = c.model_type;
    info["layers"] = c.layers;
    info["hidden_size"] = c.hidden_size;
    info["vocab_size"] = c.vocab_size;
    info["max_positions"] = c.max_positions;
    info["bytes_to_read"] = s->plan().bytes_to_read;
    info["bytes_to_bind"] = s->plan().bytes_to_bind;
    info["staging_bytes"] = s->plan().staging_bytes;
    info["backend"] = s->backend_name();
    info["has_tokenizer"] = s->has_tokenizer();
  }
  g_text = info.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return 0;
}

// {file offset, heap pointer (0 for bytes nobody needs), length (0: shard
// complete)} of the shard's next region, at the returned address.
EMSCRIPTEN_KEEPALIVE double* ws_next_target(Session* s, int shard) {
  ws::LoadExecutor* executor = s->executor();
  if (!executor || shard < 0 || static_cast<size_t>(shard) >= s->checkpoint().shards.size()) {
    g_target[0] = g_target[1] = g_target[2] = 0;
    return g_target;
  }
  const ws::FillTarget t = executor->next(static_cast<size_t>(shard));
  g_target[0] = static_cast<double>(t.file_offset);
  g_target[1] = static_cast<double>(reinterpret_cast<uintptr_t>(t.dst));
  g_target[2] = static_cast<double>(t.len);
  return g_target;
}

// Somewhere to read `len` skipped bytes into.
EMSCRIPTEN_KEEPALIVE uint8_t* ws_scratch(Session* s, double len) {
  return s->executor() ? s->executor()->scratch(static_cast<uint64_t>(len)) : nullptr;
}

EMSCRIPTEN_KEEPALIVE int ws_commit(Session* s, int shard, double n) {
  ws::LoadExecutor* executor = s->executor();
  if (!executor) return fail({ws::ErrorKind::InvalidArgument, "nothing is being loaded"});
  ws::Status status = executor->commit(static_cast<size_t>(shard), static_cast<uint64_t>(n));
  return status ? 0 : fail(status.error());
}

EMSCRIPTEN_KEEPALIVE double ws_bytes_done(Session* s) {
  return s->executor() ? static_cast<double>(s->executor()->bytes_done()) : 0.0;
}

EMSCRIPTEN_KEEPALIVE int ws_finish_load(Session* s) {
  ws::Status status = s->finish_load();
  return status ? 0 : fail(status.error());
}

// Token ids of `len` bytes of text: the count (ids at ws_ids()), or -1.
EMSCRIPTEN_KEEPALIVE int ws_encode(Session* s, const char* text, size_t len, int add_special_tokens) {
  ws::Result<std::vector<int32_t>> ids = s->encode(text_of(text, len), add_special_tokens != 0);
  if (!ids) return fail(ids.error());
  g_ids = std::move(*ids);
  return static_cast<int>(g_ids.size());
}
EMSCRIPTEN_KEEPALIVE const int32_t* ws_ids() { return g_ids.data(); }

// Text of `n` ids into ws_text(); its byte length, or -1.
EMSCRIPTEN_KEEPALIVE int ws_decode(Session* s, const int32_t* ids, int n) {
  ws::Result<std::string> text = s->decode(std::vector<int32_t>(ids, ids + n));
  if (!text) return fail(text.error());
  g_text = std::move(*text);
  return static_cast<int>(g_text.size());
}

// `len` bytes of JSON messages (an array of {role, content, ...}) rendered by
// the model's chat template (chat_template.jinja / .json or
// tokenizer_config.json's, a GGUF's included) with the Jinja engine the CLI
// uses: JSON {"text", "end_of_turn", "end_of_turn_id" (-1: not one token),
// "origin"} in ws_text(), its byte length; -1 on error (Unsupported when the
// model has no template, Template for the template's own errors).
EMSCRIPTEN_KEEPALIVE int ws_render_chat(Session* s, const char* messages_json, size_t len, int add_generation_prompt) {
  ws::Result<nlohmann::ordered_json> messages = ws::parse_chat_messages(text_of(messages_json, len), "messages");
  if (!messages) return fail(messages.error());
  const ws::ChatTemplateSource source = ws::find_chat_template(
      s->file("chat_template.jinja"), s->file("chat_template.json"), s->file("tokenizer_config.json"));
  if (source.text.empty()) return fail({ws::ErrorKind::Unsupported, "the model has no chat template"});
  const std::string* config = s->file("tokenizer_config.json");
  ws::Result<ws::ChatTemplate> chat = ws::parse_chat_template(source.text, config ? *config : "");
  if (!chat) return fail({chat.error().kind, source.origin + ": " + chat.error().message});
  ws::Result<std::string> text = ws::render_chat(*chat, *messages, add_generation_prompt != 0);
  if (!text) return fail({text.error().kind, source.origin + ": " + text.error().message});
  const std::string marker = ws::end_of_turn_marker(*chat);
  int end_id = -1;
  if (!marker.empty() && s->has_tokenizer()) {
    ws::Result<std::vector<int32_t>> ids = s->encode(marker, false);
    if (ids && ids->size() == 1) end_id = (*ids)[0];
  }
  nlohmann::ordered_json out = {{"text", *text}, {"end_of_turn", marker}, {"end_of_turn_id", end_id}, {"origin", source.origin}};
  g_text = out.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  return static_cast<int>(g_text.size());
}

// Extra ids the next generations stop at (n = 0 clears them).
EMSCRIPTEN_KEEPALIVE int ws_set_stop_ids(Session* s, const int32_t* ids, int n) {
  if (n < 0) return fail({ws::ErrorKind::InvalidArgument, "negative count"});
  s->set_stop_ids(std::vector<int32_t>(ids, ids + n));
  return 0;
}

EMSCRIPTEN_KEEPALIVE int ws_generate_start(Session* s, const int32_t* ids, int n, int max_new_tokens,
                                           float temperature, int top_k, float top_p, float repetition_penalty,
                                           double seed) {
  if (n < 0 || max_new_tokens < 0 || top_k < 0 || !(seed >= 0)) {
    return fail({ws::ErrorKind::InvalidArgument, "negative count or seed"});
  }
  ws::SamplingOptions sampling{temperature, static_cast<size_t>(top_k), top_p, repetition_penalty,
                               static_cast<uint64_t>(seed)};
  ws::Status status = s->start_generation(std::vector<int32_t>(ids, ids + n), sampling,
                                          static_cast<size_t>(max_new_tokens));
  return status ? 0 : fail(status.error());
}

// The next token id (its text piece in ws_text()), -1 when generation is over
// (the held-back text in ws_text()), -2 on error.
EMSCRIPTEN_KEEPALIVE int ws_generate_step(Session* s) {
  ws::Result<std::optional<int32_t>> id = s->step();
  if (!id) {
    fail(id.error());
    return -2;
  }
  g_text = s->piece();
  return id->has_value() ? **id : -1;
}

// JSON in ws_text(): ids and timings of the current generation.
EMSCRIPTEN_KEEPALIVE int ws_generate_stats(Session* s) {
  const ws::GenerateResult& r = s->stats();
  g_text = nlohmann::json{{"ids", r.ids},
                          {"stopped_at_eos", r.stopped_at_eos},
                          {"prefill_tokens", r.prefill_tokens},
                          {"prefill_seconds", r.prefill_seconds},
                          {"decode_tokens", r.decode_tokens},
                          {"decode_seconds", r.decode_seconds}}
               .dump();
  return 0;
}

// Traps on purpose, so the tests can prove the JS side survives every kind
// of trap (web/js/core.js discards the instance): 0 unreachable, 1 a load
// past the end of memory, 2 a stack overflow (unbounded recursion). Returns
// 0 for any other `how`.
EMSCRIPTEN_KEEPALIVE int ws_test_trap(int how) {
  if (how == 0) __builtin_trap();
  if (how == 1) return *reinterpret_cast<volatile int*>(uintptr_t{0xFFFFFFF0u});
  if (how == 2) return recurse_forever(1);
  return 0;
}

}  // extern "C"
