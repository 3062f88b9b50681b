#include "cli/options.h"

namespace ws::cli {

namespace {

// Commands that open a model location, and so take the HTTP options.
constexpr unsigned kOpensModel = kInspect | kLoad | kGenerate | kConvert | kPerplexity;
constexpr unsigned kLoadsModel = kGenerate | kPerplexity;

}  // namespace

const std::vector<OptionSpec>& option_table() {
  static const std::vector<OptionSpec> kOptions = {
      // ---- what to feed the model ----
      {"prompt", "TEXT", "the prompt (default: a question, asked as a chat when the model has a chat template)",
       kGenerate},
      {"prompt", "TEXT", "the text, as --text; with --chat a user message inside the chat template", kTokenize},
      {"text", "TEXT", "the text as given, with the tokenizer's special tokens (BOS)", kTokenize},
      {"prompt-ids", "1,2,3", "the prompt as token ids", kGenerate},
      {"chat", "", "wrap --prompt in the model's chat template (run as Jinja, as transformers does) and stop at its end of turn",
       kGenerate | kTokenize},
      {"system", "TEXT", "with --chat: a system message before the prompt", kGenerate | kTokenize},
      {"messages", "FILE.json", "a JSON array of {role, content}: a whole conversation rendered by the chat template",
       kGenerate | kTokenize},
      {"file", "TEXT", "the text file to score", kPerplexity},

      // ---- sampling ----
      {"max-new-tokens", "N", "tokens to generate (default 32)", kGenerate},
      {"temperature", "T", "sampling temperature; 0 (the default) is greedy decoding", kGenerate},
      {"top-k", "K", "sample among the K most likely tokens (default 0: off)", kGenerate},
      {"top-p", "P", "nucleus sampling: the smallest set of tokens with probability >= P (default 1: off)",
       kGenerate},
      {"repetition-penalty", "R", "divide the logits of tokens already seen by R (default 1: off)", kGenerate},
      {"seed", "S", "sampling seed (same seed and options, same tokens)", kGenerate},
      {"max-context", "N", "positions the KV cache may hold (default 0: the model's maximum)", kGenerate},
      {"context", "N", "score the first N tokens of the file (default 2048)", kPerplexity},

      // ---- how the weights are held ----
      {"dtype", "DTYPE",
       "keep (as stored, GGUF blocks included), f32, f16, bf16, or quantize while loading to q8_0, q4_0, q4_1, "
       "q5_0, q5_1, q4_k, q5_k, q6_k (default keep)",
       kGenerate | kPerplexity},
      {"dtype", "DTYPE",
       "keep, f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k or q6_k: the dtype float tensors are bound "
       "in (a block type only for matrices whose rows are whole blocks; default keep)",
       kLoad},
      {"dtype", "DTYPE",
       "keep, f32, f16, bf16, or (a .gguf output only) q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k; keep "
       "writes GGUF blocks as f32 in safetensors (default keep)",
       kConvert},
      {"bind", "copy|mmap",
       "mmap (local files): serve the tensors kept in their stored dtype from the mapped checkpoint, no copy; "
       "copy the others (default copy)",
       kLoad | kGenerate},
      {"max-memory", "BYTES",
       "the bytes the load may use, suffixes K M G (default: what the process may commit)", kGenerate},
      {"huge-pages", "", "ask for 2 MiB pages for the weights (slower load, faster decode)", kGenerate},
      {"staging-mib", "N", "the staging buffer for windows that convert (default 16)", kLoad},
      {"readers", "N",
       "threads (HTTP: connections) reading each shard at once, sharing --staging-mib (default 4; 1: one, in "
       "file order)",
       kLoad},
      {"batch-mib", "N", "output loaded per batch (default 64)", kConvert},
      {"rank", "R", "bind only rank R's part of each tensor in Megatron's tensor-parallel layout (default: $RANK, else 0)",
       kLoad},
      {"world-size", "W", "ranks in the tensor-parallel group (default: $WORLD_SIZE, else 1)", kLoad},
      {"tp", "N",
       "run N local tensor-parallel ranks over c10d/Gloo (LibTorch builds), as `torchrun --no_python "
       "--nproc_per_node N weightstream generate ...` does; rank 0 prints, --json adds \"ranks\"",
       kGenerate},

      // ---- where it computes ----
      {"backend", "NAME", "portable (default), or torch (LibTorch's ATen ops; builds configured with -DWS_TORCH=ON)",
       kLoad | kGenerate},
      {"device", "DEVICE", "with --backend torch: cpu (default), cuda or cuda:N", kLoad | kGenerate},
      {"threads", "N", "compute threads (default 0: one per hardware thread)", kLoadsModel},

      // ---- output ----
      {"json", "", "print one JSON object with the tensors (dtype, shape, bytes, shard) instead of a table", kInspect},
      {"json", "", "print one JSON object: every tensor, bytes bound and read, peak RSS, staging, seconds", kLoad},
      {"json", "", "print one JSON object with the ids, text, load and speed figures", kGenerate},
      {"json", "", "print one JSON object with the ids, tokens and (chat) rendered text", kTokenize},
      {"json", "", "print one JSON object with the perplexity and load figures", kPerplexity},
      {"hash", "", "SHA-256 of every bound tensor's bytes", kLoad},

      // ---- an http(s) <model> ----
      {"header", "'Name: value'",
       "an extra request header, e.g. 'Authorization: Bearer hf_...'; an Authorization header is never sent to "
       "another host after a redirect",
       kOpensModel},
      {"ca-bundle", "FILE", "PEM CAs to trust (default: $CURL_CA_BUNDLE, $SSL_CERT_FILE, the system's)", kOpensModel},
      {"http-deadline-s", "N", "give up (Timeout) when the whole load takes longer than N s (default 0: never)",
       kOpensModel},
  };
  return kOptions;
}

const std::vector<CommandSpec>& command_table() {
  static const std::vector<CommandSpec> kCommands = {
      {kInspect, "inspect", "<model>", 1, 1, "shards and every tensor (name, dtype, shape, bytes, shard)", ""},
      {kLoad, "load", "<model>", 1, 1,
       "bind every tensor into its own buffer; report bytes, peak RSS, speed",
       "--bind copy binds every tensor into its own buffer; --bind mmap (local files) maps the tensors whose dtype\n"
       "is kept as zero-copy views of the page cache and copies only the ones that convert. --backend torch builds\n"
       "every tensor on torch's meta device and materialises it on --device (CUDA through pinned staging buffers).\n"
       "--rank/--world-size read only this rank's bytes of each tensor (model/tensor_parallel.h)."},
      {kGenerate, "generate", "[<model>]", 0, 1, "stream a continuation (gpt2, llama, mistral, qwen2, ...)",
       "no <model>: the built-in default (SmolLM2-135M-Instruct, or $WEIGHTSTREAM_MODEL); give at most one of\n"
       "--prompt, --messages and --prompt-ids (--chat and --system go with --prompt)."},
      {kTokenize, "tokenize", "[<model>]", 0, 1, "token ids, their tokens and the rendered chat text",
       "give exactly one of --text, --prompt and --messages (--chat with --prompt; --system with --chat);\n"
       "prints the rendered text (chat), then one line per token: id and token. No weight byte is read."},
      {kConvert, "convert", "<model> <out-dir | out.gguf>", 2, 2,
       "write a Hugging Face directory (model.safetensors, config.json, tokenizer files) or a .gguf file",
       "GGUF weights are dequantised for safetensors; the output is written atomically and never over its input."},
      {kPerplexity, "perplexity", "<model>", 1, 1, "exp(mean negative log-likelihood) of a text's first N tokens",
       "--file is required."},
  };
  return kCommands;
}

const OptionSpec* find_option(Command command, std::string_view name) {
  for (const OptionSpec& option : option_table()) {
    if ((option.commands & command) && option.name == name) return &option;
  }
  return nullptr;
}

const CommandSpec* find_command(std::string_view name) {
  for (const CommandSpec& spec : command_table()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

std::vector<const OptionSpec*> options_of(Command command) {
  std::vector<const OptionSpec*> options;
  for (const OptionSpec& option : option_table()) {
    if (option.commands & command) options.push_back(&option);
  }
  return options;
}

}  // namespace ws::cli
