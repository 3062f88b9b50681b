// weightstream generate [<model>] (options: cli/options.cpp)
//
// Loads the model straight into its parameter buffers (one pass over the
// shards), then streams the continuation to stdout as it is generated.
// Temperature 0 (the default) is greedy decoding.
#include <cctype>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/load_model.h"
#include "api/model_files.h"
#include "api/prompt.h"
#include "api/stream_text.h"
#include "cli/messages_file.h"
#include "cli/args.h"
#include "cli/http_flags.h"
#include "cli/model_flags.h"
#include "cli/progress.h"
#include "cli/tensor_parallel_launch.h"
#include "source/memory_stats.h"
#include "weightstream/weightstream.h"

namespace ws::cli {

namespace {

using json = nlohmann::json;

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

// "123", "64M", "8G" (powers of 1024).
Result<uint64_t> parse_bytes(const std::string& name, const std::string& text) {
  static const std::string kSuffixes = "KMGT";
  std::string digits = text;
  int shift = 0;
  if (!digits.empty() && kSuffixes.find(static_cast<char>(std::toupper(digits.back()))) != std::string::npos) {
    shift = 10 * (1 + static_cast<int>(kSuffixes.find(static_cast<char>(std::toupper(digits.back())))));
    digits.pop_back();
  }
  if (digits.empty() || digits.size() > 15 || digits.find_first_not_of("0123456789") != std::string::npos) {
    return make_error(ErrorKind::InvalidArgument, "--" + name + ": \"" + text + "\" is not a byte count (e.g. 8G)");
  }
  const uint64_t value = std::stoull(digits);
  if (shift && value > (UINT64_MAX >> shift)) return make_error(ErrorKind::InvalidArgument, "--" + name + " is too large");
  return value << shift;
}

const char* kDefaultPrompt = "What is the capital of France? Answer in one sentence.";
double per_second(size_t tokens, double seconds) { return seconds > 0 ? tokens / seconds : 0.0; }

}  // namespace

int run_generate(const Args& args) {
  // ---- the command line (every error here is a usage error) ----
  const auto usage = [](const Error& error) { return usage_error(kGenerate, error); };
  const bool has_prompt = args.get("prompt").has_value(), has_ids = args.get("prompt-ids").has_value();
  const bool has_messages = args.get("messages").has_value();
  if (has_prompt + has_ids + has_messages > 1 ||
      (!has_prompt && (args.has("chat") || args.get("system")) && (has_ids || has_messages))) {
    return usage(Error{ErrorKind::InvalidArgument, "give at most one of --prompt, --messages and --prompt-ids "
                                                   "(--chat and --system go with --prompt)"});
  }
  const bool as_json = args.has("json");
  const bool default_prompt = !has_prompt && !has_ids && !has_messages;
  const std::string user_text = has_prompt ? *args.get("prompt") : kDefaultPrompt;
  std::vector<int32_t> prompt;
  if (auto ids = args.get("prompt-ids")) {
    Result<std::vector<int32_t>> parsed = parse_ids(*ids);
    if (!parsed) return usage(parsed.error());
    prompt = std::move(*parsed);
  }

  GenerateOptions options;
  Result<size_t> max_new = get_count(args, "max-new-tokens", 32, 1 << 20);
  if (!max_new) return usage(max_new.error());
  options.max_new_tokens = *max_new;
  Result<size_t> max_context = get_count(args, "max-context", 0, 1 << 24);
  if (!max_context) return usage(max_context.error());
  options.max_context = *max_context;
  Result<double> temperature = args.get_number("temperature", 0.0);
  Result<size_t> top_k = get_count(args, "top-k", 0, 1 << 24);
  Result<double> top_p = args.get_number("top-p", 1.0);
  Result<double> penalty = args.get_number("repetition-penalty", 1.0);
  Result<size_t> seed = get_count(args, "seed", 0, 9007199254740991.0);
  for (const Status& s : {temperature.status(), top_k.status(), top_p.status(), penalty.status(), seed.status()}) {
    if (!s.is_ok()) return usage(s.error());
  }
  options.sampling = {static_cast<float>(*temperature), *top_k, static_cast<float>(*top_p),
                      static_cast<float>(*penalty), static_cast<uint64_t>(*seed)};
  if (Result<Sampler> check = Sampler::create(options.sampling); !check) return usage(check.error());
  Result<WeightDType> dtype = weight_dtype_flag(args);
  if (!dtype) return usage(dtype.error());
  LoadOptions load_options;
  load_options.context = options.max_context;
  if (auto text = args.get("max-memory")) {
    Result<uint64_t> bytes = parse_bytes("max-memory", *text);
    if (!bytes) return usage(bytes.error());
    load_options.max_memory = *bytes;
  }
  Result<bool> map_weights = map_weights_flag(args);
  if (!map_weights) return usage(map_weights.error());
  load_options.map_weights = *map_weights;
  Result<BackendChoice> choice = backend_flags(args);
  if (!choice) return usage(choice.error());
  Result<HttpTransportOptions> http = http_options(args);
  if (!http) return usage(http.error());

  // No model: the built-in default. No prompt: a default question, asked as a
  // chat when the model has a chat template.
  Result<std::string> model = model_or_default(args);
  if (!model) return report_error(model.error());
  const std::string location = *model;

  // ---- open, configure, load ----
  const auto load_start = std::chrono::steady_clock::now();
  reset_peak_rss();
  Result<ModelFiles> files = open_model_files(location, *http);
  if (!files) return report_error(files.error());
  // BOS/EOS naming problems should not stop generation: warn, and go on.
  if (files->special_tokens_warning) {
    std::fprintf(stderr, "weightstream: warning: %s\n", files->special_tokens_warning->to_string().c_str());
  }

  // --prompt: tokenized, inside the chat template with --chat (and for the
  // default question when the model has one). --prompt-ids: as given; an
  // unusable tokenizer.json then only costs the text.
  if (has_ids) {
    if (files->tokenizer_error) {
      std::fprintf(stderr, "weightstream: warning: printing token ids, the tokenizer is unusable: %s\n",
                   files->tokenizer_error->to_string().c_str());
    }
  } else if (auto path = args.get("messages")) {
    Result<nlohmann::ordered_json> messages = read_messages(*path);
    if (!messages) return report_error(messages.error());
    Result<Prompt> encoded = encode_chat(*files, *messages);
    if (!encoded) return report_error(encoded.error());
    prompt = std::move(encoded->ids);
    add_unique_ids(options.eos_token_ids, encoded->stop_ids);
  } else {
    const ChatMode chat = args.has("chat") ? ChatMode::On : default_prompt ? ChatMode::IfAvailable : ChatMode::Off;
    Result<Prompt> encoded = encode_prompt(*files, user_text, chat, args.get("system"));
    if (!encoded) return report_error(encoded.error());
    prompt = std::move(encoded->ids);
    add_unique_ids(options.eos_token_ids, encoded->stop_ids);
  }
  add_unique_ids(options.eos_token_ids, files->eos_token_ids);

  // Launched as one rank of a group (torchrun, --tp): load this rank's slices,
  // on this rank's share of the cores unless --threads says otherwise.
  Result<std::unique_ptr<Collective>> group = join_tensor_parallel();
  if (!group) return report_error(group.error());
  load_options.group = group->get();
  if (*group && choice->options.threads == 0) choice->options.threads = threads_per_local_rank();
  Result<std::unique_ptr<Backend>> backend = make_backend(*choice);
  if (!backend) return report_error(backend.error());
  ProgressBar progress(stderr_is_terminal() && !as_json);
  const uint64_t read_before = io_read_bytes();
  Result<BoundModel> loaded = load_model(
      *files->source, files->config, **backend, *dtype,
      [&](const LoadProgress& p) { progress.update(p.bytes_done, p.bytes_total); }, load_options);
  progress.finish();
  if (!loaded) return report_error(loaded.error());
  const double load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  const uint64_t load_peak_rss = peak_rss_bytes();
  const uint64_t load_measured_read = io_read_bytes() - read_before;

  if (!as_json && default_prompt) {
    // The user gave no prompt: say what is being asked, before the answer streams.
    std::fprintf(stderr, "[model %s, prompt \"%s\"]\n", location.c_str(), user_text.c_str());
  }

  // ---- generate, streaming ----
  const Tokenizer* tokenizer = files->tokenizer ? &*files->tokenizer : nullptr;
  Result<TextGeneration> generated =
      generate_text(*loaded->model, tokenizer, prompt, options, [&](const std::string& piece) {
        if (!as_json && !piece.empty()) {
          std::fwrite(piece.data(), 1, piece.size(), stdout);
          std::fflush(stdout);
        }
        return true;
      });
  if (!generated) return report_error(generated.error());
  const GenerateResult& result = generated->result;
  const std::string& text = generated->text;
  const double prefill_tps = per_second(result.prefill_tokens, result.prefill_seconds);
  const double decode_tps = per_second(result.decode_tokens, result.decode_seconds);

  if (as_json) {
    json out = {{"prompt_ids", prompt},
                {"ids", result.ids},
                {"text", text},
                {"stopped_at_eos", result.stopped_at_eos},
                {"load", {{"bound_bytes", loaded->bound_bytes}, {"mapped_bytes", loaded->mapped_bytes},
                          {"read_bytes", loaded->read_bytes},
                          {"peak_rss_bytes", load_peak_rss},
                          {"seconds", load_seconds}}},
                {"peak_rss_bytes", peak_rss_bytes()},
                {"prefill_tokens", result.prefill_tokens},
                {"decode_tokens", result.decode_tokens},
                {"prefill_tokens_per_second", prefill_tps},
                {"decode_tokens_per_second", decode_tps},
                {"backend", (*backend)->describe()}};
    if (*group) {
      Result<json> ranks = gather_rank_reports(**group, loaded->read_bytes, load_measured_read, loaded->bound_bytes,
                                                      load_peak_rss);
      if (!ranks) return report_error(ranks.error());
      out["ranks"] = std::move(*ranks);
    }
    // Generated text may end inside a multi-byte character: replace, never throw.
    std::puts(out.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
    return kExitOk;
  }
  std::fputs("\n", stdout);
  if (stderr_is_terminal()) {
    std::fprintf(stderr,
                 "[%zu prompt + %zu new tokens; load %.2f s, %.1f MB bound, peak RSS %.1f MB; prefill %.1f tok/s, "
                 "decode %.1f tok/s; %s]\n",
                 prompt.size(), result.ids.size(), load_seconds, loaded->bound_bytes / 1e6, peak_rss_bytes() / 1e6,
                 prefill_tps, decode_tps, (*backend)->describe().c_str());
  }
  return kExitOk;
}

}  // namespace ws::cli
