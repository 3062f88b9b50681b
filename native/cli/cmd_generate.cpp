// weightstream generate [<model>] [--prompt TEXT [--chat] [--system TEXT] | --prompt-ids 1,2,3] [--max-new-tokens N]
//     [--temperature T] [--top-k K] [--top-p P] [--repetition-penalty R] [--seed S]
//     [--dtype keep|f32|f16|bf16] [--threads N] [--max-context N] [--huge-pages] [--json]
//     [--backend portable|torch] [--device cpu]   (the last two in WS_TORCH builds)
//
// Loads the model straight into its parameter buffers (one pass over the
// shards), then streams the continuation to stdout as it is generated.
// Temperature 0 (the default) is greedy decoding.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend/backend.h"
#include "cli/args.h"
#include "cli/progress.h"
#include "generate/generate.h"
#include "model/model.h"
#include "source/memory_stats.h"
#include "source/model_source.h"

#include "generate/chat.h"
#include "tokenizer/tokenizer.h"
#if defined(WS_TORCH)
#include "torch/ws_torch.h"
#endif

namespace ws::cli {

namespace {

using json = nlohmann::json;

const char* kGenerateUsage =
    "usage: weightstream generate [<model>] [--prompt TEXT [--chat] [--system TEXT] | --prompt-ids 1,2,3]\n"
    "         [--max-new-tokens N]\n"
    "         [--temperature T] [--top-k K] [--top-p P] [--repetition-penalty R] [--seed S]\n"
    "         [--dtype keep|f32|f16|bf16] [--threads N] [--max-context N] [--huge-pages] [--json]\n"
    "  no <model>: the built-in default (SmolLM2-135M-Instruct); no prompt: a default question as a chat;\n"
    "  --chat wraps the prompt in the model's chat template (ChatML, Llama 2) and stops at its end of turn;\n"
    "  temperature 0 (default) = greedy; --json prints one object with ids, text, load and speed figures;\n"
    "  --huge-pages asks for 2 MiB pages for the weights (slower load, faster decode)\n"
#if defined(WS_TORCH)
    "  --backend torch [--device cpu] runs the same model code on LibTorch (ATen) ops\n"
#endif
    ;

Result<std::vector<int32_t>> parse_ids(const std::string& text) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = text.find(',', i);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(i, end - i);
    if (item.empty() || item.size() > 10 || item.find_first_not_of("0123456789") != std::string::npos ||
        std::stoll(item) > 0x7fffffff) {
      return make_error(ErrorKind::InvalidArgument, "--prompt-ids: \"" + item + "\" is not a token id");
    }
    ids.push_back(static_cast<int32_t>(std::stoll(item)));
    i = end + 1;
  }
  if (ids.empty()) return make_error(ErrorKind::InvalidArgument, "--prompt-ids is empty");
  return ids;
}

Result<size_t> get_count(const Args& args, const std::string& name, double fallback, double max) {
  WS_ASSIGN_OR_RETURN(const double value, args.get_number(name, fallback));
  if (value < 0 || value > max || value != static_cast<double>(static_cast<size_t>(value))) {
    return make_error(ErrorKind::InvalidArgument, "--" + name + " must be a whole number between 0 and " +
                                                      std::to_string(static_cast<size_t>(max)));
  }
  return static_cast<size_t>(value);
}

// EOS ids from config.json, generation_config.json and the tokenizer, merged.
void add_eos(std::vector<int32_t>& eos, const std::vector<int32_t>& more) {
  for (int32_t id : more) {
    if (std::find(eos.begin(), eos.end(), id) == eos.end()) eos.push_back(id);
  }
}

std::vector<int32_t> generation_config_eos(ModelSource& source) {
  Result<bool> has = source.has_file("generation_config.json");
  if (!has.is_ok() || !*has) return {};
  Result<std::string> text = source.read_text("generation_config.json");
  if (!text.is_ok()) return {};
  const json j = json::parse(*text, nullptr, false);
  std::vector<int32_t> ids;
  if (j.is_discarded() || !j.is_object()) return ids;
  auto it = j.find("eos_token_id");
  if (it == j.end()) return ids;
  const json list = it->is_array() ? *it : json::array({*it});
  for (const json& v : list) {
    if (v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() <= 0x7fffffff) {
      ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
    }
  }
  return ids;
}

const char* kDefaultPrompt = "What is the capital of France?";
const char* kDefaultModelFile = "SmolLM2-135M-Instruct.Q4_1.gguf";

// The built-in default model: $WEIGHTSTREAM_MODEL, else the SmolLM2 GGUF that
// .ci/setup.d/30-smollm2.sh puts in build/models/, found next to this binary
// (build/<preset>/weightstream -> build/models/).
Result<std::string> default_model_location() {
  if (const char* env = std::getenv("WEIGHTSTREAM_MODEL"); env && *env) return std::string(env);
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  std::string dir = n > 0 ? std::string(exe, static_cast<size_t>(n)) : std::string();
  dir = dir.substr(0, dir.rfind('/'));
  for (const std::string& candidate : {dir + "/../models/" + kDefaultModelFile, dir + "/models/" + kDefaultModelFile}) {
    if (::access(candidate.c_str(), R_OK) == 0) return candidate;
  }
  return make_error(ErrorKind::NotFound, std::string("no model given and the default (") + kDefaultModelFile +
                                             ") is not installed: run bash .ci/setup.d/30-smollm2.sh, or set "
                                             "WEIGHTSTREAM_MODEL");
}

// tokenizer_config.json's "chat_template": a string, or a list of
// {"name", "template"} of which "default" is used.
std::string chat_template_text(const std::string& tokenizer_config) {
  const json config = json::parse(tokenizer_config, nullptr, false);
  if (!config.is_object()) return "";
  auto it = config.find("chat_template");
  if (it == config.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_array()) {
    for (const json& entry : *it) {
      if (entry.is_object() && entry.value("name", "") == "default" && entry.contains("template") &&
          entry["template"].is_string()) {
        return entry["template"].get<std::string>();
      }
    }
  }
  return "";
}

Result<std::string> render_chat_prompt(const std::string& tokenizer_config, const std::optional<std::string>& system,
                                       const std::string& user) {
  const std::string jinja = chat_template_text(tokenizer_config);
  if (jinja.empty()) {
    return make_error(ErrorKind::Unsupported, "--chat: the model has no chat_template in tokenizer_config.json");
  }
  WS_ASSIGN_OR_RETURN(ChatTemplate chat, parse_chat_template(jinja));
  std::vector<ChatMessage> messages;
  if (system) messages.push_back({"system", *system});
  messages.push_back({"user", user});
  return render_chat(chat, messages, /*add_generation_prompt=*/true);
}

double per_second(size_t tokens, double seconds) { return seconds > 0 ? tokens / seconds : 0.0; }

}  // namespace

int run_generate(int argc, char** argv) {
  Result<Args> args = parse_args(argc, argv, 1,
                                 {"prompt", "prompt-ids", "max-new-tokens", "temperature", "top-k", "top-p",
                                  "repetition-penalty", "seed", "dtype", "threads", "max-context", "system",
#if defined(WS_TORCH)
                                  "backend", "device"
#endif
                                 },
                                 {"json", "huge-pages", "chat"});
  if (!args) return report_error(args.error());
  const bool has_prompt = args->get("prompt").has_value(), has_ids = args->get("prompt-ids").has_value();
  if (args->positional.size() > 1 || (has_prompt && has_ids) || (has_ids && (args->has("chat") || args->get("system")))) {
    std::fputs(kGenerateUsage, stderr);
    std::fputs("give at most one model, and at most one of --prompt and --prompt-ids (--chat and --system need text)\n",
               stderr);
    return kExitUsage;
  }
  const bool as_json = args->has("json");
  // No model: the built-in default. No prompt: a default question, asked as a
  // chat when the model has a chat template.
  std::string location;
  if (!args->positional.empty()) {
    location = args->positional[0];
  } else {
    Result<std::string> fallback = default_model_location();
    if (!fallback) return report_error(fallback.error());
    location = *fallback;
  }
  const bool default_prompt = !has_prompt && !has_ids;
  const std::string user_text = has_prompt ? *args->get("prompt") : kDefaultPrompt;

  // ---- options ----
  GenerateOptions options;
  Result<size_t> max_new = get_count(*args, "max-new-tokens", 32, 1 << 20);
  if (!max_new) return report_error(max_new.error());
  options.max_new_tokens = *max_new;
  Result<size_t> max_context = get_count(*args, "max-context", 0, 1 << 24);
  if (!max_context) return report_error(max_context.error());
  options.max_context = *max_context;
  Result<double> temperature = args->get_number("temperature", 0.0);
  Result<size_t> top_k = get_count(*args, "top-k", 0, 1 << 24);
  Result<double> top_p = args->get_number("top-p", 1.0);
  Result<double> penalty = args->get_number("repetition-penalty", 1.0);
  Result<size_t> seed = get_count(*args, "seed", 0, 9007199254740991.0);
  Result<size_t> threads = get_count(*args, "threads", 0, 1024);
  for (const Status& s : {temperature.status(), top_k.status(), top_p.status(), penalty.status(), seed.status(),
                          threads.status()}) {
    if (!s.is_ok()) return report_error(s.error());
  }
  options.sampling = {static_cast<float>(*temperature), *top_k, static_cast<float>(*top_p),
                      static_cast<float>(*penalty), static_cast<uint64_t>(*seed)};
  if (Result<Sampler> check = Sampler::create(options.sampling); !check) return report_error(check.error());
  Result<WeightDType> dtype = parse_weight_dtype(args->get("dtype").value_or("keep"));
  if (!dtype) return report_error(dtype.error());

  // ---- open, configure, load ----
  const auto load_start = std::chrono::steady_clock::now();
  reset_peak_rss();
  Result<std::unique_ptr<ModelSource>> source = ModelSource::open(location);
  if (!source) return report_error(source.error());
  Result<std::string> config_text = (*source)->read_text("config.json");
  if (!config_text) return report_error(config_text.error());
  Result<ModelConfig> config = parse_model_config(*config_text);
  if (!config) return report_error(config.error());

  // The tokenizer is needed for --prompt and for text output; with
  // --prompt-ids a tokenizer.json we cannot read only costs the text.
  std::optional<Tokenizer> tokenizer;
  std::optional<Error> tokenizer_error;
  if (Result<bool> has = (*source)->has_file("tokenizer.json"); has.is_ok() && *has) {
    Result<std::string> text = (*source)->read_text("tokenizer.json");
    Result<Tokenizer> parsed = text.is_ok() ? Tokenizer::from_json(*text) : Result<Tokenizer>(text.error());
    if (parsed.is_ok()) {
      tokenizer = std::move(*parsed);
    } else {
      tokenizer_error = parsed.error();
    }
  }
  std::string tokenizer_config;
  if (tokenizer) {
    if (Result<bool> has_tc = (*source)->has_file("tokenizer_config.json"); has_tc.is_ok() && *has_tc) {
      Result<std::string> tc = (*source)->read_text("tokenizer_config.json");
      if (tc.is_ok()) tokenizer_config = *tc;
    }
    // BOS/EOS naming problems (an id past the vocabulary, a token it lacks)
    // should not stop generation: warn, and go on with what the tokenizer knows.
    Status special = apply_special_tokens_config(*tokenizer, tokenizer_config, *config_text);
    if (!special) std::fprintf(stderr, "weightstream: warning: %s\n", special.error().to_string().c_str());
  }

  // Chat: the prompt is the user's message inside the model's chat template,
  // and generation also stops at the template's end-of-turn token.
  std::string prompt_text = user_text;
  bool chat = args->has("chat");
  if (tokenizer && (chat || default_prompt)) {
    Result<std::string> rendered = render_chat_prompt(tokenizer_config, args->get("system"), user_text);
    if (rendered.is_ok()) {
      prompt_text = *rendered;
      chat = true;
      Result<ChatTemplate> parsed = parse_chat_template(chat_template_text(tokenizer_config));
      if (parsed.is_ok()) {
        if (auto end = tokenizer->token_id(parsed->end_of_turn)) add_eos(options.eos_token_ids, {*end});
      }
    } else if (chat) {
      return report_error(rendered.error());
    }
  }

  std::vector<int32_t> prompt;
  if (auto ids = args->get("prompt-ids")) {
    Result<std::vector<int32_t>> parsed = parse_ids(*ids);
    if (!parsed) return report_error(parsed.error());
    prompt = std::move(*parsed);
    if (tokenizer_error) {
      std::fprintf(stderr, "weightstream: warning: printing token ids, the tokenizer is unusable: %s\n",
                   tokenizer_error->to_string().c_str());
    }
  } else {
    if (tokenizer_error) return report_error(*tokenizer_error);
    if (!tokenizer) {
      return report_error(make_error(ErrorKind::NotFound, (*source)->location() +
                                                              ": no tokenizer.json, so --prompt cannot be "
                                                              "tokenized; use --prompt-ids"));
    }
    prompt = tokenizer->encode(prompt_text, /*add_special_tokens=*/!chat);
    if (prompt.empty()) return report_error(make_error(ErrorKind::InvalidArgument, "--prompt encodes to no tokens"));
  }

  add_eos(options.eos_token_ids, config->eos_token_ids);
  add_eos(options.eos_token_ids, generation_config_eos(**source));
  if (tokenizer && tokenizer->eos_id()) add_eos(options.eos_token_ids, {*tokenizer->eos_id()});

  BackendOptions backend_options;
  backend_options.threads = static_cast<int>(*threads);
  backend_options.huge_page_weights = args->has("huge-pages");
#if defined(WS_TORCH)
  const std::string backend_name = args->get("backend").value_or("portable");
  if (backend_name != "portable" && backend_name != "torch") {
    return report_error(make_error(ErrorKind::InvalidArgument, "--backend must be portable or torch, got \"" + backend_name + "\""));
  }
  if (args->get("device") && backend_name != "torch") {
    return report_error(make_error(ErrorKind::InvalidArgument, "--device needs --backend torch"));
  }
  Result<TorchDevice> device = parse_torch_device(args->get("device").value_or("cpu"));
  if (!device) return report_error(device.error());
  Result<std::unique_ptr<Backend>> backend = backend_name == "torch" ? make_torch_backend(*device, backend_options)
                                                                     : make_portable_backend(backend_options);
#else
  Result<std::unique_ptr<Backend>> backend = make_portable_backend(backend_options);
#endif
  if (!backend) return report_error(backend.error());
  const Checkpoint& checkpoint = (*source)->checkpoint();
  Result<std::unique_ptr<Model>> model = build_model(*config, **backend, *dtype, &checkpoint);
  if (!model) return report_error(model.error());
  Result<LoadPlan> plan = plan_model_load(**model, checkpoint);
  if (!plan) return report_error(plan.error());
  Result<std::unique_ptr<LoadExecutor>> executor = LoadExecutor::create(*plan, (*model)->manifest());
  if (!executor) return report_error(executor.error());
  ProgressBar progress(stderr_is_terminal() && !as_json);
  (*executor)->set_progress([&](const LoadProgress& p) { progress.update(p.bytes_done, p.bytes_total); });
  Status loaded = (*source)->load(**executor);
  progress.finish();
  if (!loaded) return report_error(loaded.error());
  executor->reset();  // frees the staging buffer before generation
  const double load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  const uint64_t load_peak_rss = peak_rss_bytes();

  if (!as_json && default_prompt) {
    // The user gave no prompt: say what is being asked, before the answer streams.
    std::fprintf(stderr, "[model %s, prompt \"%s\"]\n", location.c_str(), user_text.c_str());
  }

  // ---- generate, streaming ----
  std::string text;
  std::optional<StreamDecoder> decoder;
  if (tokenizer) decoder.emplace(*tokenizer);
  auto on_token = [&](int32_t id) {
    std::string piece;
    const bool stops = std::find(options.eos_token_ids.begin(), options.eos_token_ids.end(), id) !=
                       options.eos_token_ids.end();
    if (decoder) {
      if (!stops) piece = decoder->push(id);  // the end-of-turn marker is not part of the answer
    } else {
      piece = (text.empty() ? "" : " ") + std::to_string(id);
    }
    text += piece;
    if (!as_json && !piece.empty()) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
    }
    return true;
  };
  Result<GenerateResult> result = generate(**model, prompt, options, on_token);
  if (!result) return report_error(result.error());
  if (decoder) {
    const std::string rest = decoder->flush();
    text += rest;
    if (!as_json) std::fwrite(rest.data(), 1, rest.size(), stdout);
  }
  const double prefill_tps = per_second(result->prefill_tokens, result->prefill_seconds);
  const double decode_tps = per_second(result->decode_tokens, result->decode_seconds);

  if (as_json) {
    json out = {{"prompt_ids", prompt},
                {"ids", result->ids},
                {"text", text},
                {"stopped_at_eos", result->stopped_at_eos},
                {"load", {{"bound_bytes", plan->bytes_to_bind}, {"peak_rss_bytes", load_peak_rss},
                          {"seconds", load_seconds}}},
                {"peak_rss_bytes", peak_rss_bytes()},
                {"prefill_tokens", result->prefill_tokens},
                {"decode_tokens", result->decode_tokens},
                {"prefill_tokens_per_second", prefill_tps},
                {"decode_tokens_per_second", decode_tps},
                {"backend", (*backend)->describe()}};
    // Generated text may end inside a multi-byte character: replace, never throw.
    std::puts(out.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
    return kExitOk;
  }
  std::fputs("\n", stdout);
  if (stderr_is_terminal()) {
    std::fprintf(stderr,
                 "[%zu prompt + %zu new tokens; load %.2f s, %.1f MB bound, peak RSS %.1f MB; prefill %.1f tok/s, "
                 "decode %.1f tok/s; %s]\n",
                 prompt.size(), result->ids.size(), load_seconds, plan->bytes_to_bind / 1e6, peak_rss_bytes() / 1e6,
                 prefill_tps, decode_tps, (*backend)->describe().c_str());
  }
  return kExitOk;
}

}  // namespace ws::cli
