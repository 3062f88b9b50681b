// weightstream: load Hugging Face checkpoints with almost no memory beyond the
// weights, and run text generation on them.
#include <cstdio>
#include <cstring>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/http_flags.h"
#include "core/guard.h"

namespace {

const char* kUsage =
    "usage: weightstream <command> [options]\n"
    "\n"
    "commands:\n"
    "  inspect <model> [--json]      shards and every tensor (name, dtype, shape, bytes, shard)\n"
    "  load <model> [--dtype keep|f32|f16|bf16|q8_0|q4_0|q4_1|q5_0|q5_1|q4_k|q5_k|q6_k] [--staging-mib N] [--hash] [--json]\n"
    "                                bind every tensor into its own buffer; report bytes, peak RSS, speed\n"
    "  generate <model> [--prompt TEXT | --prompt-ids 1,2,3] [--max-new-tokens N] [--temperature T]\n"
    "           [--top-k K] [--top-p P] [--repetition-penalty R] [--seed S] [--dtype keep|f32|f16|bf16]\n"
    "           [--threads N] [--json]      stream a continuation (gpt2, llama, mistral, qwen2)\n"
    "           [--chat [--system TEXT] | --messages FILE.json]   inside the model's chat template\n"
    "  tokenize <model> (--text TEXT | --prompt TEXT --chat [--system TEXT] | --messages FILE.json) [--json]\n"
    "                                token ids, their tokens and the rendered chat text\n"
    "  convert <model> <out-dir> [--dtype keep|f32|f16|bf16] [--batch-mib N]\n"
    "                                write a Hugging Face directory (model.safetensors, config.json,\n"
    "                                tokenizer files); GGUF weights are dequantised\n"
    "  perplexity <model> --file TEXT [--dtype D] [--context N] [--json]\n"
    "                                exp(mean negative log-likelihood) of the text's first N tokens\n"
    "\n"
    "<model> is a directory (model.safetensors, or model.safetensors.index.json + shards),\n"
    "a single .safetensors or .gguf file, or an http(s) URL of one of these.\n"
    "\n";

int run(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    std::fputs(ws::cli::kHttpUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? ws::cli::kExitUsage : ws::cli::kExitOk;
  }
  if (std::strcmp(argv[1], "--version") == 0) {
    std::puts("weightstream 0.1.0");
    return ws::cli::kExitOk;
  }
  const char* command = argv[1];
  if (std::strcmp(command, "inspect") == 0) return ws::cli::run_inspect(argc - 1, argv + 1);
  if (std::strcmp(command, "load") == 0) return ws::cli::run_load(argc - 1, argv + 1);
  if (std::strcmp(command, "generate") == 0) return ws::cli::run_generate(argc - 1, argv + 1);
  if (std::strcmp(command, "tokenize") == 0) return ws::cli::run_tokenize(argc - 1, argv + 1);
  if (std::strcmp(command, "convert") == 0) return ws::cli::run_convert(argc - 1, argv + 1);
  if (std::strcmp(command, "perplexity") == 0) return ws::cli::run_perplexity(argc - 1, argv + 1);
  std::fprintf(stderr, "weightstream: unknown command \"%s\"\n\n%s", command, kUsage);
  return ws::cli::kExitUsage;
}

}  // namespace

// No exception leaves main: one that slipped past the errors-as-values code
// (bad_alloc, a thread that cannot start) is reported like any runtime error,
// exit status 1, instead of std::terminate's abort.
int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (...) {
    return ws::cli::report_error(ws::error_from_current_exception(argc > 1 ? argv[1] : "weightstream"));
  }
}
