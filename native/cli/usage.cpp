#include "cli/usage.h"

#include <vector>

namespace ws::cli {

namespace {

constexpr size_t kWidth = 100;       // wrap help text here
constexpr size_t kHelpColumn = 30;   // where an option's help starts

const char* kModelNote =
    "<model> is a directory (model.safetensors, or model.safetensors.index.json + shards),\n"
    "a single .safetensors or .gguf file, or an http(s) URL of one of these (HF_TOKEN, when set, is\n"
    "sent as a bearer token to huggingface.co or $HF_ENDPOINT's host only).\n";

// `words` joined by spaces and wrapped to kWidth, starting at `column`;
// continuation lines are indented by `indent`. A word is never split.
std::string wrap_words(const std::vector<std::string>& words, size_t column, size_t indent) {
  std::string out;
  bool line_empty = true;
  for (const std::string& word : words) {
    if (!line_empty && column + 1 + word.size() > kWidth) {
      out += "\n" + std::string(indent, ' ');
      column = indent;
      line_empty = true;
    }
    if (!line_empty) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
    line_empty = false;
  }
  return out;
}

std::string wrap(std::string_view text, size_t column, size_t indent) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = text.find(' ', i);
    if (end == std::string_view::npos) end = text.size();
    if (end > i) words.emplace_back(text.substr(i, end - i));
    i = end + 1;
  }
  return wrap_words(words, column, indent);
}

std::string option_label(const OptionSpec& option) {
  std::string label = "--" + std::string(option.name);
  if (option.takes_value()) label += " " + std::string(option.argument);
  return label;
}

const CommandSpec& spec_of(Command command) {
  for (const CommandSpec& spec : command_table()) {
    if (spec.command == command) return spec;
  }
  return command_table().front();  // unreachable: every Command has a row
}

bool opens_model(const CommandSpec& spec) { return spec.positionals.find("<model>") != std::string_view::npos; }

}  // namespace

std::string main_usage() {
  std::string out =
      "usage: weightstream <command> [options]\n"
      "       weightstream <command> --help    every option of a command\n"
      "       weightstream --version\n"
      "\n"
      "commands:\n";
  for (const CommandSpec& spec : command_table()) {
    std::vector<std::string> synopsis = {std::string(spec.name) + " " + std::string(spec.positionals)};
    for (const OptionSpec* option : options_of(spec.command)) synopsis.push_back("[" + option_label(*option) + "]");
    out += "  " + wrap_words(synopsis, 2, 6) + "\n";
    out += "      " + wrap(spec.summary, 6, 6) + "\n";
  }
  out += "\n";
  out += kModelNote;
  return out;
}

std::string command_help(Command command) {
  const CommandSpec& spec = spec_of(command);
  std::string out = "usage: weightstream " + std::string(spec.name) + " " + std::string(spec.positionals) +
                    " [options]\n" + wrap(spec.summary, 0, 0) + "\n\noptions:\n";
  for (const OptionSpec* option : options_of(command)) {
    std::string line = "  " + option_label(*option);
    if (line.size() + 1 < kHelpColumn) {
      line.append(kHelpColumn - line.size(), ' ');
    } else {
      line += "\n" + std::string(kHelpColumn, ' ');
    }
    out += line + wrap(option->help, kHelpColumn, kHelpColumn) + "\n";
  }
  std::string help = "  --help, -h";
  help.append(kHelpColumn - help.size(), ' ');
  out += help + "print this help and exit\n";
  if (!spec.notes.empty()) out += "\n" + std::string(spec.notes) + "\n";
  if (opens_model(spec)) out += std::string("\n") + kModelNote;
  return out;
}

void print_usage_line(Command command, std::FILE* out) {
  const CommandSpec& spec = spec_of(command);
  std::fprintf(out, "usage: weightstream %.*s %.*s [options]   (weightstream %.*s --help lists them)\n",
               static_cast<int>(spec.name.size()), spec.name.data(), static_cast<int>(spec.positionals.size()),
               spec.positionals.data(), static_cast<int>(spec.name.size()), spec.name.data());
}

std::string version_text() { return std::string("weightstream ") + WS_VERSION; }

}  // namespace ws::cli
