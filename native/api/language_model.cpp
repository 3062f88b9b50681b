// ws::LanguageModel (include/weightstream/weightstream.h): the library's
// facade over the same open / load / prompt / generate steps the CLI's
// generate command takes (native/api/*.h).
#include <algorithm>
#include <chrono>
#include <optional>

#include "api/load_model.h"
#include "api/model_files.h"
#include "api/prompt.h"
#include "api/stream_text.h"
#include "core/guard.h"
#include "generate/chat.h"
#include "weightstream/weightstream.h"

namespace ws {

// Members are destroyed bottom up: the model before the backend it computes on.
struct LanguageModel::State {
  std::unique_ptr<Collective> group;  // tensor parallelism: outlives the model
  ModelFiles files;
  std::unique_ptr<Backend> backend;
  std::unique_ptr<Model> model;
  LoadStats stats;
  std::vector<Error> warnings;
};

LanguageModel::LanguageModel(std::unique_ptr<State> state) : state_(std::move(state)) {}
LanguageModel::LanguageModel(LanguageModel&& other) noexcept = default;
LanguageModel& LanguageModel::operator=(LanguageModel&& other) noexcept = default;
LanguageModel::~LanguageModel() = default;

std::vector<std::string> available_backends() { return backend_names(); }

// The public entry points run their bodies through call_guarded: no exception
// leaves the library (a bad_alloc, a thread that cannot start, a throwing
// user callback), each becomes an Error.
Result<LanguageModel> LanguageModel::load(const std::string& location, const ModelOptions& options) {
  return call_guarded("load", [&]() -> Result<LanguageModel> {
    // The caller's options first: a mistake should not cost a download.
    const WeightDType dtype = options.dtype;
    if (options.threads < 0) {
      return make_error(ErrorKind::InvalidArgument, "threads must be 0 (one per hardware thread) or more");
    }
    BackendChoice choice;
    choice.kind = options.backend;
    choice.device = options.device;
    choice.options.threads = options.threads;

    auto state = std::make_unique<State>();
    WS_ASSIGN_OR_RETURN(state->backend, make_backend(choice));
    const auto start = std::chrono::steady_clock::now();
    HttpTransportOptions http;
    http.headers = options.http.headers;
    http.bearer_token = options.http.bearer_token;
    http.ca_bundle = options.http.ca_bundle;
    http.load_deadline_s = options.http.deadline_s;
    WS_ASSIGN_OR_RETURN(state->files, open_model_files(location, http));
    if (state->files.special_tokens_warning) state->warnings.push_back(*state->files.special_tokens_warning);

    ProgressCallback progress;
    if (options.on_progress) {
      progress = [&options](const LoadProgress& p) { options.on_progress(p.bytes_done, p.bytes_total); };
    }
    LoadOptions load_options;
    if (options.tensor_parallel.world_size > 1) {
      ProcessGroupOptions group;
      group.rank = options.tensor_parallel.rank;
      group.world_size = options.tensor_parallel.world_size;
      group.master_addr = options.tensor_parallel.master_addr;
      group.master_port = options.tensor_parallel.master_port;
      group.timeout = std::chrono::seconds(std::max(1L, options.tensor_parallel.timeout_s));
      if (group.rank >= group.world_size) {
        return make_error(ErrorKind::InvalidArgument, "tensor_parallel.rank " + std::to_string(group.rank) +
                                                          " is outside world_size " + std::to_string(group.world_size));
      }
      WS_ASSIGN_OR_RETURN(state->group, join_process_group(group));
      load_options.group = state->group.get();
    }
    if (options.max_memory) load_options.max_memory = options.max_memory;
    load_options.context = options.context;
    load_options.map_weights = options.map_weights;
    WS_ASSIGN_OR_RETURN(BoundModel loaded, load_model(*state->files.source, state->files.config, *state->backend,
                                                      dtype, progress, load_options));
    state->model = std::move(loaded.model);
    state->stats.bound_bytes = loaded.bound_bytes;
    state->stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return LanguageModel(std::move(state));
  });
}

const LoadStats& LanguageModel::load_stats() const { return state_->stats; }
std::string LanguageModel::model_type() const { return state_->files.config.model_type; }
std::string LanguageModel::backend_description() const { return state_->backend->describe(); }
bool LanguageModel::has_tokenizer() const { return state_->files.tokenizer.has_value(); }
const std::vector<Error>& LanguageModel::warnings() const { return state_->warnings; }

bool LanguageModel::has_chat_template() const {
  Result<bool> has = call_guarded("chat template", [&]() -> Result<bool> {
    const std::string& jinja = state_->files.chat_template;
    return has_tokenizer() && !jinja.empty() && parse_chat_template(jinja).is_ok();
  });
  return has.is_ok() && *has;
}

Result<std::vector<int32_t>> LanguageModel::tokenize(const std::string& text, bool add_special_tokens) const {
  return call_guarded("tokenize", [&]() -> Result<std::vector<int32_t>> {
    WS_ASSIGN_OR_RETURN(const Tokenizer* tokenizer, usable_tokenizer(state_->files));
    return tokenizer->encode(text, add_special_tokens);
  });
}

Result<std::string> LanguageModel::detokenize(const std::vector<int32_t>& ids) const {
  return call_guarded("detokenize", [&]() -> Result<std::string> {
    WS_ASSIGN_OR_RETURN(const Tokenizer* tokenizer, usable_tokenizer(state_->files));
    return tokenizer->decode(ids);
  });
}

Result<Generation> LanguageModel::generate(const std::string& prompt, const GenerationOptions& options,
                                           const TextCallback& on_text) {
  return call_guarded("generate", [&]() -> Result<Generation> {
    if (!options.system.empty() && !options.chat) {
      return make_error(ErrorKind::InvalidArgument, "a system message needs chat = true");
    }
    std::optional<std::string> system;
    if (!options.system.empty()) system = options.system;
    WS_ASSIGN_OR_RETURN(Prompt encoded,
                        encode_prompt(state_->files, prompt, options.chat ? ChatMode::On : ChatMode::Off, system));
    return run(std::move(encoded.ids), encoded.stop_ids, options, on_text);
  });
}

namespace {

nlohmann::ordered_json messages_json(const std::vector<ChatMessage>& messages) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const ChatMessage& m : messages) list.push_back({{"role", m.role}, {"content", m.content}});
  return list;
}

}  // namespace

Result<std::string> LanguageModel::apply_chat_template(const std::vector<ChatMessage>& messages,
                                                       bool add_generation_prompt) const {
  return call_guarded("apply_chat_template", [&]() -> Result<std::string> {
    WS_ASSIGN_OR_RETURN(RenderedChat rendered, render_model_chat(state_->files, messages_json(messages), add_generation_prompt));
    return std::move(rendered.text);
  });
}

Result<Generation> LanguageModel::chat(const std::vector<ChatMessage>& messages, const GenerationOptions& options,
                                       const TextCallback& on_text) {
  return call_guarded("chat", [&]() -> Result<Generation> {
    WS_ASSIGN_OR_RETURN(Prompt encoded, encode_chat(state_->files, messages_json(messages)));
    return run(std::move(encoded.ids), encoded.stop_ids, options, on_text);
  });
}

Result<Generation> LanguageModel::generate_from_ids(const std::vector<int32_t>& prompt_ids,
                                                    const GenerationOptions& options, const TextCallback& on_text) {
  if (options.chat) return make_error(ErrorKind::InvalidArgument, "chat needs a text prompt, not token ids");
  return call_guarded("generate", [&] { return run(prompt_ids, {}, options, on_text); });
}

Result<Generation> LanguageModel::run(std::vector<int32_t> prompt_ids, const std::vector<int32_t>& stop_ids,
                                      const GenerationOptions& options, const TextCallback& on_text) {
  GenerateOptions generate_options;
  generate_options.sampling = {options.temperature, options.top_k, options.top_p, options.repetition_penalty,
                               options.seed};
  generate_options.max_new_tokens = options.max_new_tokens;
  generate_options.max_context = options.max_context;
  generate_options.eos_token_ids = stop_ids;
  add_unique_ids(generate_options.eos_token_ids, state_->files.eos_token_ids);

  const Tokenizer* tokenizer = state_->files.tokenizer ? &*state_->files.tokenizer : nullptr;
  WS_ASSIGN_OR_RETURN(TextGeneration out,
                      generate_text(*state_->model, tokenizer, prompt_ids, generate_options, on_text));
  Generation generation;
  generation.prompt_ids = std::move(prompt_ids);
  generation.ids = std::move(out.result.ids);
  generation.text = std::move(out.text);
  generation.stopped_at_eos = out.result.stopped_at_eos;
  auto per_second = [](size_t tokens, double seconds) { return seconds > 0 ? tokens / seconds : 0.0; };
  generation.prefill_tokens_per_second = per_second(out.result.prefill_tokens, out.result.prefill_seconds);
  generation.decode_tokens_per_second = per_second(out.result.decode_tokens, out.result.decode_seconds);
  return generation;
}

}  // namespace ws
