// weightstream for your own C++ program: load a model (safetensors directory
// or file, GGUF file, or an http(s) URL of one of these) straight into its
// weight buffers, then generate text with it, streaming the pieces.
//
//   #include <weightstream/weightstream.h>
//
//   ws::Result<ws::LanguageModel> model = ws::LanguageModel::load("SmolLM2-135M-Instruct.Q4_1.gguf");
//   if (!model) return std::fprintf(stderr, "%s\n", model.error().to_string().c_str()), 1;
//   ws::GenerationOptions options;
//   options.chat = model->has_chat_template();
//   ws::Result<ws::Generation> answer = model->generate("What is the capital of France?", options,
//       [](const std::string& piece) { std::fputs(piece.c_str(), stdout); return true; });
//
// CMake: find_package(weightstream REQUIRED) and link weightstream::weightstream.
//
// Every failure is returned as a ws::Error (core/result.h): a kind to switch
// on (NotFound, InvalidArgument, Unsupported, InvalidHeader, Http, ...) and a
// message naming the file, tensor and byte offset where known. Nothing here
// throws, aborts or exits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/choices.h"
#include "core/result.h"

namespace ws {

// How and where the weights are held and computed on.
struct ModelOptions {
  // The CPU backend, or LibTorch's ATen ops in builds configured with
  // -DWS_TORCH=ON (available_backends() lists what this build has; Torch
  // elsewhere is an Unsupported error).
  BackendKind backend = BackendKind::Portable;
  // Torch only; unset: the CPU.
  std::optional<ComputeDevice> device;
  // The dtype of the 2-D weights: Keep (as stored: f16/bf16 stay, GGUF
  // blocks stay blocks), F32, F16, BF16, or a ggml block type to quantize to
  // while loading (the output head is held at Q6_K unless Q8_0 is asked).
  // Norms and biases are always f32. From text (a command line, a binding):
  // parse_weight_dtype("q4_k"), parse_backend_kind, parse_compute_device
  // (core/choices.h).
  WeightDType dtype = WeightDType::Keep;
  // Bytes the load may use (weights + KV cache + activations + staging),
  // checked before anything is allocated; 0 = what the process may commit
  // (MemAvailable, the cgroup limit, RLIMIT_AS).
  uint64_t max_memory = 0;
  // Positions the KV cache is sized for in that check (0: min(model maximum, 2048)).
  size_t context = 0;
  // Local files on the portable backend: weights stored in the dtype they are
  // computed in are read from the mapped checkpoint (no copy; pages come in
  // on first use) instead of being copied. The file must not shrink while
  // the model lives (its pages would become unreadable: SIGBUS).
  bool map_weights = false;
  // Compute threads; 0 = one per hardware thread.
  int threads = 0;
  // Called on the loading thread as weight bytes arrive; optional.
  std::function<void(uint64_t bytes_done, uint64_t bytes_total)> on_progress;
  // For an http(s) location (ignored otherwise). A malformed header or an
  // unreadable CA bundle is InvalidArgument; a load past deadline_s is Timeout.
  struct Http {
    // Extra request headers, "Name: value" on one line. An Authorization
    // header, like bearer_token, goes to the URL's own host only, never to
    // another host a redirect leads to (the Hugging Face Hub's CDN).
    std::vector<std::string> headers;
    std::string bearer_token;  // sent as "Authorization: Bearer <token>", e.g. a Hub token
    // PEM CAs to trust; empty: $CURL_CA_BUNDLE, then $SSL_CERT_FILE, then the system's.
    std::string ca_bundle;
    long deadline_s = 0;  // the whole load, retries included; 0: no limit
  } http;
  // Tensor parallelism (builds with LibTorch: c10d over Gloo, host-memory
  // backends): this process is rank `rank` of `world_size`, every rank
  // loading the same location with the same options; the group meets at
  // master_addr:master_port (rank 0 serves it). Each rank holds only its
  // part (Megatron's layout) and all of them must call generate alike; rank
  // 0's tokens are every rank's. world_size 1: one process. Errors at load:
  // Unsupported without LibTorch, Timeout when a rank does not come within
  // timeout_s, InvalidArgument when the ranks' models differ.
  struct TensorParallel {
    size_t rank = 0;
    size_t world_size = 1;
    std::string master_addr = "127.0.0.1";
    uint16_t master_port = 29500;
    long timeout_s = 300;  // every wait for a peer, at load and in each collective
  } tensor_parallel;
};

struct LoadStats {
  uint64_t bound_bytes = 0;  // weight bytes the model holds
  double seconds = 0;        // opening (headers, config, tokenizer) plus streaming the weights
};

struct GenerationOptions {
  size_t max_new_tokens = 32;
  float temperature = 0.0f;         // 0 = greedy
  size_t top_k = 0;                 // 0 = off
  float top_p = 1.0f;               // 1 = off
  float repetition_penalty = 1.0f;  // 1 = off
  uint64_t seed = 0;                // same seed and options, same tokens on every platform
  // Wrap a text prompt in the model's chat template (has_chat_template())
  // and stop at the end of the assistant's turn.
  bool chat = false;
  std::string system;      // chat only: the system message; empty = none (the template may add its default)
  size_t max_context = 0;  // positions the KV cache may hold; 0 = the model's maximum
};

// One turn of a conversation, as chat templates read it.
struct ChatMessage {
  std::string role;  // "system", "user", "assistant", "tool", ... (the template decides what it accepts)
  std::string content;
};

struct Generation {
  std::vector<int32_t> prompt_ids;  // what the model was given (chat template included)
  std::vector<int32_t> ids;         // generated tokens; the EOS / end-of-turn id is the last one when it stopped there
  std::string text;                 // the decoded answer, without the end-of-turn marker
  bool stopped_at_eos = false;
  double prefill_tokens_per_second = 0;
  double decode_tokens_per_second = 0;
};

// Called once per generated token with the text it completes, which may be
// empty (a token ending inside a multi-byte character, or the end-of-turn
// marker); then once more with any text still held back, if there is some.
// Return false to stop generating.
using TextCallback = std::function<bool(const std::string& piece)>;

// A loaded model with its tokenizer. Owns every weight buffer; movable, not
// copyable. generate() calls on one LanguageModel must not overlap (they
// share its activation buffers); separate LanguageModels are independent. A
// moved-from LanguageModel may only be assigned to or destroyed.
class LanguageModel {
 public:
  // Opens `location` (a directory with model.safetensors or
  // model.safetensors.index.json + shards, config.json and tokenizer.json; a
  // .safetensors file; a .gguf file; or an http(s):// URL of one of these)
  // and streams every weight into its buffer, reading each byte once.
  // Errors: InvalidArgument (a bad thread count; a device without the torch
  // backend), Unsupported (a backend this build
  // lacks, an unknown model type), NotFound (no such path or URL), Io, Http,
  // and the format's own kinds (InvalidHeader, InvalidConfig, MissingTensor,
  // ShapeMismatch, Truncated, OutOfBudget, ...).
  static Result<LanguageModel> load(const std::string& location, const ModelOptions& options = {});

  LanguageModel(LanguageModel&& other) noexcept;
  LanguageModel& operator=(LanguageModel&& other) noexcept;
  ~LanguageModel();

  const LoadStats& load_stats() const;
  std::string model_type() const;           // config.json's model_type: "gpt2", "llama", ...
  std::string backend_description() const;  // e.g. "portable avx2+fma, 2 threads"
  bool has_tokenizer() const;
  // The model has a chat template (chat_template.jinja, chat_template.json,
  // tokenizer_config.json's or GGUF's) that parses, and a tokenizer.
  bool has_chat_template() const;
  // Problems that did not stop the load (a BOS/EOS name the vocabulary lacks).
  const std::vector<Error>& warnings() const;

  // Errors: NotFound when the model has no tokenizer.json, or why the one it
  // has could not be used (InvalidConfig, Unsupported).
  Result<std::vector<int32_t>> tokenize(const std::string& text, bool add_special_tokens = true) const;
  Result<std::string> detokenize(const std::vector<int32_t>& ids) const;

  // Tokenizes `prompt` (with the chat template when options.chat) and
  // generates, calling `on_text` as each token arrives. Errors: as
  // tokenize(); Unsupported for chat without a chat template, Template when it fails;
  // InvalidArgument for bad options (negative temperature, top_p outside
  // (0, 1], a system message without chat), an empty prompt, or a prompt
  // longer than the context; OutOfBudget when the KV cache cannot be allocated.
  Result<Generation> generate(const std::string& prompt, const GenerationOptions& options = {},
                              const TextCallback& on_text = nullptr);
  // The conversation `messages` as the model's chat template renders it
  // (Jinja, as transformers' apply_chat_template), ending with the assistant's
  // turn opener when add_generation_prompt. Errors: Unsupported when the
  // model has no chat template; Template ("template line N: ...") when it
  // does not parse or render (its raise_exception included).
  Result<std::string> apply_chat_template(const std::vector<ChatMessage>& messages,
                                          bool add_generation_prompt = true) const;
  // Generates the assistant's next turn of `messages` (options.chat and
  // options.system are ignored: the messages say it all), stopping at the
  // template's end of turn. Errors: as apply_chat_template() and generate().
  Result<Generation> chat(const std::vector<ChatMessage>& messages, const GenerationOptions& options = {},
                          const TextCallback& on_text = nullptr);
  // The same from token ids (options.chat must be false). Without a
  // tokenizer the text is the generated ids in decimal, space-separated.
  // Errors: as generate(), and InvalidArgument for an id >= the vocabulary.
  Result<Generation> generate_from_ids(const std::vector<int32_t>& prompt_ids, const GenerationOptions& options = {},
                                       const TextCallback& on_text = nullptr);

 private:
  struct State;
  explicit LanguageModel(std::unique_ptr<State> state);
  Result<Generation> run(std::vector<int32_t> prompt_ids, const std::vector<int32_t>& stop_ids,
                         const GenerationOptions& options, const TextCallback& on_text);
  std::unique_ptr<State> state_;
};

// The backends this build has, spelled as parse_backend_kind takes them:
// "portable", and "torch" when built with LibTorch.
std::vector<std::string> available_backends();

// The built-in default model the CLI uses: $WEIGHTSTREAM_MODEL, else
// SmolLM2-135M-Instruct.Q4_1.gguf in models/ next to, or one level above, the
// running program's directory (build/models/ for build/<preset>/weightstream).
// Errors: NotFound, saying how to install it.
Result<std::string> default_model_location();

}  // namespace ws
