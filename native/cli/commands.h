// The CLI's subcommands. Each takes its parsed command line (only options
// the option table gives it, positional count checked) and returns the
// process exit status (cli/args.h): usage_error() while it reads the options,
// report_error() for what goes wrong after.
#pragma once

#include "cli/args.h"

namespace ws::cli {

int run_inspect(const Args& args);
int run_load(const Args& args);
int run_generate(const Args& args);
int run_tokenize(const Args& args);
int run_convert(const Args& args);
int run_perplexity(const Args& args);

}  // namespace ws::cli
