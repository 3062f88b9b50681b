// Usage and --help texts, all written from the option table (cli/options.h).
#pragma once

#include <cstdio>
#include <string>

#include "cli/options.h"

namespace ws::cli {

// `weightstream --help`: every command with its options and summary.
std::string main_usage();
// `weightstream <command> --help`: the command's usage line, summary, every
// option it takes (one line each, wrapped) and its notes.
std::string command_help(Command command);
// "usage: weightstream load <model> [options]", and where the options are listed.
void print_usage_line(Command command, std::FILE* out);

// "weightstream 0.1.0": the CMake project version this binary was built from.
std::string version_text();

}  // namespace ws::cli
