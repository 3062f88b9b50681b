#include "cli/args.h"

#include "cli/usage.h"
#include "weightstream/weightstream.h"  // default_model_location

#include <cmath>

#include <cstdio>
#include <cstdlib>

namespace ws::cli {

std::optional<std::string> Args::get(const std::string& name) const {
  auto it = options.find(name);
  if (it == options.end()) return std::nullopt;
  return it->second;
}

Result<double> Args::get_number(const std::string& name, double fallback) const {
  auto value = get(name);
  if (!value) return fallback;
  char* end = nullptr;
  const double number = std::strtod(value->c_str(), &end);
  // Finite only: NaN passes every "x < lo || x > hi" range check after this.
  if (value->empty() || *end != '\0' || !std::isfinite(number)) {
    return make_error(ErrorKind::InvalidArgument, "--" + name + " expects a finite number, got \"" + *value + "\"");
  }
  return number;
}

Result<Args> parse_args(int argc, char** argv, int first, const CommandSpec& command) {
  Args args;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      args.help = true;
      return args;
    }
    if (arg.rfind("--", 0) != 0 || arg == "--") {
      args.positional.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    const size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const OptionSpec* option = find_option(command.command, name);
    if (!option) {
      return make_error(ErrorKind::InvalidArgument,
                        "unknown option --" + name + " for " + std::string(command.name));
    }
    if (!option->takes_value()) {
      if (value) return make_error(ErrorKind::InvalidArgument, "--" + name + " takes no value");
      args.flags.insert(name);
      continue;
    }
    if (!value) {
      if (i + 1 >= argc) return make_error(ErrorKind::InvalidArgument, "--" + name + " needs a value");
      value = argv[++i];
    }
    args.options[name] = *value;
  }
  if (args.positional.size() < command.min_positionals || args.positional.size() > command.max_positionals) {
    const size_t n = args.positional.size();
    return make_error(ErrorKind::InvalidArgument,
                      std::string(command.name) + " takes " + std::string(command.positionals) + ", got " +
                          std::to_string(n) + " argument" + (n == 1 ? "" : "s"));
  }
  return args;
}

Result<std::string> model_or_default(const Args& args) {
  if (!args.positional.empty()) return args.positional[0];
  return default_model_location();
}

int report_error(const Error& error) {
  std::fprintf(stderr, "weightstream: %s\n", error.to_string().c_str());
  return kExitRuntimeError;
}

int usage_error(Command command, const Error& error) {
  std::fprintf(stderr, "weightstream: %s\n", error.to_string().c_str());
  print_usage_line(command, stderr);
  return kExitUsage;
}

}  // namespace ws::cli
