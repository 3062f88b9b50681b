// The CLI's option table (native/cli/options.h) against what the binary does:
// every subcommand's --help exits 0 and lists exactly the options the table
// gives it, the binary accepts each of them, --version is the CMake project
// version, and exit statuses: 2 for command-line errors, 1 for run time.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>
#include <vector>

#include "cli/options.h"
#include "native/test_support.h"

namespace ws::test {
namespace {

using cli::CommandSpec;
using cli::OptionSpec;

std::string cli() { return std::string(WS_CLI); }

// The option names a help text lists: lines starting "  --name".
std::set<std::string> listed_options(const std::string& help) {
  std::set<std::string> names;
  static const std::regex kLine(R"(^  --([a-z0-9][a-z0-9-]*))");
  std::istringstream in(help);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_search(line, m, kLine) && m[1] != "help") names.insert(m[1]);
  }
  return names;
}

std::set<std::string> table_options(cli::Command command) {
  std::set<std::string> names;
  for (const OptionSpec* option : cli::options_of(command)) names.insert(std::string(option->name));
  return names;
}

TEST(CliOptions, EveryCommandHelpListsItsTableOptionsAndExitsZero) {
  ASSERT_EQ(cli::command_table().size(), 6u);
  for (const CommandSpec& spec : cli::command_table()) {
    const std::string name(spec.name);
    for (const char* flag : {"--help", "-h"}) {
      auto [status, out] = run_command(cli() + " " + name + " " + flag + " 2>/dev/null");
      EXPECT_EQ(status, 0) << name << " " << flag;
      EXPECT_EQ(out.rfind("usage: weightstream " + name, 0), 0u) << out;
      EXPECT_EQ(listed_options(out), table_options(spec.command)) << name;
    }
  }
}

// The parser takes each option the table gives a command (--help stops it
// after that option, so nothing loads); one it does not give is exit 2.
TEST(CliOptions, TheBinaryAcceptsExactlyTheTableOptions) {
  std::set<std::string> every;
  for (const OptionSpec& option : cli::option_table()) every.insert(std::string(option.name));
  for (const CommandSpec& spec : cli::command_table()) {
    const std::set<std::string> own = table_options(spec.command);
    for (const std::string& name : every) {
      const OptionSpec* option = cli::find_option(spec.command, name);
      const bool flag = option ? !option->takes_value() : false;
      const std::string arg = " --" + name + (flag || !option ? "" : " 1");
      auto [status, out] = run_command(cli() + " " + std::string(spec.name) + arg + " --help 2>&1");
      EXPECT_EQ(status, own.count(name) ? 0 : 2) << spec.name << arg << ": " << out;
    }
  }
}

TEST(CliOptions, NoOptionIsDeclaredTwiceForOneCommand) {
  for (const CommandSpec& spec : cli::command_table()) {
    std::set<std::string> seen;
    for (const OptionSpec* option : cli::options_of(spec.command)) {
      EXPECT_TRUE(seen.insert(std::string(option->name)).second) << spec.name << " --" << option->name;
      EXPECT_FALSE(option->help.empty()) << option->name;
    }
  }
}

TEST(CliOptions, MainHelpNamesEveryCommandAndOption) {
  auto [status, out] = run_command(cli() + " --help");
  EXPECT_EQ(status, 0);
  for (const OptionSpec& option : cli::option_table()) {
    EXPECT_NE(out.find("[--" + std::string(option.name)), std::string::npos) << option.name;
  }
  for (const CommandSpec& spec : cli::command_table()) {
    EXPECT_NE(out.find("\n  " + std::string(spec.name) + " "), std::string::npos) << spec.name;
  }
  EXPECT_EQ(run_command(cli() + " 2>/dev/null").first, 2);  // no command: usage on stderr
}

TEST(CliOptions, VersionIsTheCMakeProjectVersion) {
  auto [status, out] = run_command(cli() + " --version");
  EXPECT_EQ(status, 0);
  EXPECT_EQ(out, std::string("weightstream ") + WS_PROJECT_VERSION + "\n");
}

TEST(CliOptions, CommandLineErrorsExitTwo) {
  const std::string model = fixtures("safetensors/single");
  for (const std::string& args : std::vector<std::string>{"load " + model + " --bogus", "load", "load " + model + " --json=1",
                                  "load " + model + " --dtype", "load " + model + " --dtype f8",
                                  "inspect " + model + " " + model, "generate " + model + " --top-p x",
                                  "tokenize " + model + " --text a --messages m.json", "convert " + model,
                                  "perplexity " + model, "inspect " + model + " --header NoColon"}) {
    auto [status, out] = run_command(cli() + " " + args + " 2>&1");
    EXPECT_EQ(status, 2) << args << ": " << out;
    EXPECT_NE(out.find("usage: weightstream "), std::string::npos) << out;
  }
}

}  // namespace
}  // namespace ws::test
