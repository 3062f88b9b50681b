// The wasm module's C API, called from web/js/. Conventions:
//  - a session is an opaque int handle (ws::web::SessionTable); every call takes it first;
//  - a call that can fail returns -1 (or nullptr) and leaves {kind, message}
//    for ws_error_kind() / ws_error_message(), kind spelled as ws::ErrorKind;
//  - 64-bit sizes and offsets cross as doubles (exact below 2^53);
//  - text crosses as (pointer, byte length) pairs in the wasm heap;
//  - nothing JS passes is trusted (export_args.h): a session handle must be
//    live, a pointer and length must lie in the heap, a count or size must be
//    whole and in range; anything else is an InvalidArgument error, not a trap.
// Load protocol, exactly ws::LoadExecutor's: for each shard, ws_next_target
// says where the next bytes of the file go ({file offset, heap pointer,
// length}); JS copies fetched bytes there and calls ws_commit.
#include <emscripten/emscripten.h>

#include <cstring>
#include <memory>
#include <new>
#include <string>

#include <nlohmann/json.hpp>

#include "generate/chat.h"
#include "web/src/export_args.h"
#include "web/src/session.h"

using ws::web::Session;
using ws::web::check_heap_range;
using ws::web::check_int32s;
using ws::web::checked_c_string;
using ws::web::checked_size;

namespace {

ws::Error g_error{ws::ErrorKind::InvalidArgument, ""};
std::string g_text;          // the last text handed to JS (decode, info)
std::vector<int32_t> g_ids;  // the last ids handed to JS (encode)
double g_target[3];
ws::web::SessionTable g_sessions;

int fail(const ws::Error& error) {
  g_error = error;
  return -1;
}

// The session `handle` names, or nullptr with the error set.
Session* session_or_fail(int handle) {
  ws::Result<Session*> s = g_sessions.find(handle);
  if (!s) {
    fail(s.error());
    return nullptr;
  }
  return *s;
}

// `len` bytes at `data`, checked to lie in the heap first.
ws::Result<std::string> text_of(const char* data, size_t len, const char* what) {
  WS_TRY(check_heap_range(data, len, what));
  return len == 0 ? std::string() : std::string(data, len);
}

// The shard index JS passes, checked against the session's shards.
ws::Result<size_t> checked_shard(Session* s, int shard) {
  if (shard < 0 || static_cast<size_t>(shard) >= s->checkpoint().shards.size()) {
    return ws::make_error(ws::ErrorKind::InvalidArgument, "shard " + std::to_string(shard) + " out of range (" +
                                                              std::to_string(s->checkpoint().shards.size()) + " shards)");
  }
  return static_cast<size_t>(shard);
}

// The messages JSON at (messages_json, len) and the settings of the prepared
// session they are for.
struct ChatArguments {
  nlohmann::ordered_json messages;
  const ws::ModelSettings* settings;
};
ws::Result<ChatArguments> chat_arguments(const Session& s, const char* messages_json, size_t len) {
  WS_ASSIGN_OR_RETURN(std::string text, text_of(messages_json, len, "messages"));
  WS_ASSIGN_OR_RETURN(nlohmann::ordered_json messages, ws::parse_chat_messages(text, "messages"));
  if (!s.settings()) return ws::make_error(ws::ErrorKind::InvalidArgument, "the model is not prepared");
  return ChatArguments{std::move(messages), s.settings()};
}

// Recursion that only ends with the stack (for ws_test_trap): the volatile
// frame keeps the compiler from turning it into a loop.
int recurse_forever(int depth) {
  volatile char frame[256];
  frame[depth % 256] = static_cast<char>(depth);
  return recurse_forever(depth + 1) + frame[(depth * 7) % 256];
}

}  // namespace

extern "C" {

// 2: opening through the shared opener (ws_open*) replaced ws_set_file,
// ws_index_shards, ws_begin_shard, ws_prefix_buffer and ws_parse_prefix.
// 3: ws_prepare takes max_context.
EMSCRIPTEN_KEEPALIVE int ws_abi_version() { return 3; }
EMSCRIPTEN_KEEPALIVE int ws_max_threads() { return ws::web::kMaxThreads; }
EMSCRIPTEN_KEEPALIVE const char* ws_error_kind() { return ws::error_kind_name(g_error.kind); }
EMSCRIPTEN_KEEPALIVE const char* ws_error_message() { return g_error.message.c_str(); }
EMSCRIPTEN_KEEPALIVE const char* ws_text() { return g_text.data(); }
EMSCRIPTEN_KEEPALIVE int ws_text_len() { return static_cast<int>(g_text.size()); }

// A new session's handle (> 0), or 0 with an OutOfBudget error.
EMSCRIPTEN_KEEPALIVE int ws_session_create() {
  ws::Result<int> handle = g_sessions.create();
  if (!handle) {
    fail(handle.error());
    return 0;
  }
  return *handle;
}

// 0, or -1 for a handle that is not live (destroying twice is an error, not a double free).
EMSCRIPTEN_KEEPALIVE int ws_session_destroy(int handle) {
  ws::Status destroyed = g_sessions.destroy(handle);
  return destroyed ? 0 : fail(destroyed.error());
}

// Opening protocol, the shared ModelOpener's (src/open/open.h): ws_open, then
// while ws_open_wanted() > 0, answer each request it lists (JSON array of
// {file, begin, end, optional, whole} in ws_text()) with ws_open_answer (the
// bytes [begin, min(end, file size)) of the file) or ws_open_absent (no such
// file); then ws_prepare. `location` (the URL or path) is what messages name;
// `weights_file` the .gguf / .safetensors file it names, or "" for a directory.
EMSCRIPTEN_KEEPALIVE int ws_open(int handle, const char* location, const char* weights_file) {
  Session* s = session_or_fail(handle);
  if (!s) return -1;
  ws::Result<std::string> where = checked_c_string(location, "model location");
  if (!where) return fail(where.error());
  ws::Result<std::string> file = checked_c_string(weights_file, "weights file name");
  if (!file) return fail(file.error());
  ws::Status status = s->open(*where, *file);
  return status ? 0 : fail(status.error());
}

// How many requests are outstanding (listed in ws_text()); -1 on error.
EMSCRIPTEN_KEEPALIVE int ws_open_wanted(int handle) {
  Session* s = session_or_fail(handle);
  if (!s) return -1;
  nlohmann::json list = nlohmann::json::array();
  for (const ws::ByteRequest& r : s->open_wanted()) {
    list.push_back({{"file", r.file}, {"begin", r.begin}, {"end", r.end}, {"optional", r.optional}, {"whole", r.whole}});
  }
  g_text = list.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return static_cast<int>(list.size());
}

// `len` bytes at `data`: the answer to the request for `file`, a file of
// `file_bytes` bytes at `where` (its URL or path, for messages).
EMSCRIPTEN_KEEPALIVE int ws_open_answer(int handle, const char* file, const char* where, const uint8_t* data, double len,
                                        double file_bytes) {
  Session* s = session_or_fail(handle);
  if (!s) return -1;
  ws::Result<std::string> name = checked_c_string(file, "file name");
  if (!name) return fail(name.error());
  ws::Result<std::string> shown = checked_c_string(where, "file location");
  if (!shown) return fail(shown.error());
  ws::Result<uint64_t> size = checked_size(len, "answer length");
  if (!size) return fail(size.error());
  ws::Result<uint64_t> total = checked_size(file_bytes, "file size");
  if (!total) return fail(total.error());
  if (ws::Status in_heap = check_heap_range(data, *size, "answer bytes"); !in_heap) return fail(in_heap.error());
  ws::Status status = s->open_answer(*name, data, *size, *total, *shown);
  return status ? 0 : fail(status.error());
}

// `file` does not exist; `why` (the transport's words) names it.
EMSCRIPTEN_KEEPALIVE int ws_open_absent(int handle, const char* file, const char* why) {
  Session* s = session_or_fail(handle);
  if (!s) return -1;
  ws::Result<std::string> name = checked_c_string(file, "file name");
  if (!name) return fail(name.error());
  ws::Result<std::string> reason = checked_c_string(why, "reason");
  if (!reason) return fail(reason.error());
  ws::Status status = s->open_absent(*name, *reason);
  return status ? 0 : fail(status.error());
}

// 1 and the text in ws_text() when the opened model has the side file `name`
// (read, or made from a GGUF header), 0 when not, -1 on error.
EMSCRIPTEN_KEEPALIVE int ws_get_file(int handle, const char* name) {
  Session* s = session_or_fail(handle);
  if (!s) return -1;
  ws::Result<std::string> file_name = checked_c_string(name, "file name");
  if (!file_name) return fail(file_name.error());
  const std::string* text = s->file(*file_name);
  if (!text) return 0;
  g_text = *text;
  return 1;
}

// `threads`: what the backend may use, clamped to ws_max_threads().
// `max_context`: native's --max-context (0: the model's maximum; at most 2^24).
EMSCRIPTEN_KEEPALIVE int ws_prepare(int handle, const char* dtype, int threads, double max_context) {
  Session* s = session_or_fail(handle);
  if (!s) return -1;
  ws::Result<std::string> dtype_name = checked_c_string(dtype, "dtype");
  if (!dtype_name) return fail(dtype_name.error());
  ws::Result<uint64_t> context = checked_size(max_context, "max context");
  if (!context) return fail(context.error());
  if (*context > (1u << 24)) {
    return fail({ws::ErrorKind::InvalidArgument, "max context must be a whole number between 0 and 16777216"});
  }
  ws::Status status = s->prepare(*dtype_name, threads, static_cast<size_t>(*context));
  return status ? 0 : fail(status.error());
}

// JSON in ws_text(): the model and its load plan.
EMSCRIPTEN_KEEPALIVE int ws_info(int handle) {
  Session* s = session_or_fail(handle);
  if (!s) return -1;
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
// complete; -1: an error, for a bad handle or shard or nothing being loaded)}
// of the shard's next region, at the returned address.
EMSCRIPTEN_KEEPALIVE double* ws_next_target(int handle, int shard) {
  g_target[0] = g_target[1] = 0;
  g_target[2] = -1;
  Session* s = session_or_fail(handle);
  if (!s) return g_target;
  ws::LoadExecutor* executor = s->executor();
  if (!executor) {
    fail({ws::ErrorKind::InvalidArgument, "nothing is being loaded"});
    return g_target;
  }
  ws::Result<size_t> index = checked_shard(s, shard);
  if (!index) {
    fail(index.error());
    return g_target;
  }
  const ws::FillTarget t = executor->next(*index);
  g_target[0] = static_cast<double>(t.file_offset);
  g_target[1] = static_cast<double>(reinterpret_cast<uintptr_t>(t.dst));
  g_target[2] = static_cast<double>(t.len);
  return g_target;
}

// Somewhere to read `len` skipped bytes into (at most 1 MiB of them at a
// time); nullptr and an error for a bad handle or length, or no load.
EMSCRIPTEN_KEEPALIVE uint8_t* ws_scratch(int handle, double len) {
  Session* s = session_or_fail(handle);
  if (!s) return nullptr;
  ws::Result<uint64_t> bytes = checked_size(len, "scratch length");
  if (!bytes) {
    fail(bytes.error());
    return nullptr;
  }
  if (!s->executor()) {
    fail({ws::ErrorKind::InvalidArgument, "nothing is being loaded"});
    return nullptr;
  }
  return s->executor()->scratch(*bytes);
}

EMSCRIPTEN_KEEPALIVE int ws_commit(int handle, int shard, double n) {
  Session* s = session_or_fail(handle);
  if (!s) return -1;
  ws::LoadExecutor* executor = s->executor();
  if (!executor) return fail({ws::ErrorKind::InvalidArgument, "nothing is being loaded"});
  ws::Result<size_t> index = checked_shard(s, shard);
  if (!index) return fail(index.error());
  ws::Result<uint64_t> bytes = checked_size(n, "committed byte count");
  if (!bytes) return fail(bytes.error());
  ws::Status status = executor->commit(*index, *bytes);
  return status ? 0 : fail(status.error());
}

// Bytes committed so far; 0 when nothing is being loaded, -1 for a bad handle.
EMSCRIPTEN_KEEPALIVE double ws_bytes_done(int handle) {
  Session* s = session_or_fail(handle);
  if (!s) return -1;
  return s->executor() ? static_cast<double>(s->executor()->bytes_done()) : 0.0;
}

EMSCRIPTEN_KEEPALIVE int ws_finish_load(int handle) {
  Session* s = session_or_fail(handle);
  if (!s) return -1;
  ws::Status status = s->finish_load();
  return status ? 0 : fail(status.error());
}

// Token ids of `len` bytes of text: the count (ids at ws_ids()), or -1.
EMSCRIPTEN_KEEPALIVE int ws_encode(int handle, const char* text, size_t len, int add_special_tokens) {
  Session* s = session_or_fail(handle);
  if (!s) return -1;
  ws::Result<std::string> input = text_of(text, len, "text to encode");
  if (!input) return fail(input.error());
  ws::Result<std::vector<int32_t>> ids = s->encode(*input, add_special_tokens != 0);
  if (!ids) return fail(ids.error());
  g_ids = std::move(*ids);
  return static_cast<int>(g_ids.size());
}
EMSCRIPTEN_KEEPALIVE const int32_t* ws_ids() { return g_ids.data(); }

// Text of `n` ids into ws_text(); its byte length, or -1.
EMSCRIPTEN_KEEPALIVE int ws_decode(int handle, const int32_t* ids, int n) {
  Session* s = session_or_fail(handle);
  if (!s) return -1;
  if (ws::Status in_heap = check_int32s(ids, n, "ids to decode"); !in_heap) return fail(in_heap.error());
  ws::Result<std::string> text = s->decode(n == 0 ? std::vector<int32_t>() : std::vector<int32_t>(ids, ids + n));
  if (!text) return fail(text.error());
  g_text = std::move(*text);
  return static_cast<int>(g_text.size());
}

// `len` bytes of JSON messages (an array of {role, content, ...}) rendered by
// the model's chat template (chat_template.jinja / .json or
// tokenizer_config.json's, a GGUF's included) with the Jinja engine the CLI
// uses: JSON {"text", "end_of_turn", "end_of_turn_id" (-1: not one token),
// "origin"} in ws_text(), its byte length; -1 on error (render_model_chat's:
// Unsupported when the model has no template, Template for its own errors).
EMSCRIPTEN_KEEPALIVE int ws_render_chat(int handle, const char* messages_json, size_t len, int add_generation_prompt) {
  Session* s = session_or_fail(handle);
  if (!s) return -1;
  ws::Result<ChatArguments> args = chat_arguments(*s, messages_json, len);
  if (!args) return fail(args.error());
  ws::Result<ws::RenderedChat> chat = ws::render_model_chat(*args->settings, args->messages, add_generation_prompt != 0);
  if (!chat) return fail(chat.error());
  nlohmann::ordered_json out = {{"text", chat->text}, {"end_of_turn", chat->end_of_turn},
                                {"end_of_turn_id", chat->end_of_turn_id.value_or(-1)},
                                {"origin", args->settings->chat_template_origin}};
  g_text = out.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  return static_cast<int>(g_text.size());
}

// `len` bytes of JSON messages as the model is given them (encode_model_chat:
// rendered with the generation prompt, encoded without added special tokens):
// JSON {"ids", "stop_ids" (the end-of-turn id, when it is one token)} in
// ws_text(), its byte length; -1 on error (encode_model_chat's).
EMSCRIPTEN_KEEPALIVE int ws_chat_prompt(int handle, const char* messages_json, size_t len) {
  Session* s = session_or_fail(handle);
  if (!s) return -1;
  ws::Result<ChatArguments> args = chat_arguments(*s, messages_json, len);
  if (!args) return fail(args.error());
  ws::Result<ws::ChatPrompt> prompt = ws::encode_model_chat(*args->settings, args->messages);
  if (!prompt) return fail(prompt.error());
  g_text = nlohmann::json{{"ids", prompt->ids}, {"stop_ids", prompt->stop_ids}}.dump();
  return static_cast<int>(g_text.size());
}

// Extra ids the next generations stop at (n = 0 clears them).
EMSCRIPTEN_KEEPALIVE int ws_set_stop_ids(int handle, const int32_t* ids, int n) {
  Session* s = session_or_fail(handle);
  if (!s) return -1;
  if (n < 0) return fail({ws::ErrorKind::InvalidArgument, "negative count"});
  if (ws::Status in_heap = check_int32s(ids, n, "stop ids"); !in_heap) return fail(in_heap.error());
  s->set_stop_ids(n == 0 ? std::vector<int32_t>() : std::vector<int32_t>(ids, ids + n));
  return 0;
}

EMSCRIPTEN_KEEPALIVE int ws_generate_start(int handle, const int32_t* ids, int n, int max_new_tokens,
                                           float temperature, int top_k, float top_p, float repetition_penalty,
                                           double seed) {
  Session* s = session_or_fail(handle);
  if (!s) return -1;
  if (n < 0 || max_new_tokens < 0 || top_k < 0) return fail({ws::ErrorKind::InvalidArgument, "negative count"});
  if (ws::Status in_heap = check_int32s(ids, n, "prompt ids"); !in_heap) return fail(in_heap.error());
  ws::Result<uint64_t> checked_seed = checked_size(seed, "seed");
  if (!checked_seed) return fail(checked_seed.error());
  ws::SamplingOptions sampling{temperature, static_cast<size_t>(top_k), top_p, repetition_penalty, *checked_seed};
  ws::Status status = s->start_generation(n == 0 ? std::vector<int32_t>() : std::vector<int32_t>(ids, ids + n), sampling,
                                          static_cast<size_t>(max_new_tokens));
  return status ? 0 : fail(status.error());
}

// The next token id (its text piece in ws_text()), -1 when generation is over
// (the held-back text in ws_text()), -2 on error.
EMSCRIPTEN_KEEPALIVE int ws_generate_step(int handle) {
  Session* s = session_or_fail(handle);
  if (!s) return -2;
  ws::Result<std::optional<int32_t>> id = s->step();
  if (!id) {
    fail(id.error());
    return -2;
  }
  g_text = s->piece();
  return id->has_value() ? **id : -1;
}

// JSON in ws_text(): ids and timings of the current generation.
EMSCRIPTEN_KEEPALIVE int ws_generate_stats(int handle) {
  Session* s = session_or_fail(handle);
  if (!s) return -1;
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
