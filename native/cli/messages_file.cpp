#include "cli/messages_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "generate/chat.h"

namespace ws::cli {

Result<nlohmann::ordered_json> read_messages(const std::string& path) {
  FILE* file = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (!file) {
    return make_error(errno == ENOENT ? ErrorKind::NotFound : ErrorKind::Io,
                      "--messages " + path + ": " + std::strerror(errno));
  }
  std::string text;
  char buffer[65536];
  size_t n;
  // A conversation is small; a 64 MiB cap keeps a wrong path (a model file) from filling memory.
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0 && text.size() < (64u << 20)) text.append(buffer, n);
  const bool failed = std::ferror(file);
  if (file != stdin) std::fclose(file);
  if (failed) return make_error(ErrorKind::Io, "--messages " + path + ": read failed");
  if (text.size() >= (64u << 20)) return make_error(ErrorKind::OutOfBudget, "--messages " + path + ": larger than 64 MiB");
  return parse_chat_messages(text, "--messages " + path);
}

}  // namespace ws::cli
