// weightstream: load Hugging Face checkpoints with almost no memory beyond the
// weights, and run text generation on them.
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/tensor_parallel_launch.h"
#include "cli/usage.h"
#include "core/guard.h"

namespace {

using namespace ws::cli;

int dispatch(Command command, const Args& args) {
  switch (command) {
    case kInspect: return run_inspect(args);
    case kLoad: return run_load(args);
    case kGenerate: return run_generate(args);
    case kTokenize: return run_tokenize(args);
    case kConvert: return run_convert(args);
    case kPerplexity: return run_perplexity(args);
  }
  return kExitUsage;
}

int run(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(main_usage().c_str(), stderr);
    return kExitUsage;
  }
  if (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::fputs(main_usage().c_str(), stdout);
    return kExitOk;
  }
  if (std::strcmp(argv[1], "--version") == 0) {
    std::puts(version_text().c_str());
    return kExitOk;
  }
  const CommandSpec* spec = find_command(argv[1]);
  if (!spec) {
    std::fprintf(stderr, "weightstream: unknown command \"%s\"\n\n%s", argv[1], main_usage().c_str());
    return kExitUsage;
  }
  ws::Result<Args> args = parse_args(argc, argv, 2, *spec);
  if (!args) return usage_error(spec->command, args.error());
  if (args->help) {
    std::fputs(command_help(spec->command).c_str(), stdout);
    return kExitOk;
  }
  // generate --tp N: this process only starts and reaps N ranks of itself
  // (each run without --tp, as one rank of the group).
  if (spec->command == kGenerate && args->get("tp")) {
    if (std::optional<int> code = launch_tensor_parallel(argc - 1, argv + 1)) return *code;
  }
  return dispatch(spec->command, *args);
}

}  // namespace

// No exception leaves main: one that slipped past the errors-as-values code
// (bad_alloc, a thread that cannot start) is reported like any runtime error,
// exit status 1, instead of std::terminate's abort.
int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (...) {
    return report_error(ws::error_from_current_exception(argc > 1 ? argv[1] : "weightstream"));
  }
}
