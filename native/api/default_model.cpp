// The built-in default model (ws::default_model_location in the public header).
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "weightstream/weightstream.h"

namespace ws {

namespace {
const char* kDefaultModelFile = "SmolLM2-135M-Instruct.Q4_1.gguf";
}

// $WEIGHTSTREAM_MODEL, else the SmolLM2 GGUF that .ci/setup.d/30-smollm2.sh
// puts in build/models/, found next to the running binary
// (build/<preset>/weightstream -> build/models/).
Result<std::string> default_model_location() {
  if (const char* env = std::getenv("WEIGHTSTREAM_MODEL"); env && *env) return std::string(env);
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  std::string dir = n > 0 ? std::string(exe, static_cast<size_t>(n)) : std::string();
  dir = dir.substr(0, dir.rfind('/'));
  for (const std::string& candidate : {dir + "/../models/" + kDefaultModelFile, dir + "/models/" + kDefaultModelFile}) {
    if (::access(candidate.c_str(), R_OK) == 0) return candidate;
  }
  return make_error(ErrorKind::NotFound, std::string("no model given and the default (") + kDefaultModelFile +
                                             ") is not installed: run bash .ci/setup.d/30-smollm2.sh, or set "
                                             "WEIGHTSTREAM_MODEL");
}

}  // namespace ws
