// A tiny command-line parser: `--name value`, `--name=value`, `--flag`, positionals.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/result.h"

namespace ws::cli {

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // without the leading "--"
  std::set<std::string> flags;

  bool has(const std::string& flag) const { return flags.count(flag) != 0; }
  std::optional<std::string> get(const std::string& name) const;
  Result<double> get_number(const std::string& name, double fallback) const;
};

// `value_options` take a value, `flag_options` do not; anything else is a usage error.
Result<Args> parse_args(int argc, char** argv, int first, const std::set<std::string>& value_options,
                        const std::set<std::string>& flag_options);

// The <model> positional, or with none the built-in default model
// (ws::default_model_location: $WEIGHTSTREAM_MODEL, else the bundled SmolLM2).
Result<std::string> model_or_default(const Args& args);

// Exit statuses (a good Unix tool): 0 ok, 1 runtime error, 2 usage error.
constexpr int kExitOk = 0;
constexpr int kExitRuntimeError = 1;
constexpr int kExitUsage = 2;

// Prints "weightstream: <kind>: <message>" on stderr and returns the exit status for it.
int report_error(const Error& error);

}  // namespace ws::cli
