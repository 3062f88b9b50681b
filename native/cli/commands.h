// The CLI's subcommands. Each takes argv with argv[0] == its own name and
// returns the process exit status (cli/args.h).
#pragma once

namespace ws::cli {

int run_inspect(int argc, char** argv);
int run_load(int argc, char** argv);
int run_generate(int argc, char** argv);
int run_tokenize(int argc, char** argv);
int run_convert(int argc, char** argv);
int run_perplexity(int argc, char** argv);

}  // namespace ws::cli
