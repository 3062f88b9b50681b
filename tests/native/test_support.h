// Helpers for native tests: fixture paths, expected hashes, child processes.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ws::test {

inline std::string fixtures(const std::string& sub) { return std::string(WS_FIXTURES_DIR) + "/" + sub; }

inline nlohmann::json expected_hashes() {
  std::ifstream f(fixtures("safetensors/expected.json"));
  return nlohmann::json::parse(f);
}

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f << bytes;
}

inline std::string temp_dir(const std::string& tag) {
  std::string pattern = "/tmp/ws-" + tag + "-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  return ::mkdtemp(buf.data());
}

// The range server (tests/tools/range_server.py) in a child process.
class RangeServer {
 public:
  explicit RangeServer(const std::string& root, const std::vector<std::string>& options = {}) {
    int out[2];
    if (::pipe(out) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      std::vector<std::string> argv = {WS_PYTHON, std::string(WS_SOURCE_DIR) + "/tests/tools/range_server.py", root};
      argv.insert(argv.end(), options.begin(), options.end());
      std::vector<char*> c;
      for (std::string& a : argv) c.push_back(a.data());
      c.push_back(nullptr);
      ::execv(c[0], c.data());
      ::_exit(127);
    }
    ::close(out[1]);
    FILE* f = ::fdopen(out[0], "r");
    char line[64] = {0};
    if (f && std::fgets(line, sizeof line, f)) std::sscanf(line, "PORT %d", &port_);
    if (f) std::fclose(f);
  }
  ~RangeServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  int port() const { return port_; }
  std::string url(const std::string& path = "") const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/" + path;
  }
  // `path` on this server under another scheme (https with --tls) or host name.
  std::string url_as(const std::string& scheme, const std::string& host, const std::string& path = "") const {
    return scheme + "://" + host + ":" + std::to_string(port_) + "/" + path;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// Runs a command, returns {exit status, stdout}.
inline std::pair<int, std::string> run_command(const std::string& command) {
  FILE* p = ::popen(command.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace ws::test

#include <map>

#include "source/model_source.h"
#include "util/sha256.h"

namespace ws::test {

struct LoadedTensor {
  DType dtype;
  std::string sha256;
};

// Loads every tensor of `location` (converting float tensors to `target` when
// given) and returns each bound buffer's sha256, or the error.
inline Result<std::map<std::string, LoadedTensor>> load_and_hash(const std::string& location,
                                                                  std::optional<DType> target = std::nullopt,
                                                                  uint64_t staging_bytes = 16 << 20,
                                                                  const HttpTransportOptions& http = {},
                                                                  const ParallelFill& readers = default_readers()) {
  WS_ASSIGN_OR_RETURN(std::unique_ptr<ModelSource> source, ModelSource::open(location, http));
  const Checkpoint& checkpoint = source->checkpoint();
  std::vector<HostBuffer> buffers;
  std::vector<ManifestEntry> manifest;
  buffers.reserve(checkpoint.tensors.size());
  for (const TensorInfo& t : checkpoint.tensors) {
    const DType dtype = target && can_convert(t.dtype, *target) ? *target : t.dtype;
    WS_ASSIGN_OR_RETURN(HostBuffer buffer, HostBuffer::allocate(dtype_storage_bytes(dtype, t.numel())));
    buffers.push_back(std::move(buffer));
    manifest.push_back({t.name, dtype, t.shape, &buffers.back(), std::nullopt});
  }
  PlanOptions options;
  options.staging_bytes = staging_bytes;
  WS_ASSIGN_OR_RETURN(LoadPlan plan, plan_load(checkpoint, manifest, options));
  WS_ASSIGN_OR_RETURN(std::unique_ptr<LoadExecutor> executor, LoadExecutor::create(plan, manifest));
  WS_TRY(source->load(*executor, readers));
  std::map<std::string, LoadedTensor> out;
  for (size_t i = 0; i < manifest.size(); ++i) {
    Sha256 hash;
    hash.update(buffers[i].data(), dtype_storage_bytes(manifest[i].dtype, checkpoint.find(manifest[i].name)->numel()));
    out[manifest[i].name] = {manifest[i].dtype, hash.finish_hex()};
  }
  return out;
}

}  // namespace ws::test
