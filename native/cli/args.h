// The command-line parser: `--name value`, `--name=value`, `--flag`,
// positionals, and --help / -h; which options a command takes comes from the
// option table (cli/options.h).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cli/options.h"
#include "core/result.h"

namespace ws::cli {

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // without the leading "--"
  std::set<std::string> flags;
  bool help = false;  // --help or -h: print the command's help, nothing else

  bool has(const std::string& flag) const { return flags.count(flag) != 0; }
  std::optional<std::string> get(const std::string& name) const;
  Result<double> get_number(const std::string& name, double fallback) const;
};

// argv[first..argc) for `command`: options it does not take (option_table()),
// a flag given a value, a missing value, or a positional count outside the
// command's range are InvalidArgument. Stops at --help / -h (then `help` is
// set and positionals are not counted).
Result<Args> parse_args(int argc, char** argv, int first, const CommandSpec& command);

// The <model> positional, or with none the built-in default model
// (ws::default_model_location: $WEIGHTSTREAM_MODEL, else the bundled SmolLM2).
Result<std::string> model_or_default(const Args& args);

// Exit statuses (a good Unix tool): 0 ok, 1 runtime error, 2 usage error.
constexpr int kExitOk = 0;
constexpr int kExitRuntimeError = 1;
constexpr int kExitUsage = 2;

// A run-time error (whatever its kind: a prompt longer than the context is
// InvalidArgument, yet the command line was fine): prints
// "weightstream: <kind>: <message>" on stderr and returns kExitRuntimeError.
int report_error(const Error& error);
// A command-line error (an unknown option, a value that does not parse, a
// missing positional, options that exclude each other): prints the error and
// the command's usage line on stderr and returns kExitUsage. Only the step
// that reads the command line calls this.
int usage_error(Command command, const Error& error);

}  // namespace ws::cli
