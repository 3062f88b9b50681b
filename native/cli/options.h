// The CLI's commands and options, each declared once. The parser (args.h)
// accepts, for a command, exactly the options whose `commands` include it,
// and every usage and --help text (usage.h) is written from these tables, so
// the two cannot drift apart.
//
// To add an option: add one row to kOptions in options.cpp (name, argument
// placeholder or "" for a flag, one help line, the commands that take it),
// then read it in the command with args.get("name") / args.has("name").
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace ws::cli {

// One bit per subcommand, so an option row can name several.
enum Command : unsigned {
  kInspect = 1u << 0,
  kLoad = 1u << 1,
  kGenerate = 1u << 2,
  kTokenize = 1u << 3,
  kConvert = 1u << 4,
  kPerplexity = 1u << 5,
};

struct OptionSpec {
  std::string_view name;      // without the leading "--"
  std::string_view argument;  // placeholder shown in help ("N", "FILE"); empty: a flag
  std::string_view help;      // one line (wrapped when printed)
  unsigned commands;          // the Command bits of the subcommands that accept it
  bool takes_value() const { return !argument.empty(); }
};

struct CommandSpec {
  Command command;
  std::string_view name;         // "generate"
  std::string_view positionals;  // "[<model>]", "<model> <out-dir | out.gguf>"
  size_t min_positionals;
  size_t max_positionals;
  std::string_view summary;  // one line for `weightstream --help`
  std::string_view notes;    // what the options alone do not say (may be empty)
};

// Every option row; a name may appear in several rows with disjoint commands
// (a per-command help line).
const std::vector<OptionSpec>& option_table();
const std::vector<CommandSpec>& command_table();

// The row for `--name` in `command`, or nullptr when that command does not take it.
const OptionSpec* find_option(Command command, std::string_view name);
// nullptr for an unknown command name.
const CommandSpec* find_command(std::string_view name);
// The options `command` accepts, in table order.
std::vector<const OptionSpec*> options_of(Command command);

}  // namespace ws::cli
