// The 2x baseline this project exists to remove: read each shard whole into a
// temporary buffer, then copy every tensor out of it into its own buffer.
// usage: ws_naive_load <dir with model.safetensors.index.json or model.safetensors>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "source/memory_stats.h"
#include "source/model_source.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  // The same baseline as `weightstream load --json`: RSS once the process has started.
  const uint64_t rss_before = ws::current_rss_bytes();
  const auto start = std::chrono::steady_clock::now();
  auto source = ws::ModelSource::open(argv[1]);
  if (!source) {
    std::fprintf(stderr, "%s\n", source.error().to_string().c_str());
    return 1;
  }
  const ws::Checkpoint& checkpoint = (*source)->checkpoint();
  std::vector<std::vector<uint8_t>> tensors;
  uint64_t bound = 0;
  for (size_t s = 0; s < checkpoint.shards.size(); ++s) {
    const std::string path = std::string(argv[1]) + "/" + checkpoint.shards[s].file_name;
    std::ifstream file(path, std::ios::binary);
    std::vector<uint8_t> whole(checkpoint.shards[s].file_bytes);  // the temporary copy
    file.read(reinterpret_cast<char*>(whole.data()), static_cast<std::streamsize>(whole.size()));
    for (const ws::TensorInfo& t : checkpoint.tensors) {
      if (t.shard != s) continue;
      tensors.emplace_back(whole.begin() + t.begin, whole.begin() + t.end);
      bound += t.bytes();
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("{\"bound_bytes\": %llu, \"peak_rss_bytes\": %llu, \"rss_before_bytes\": %llu, \"seconds\": %.4f}\n",
              (unsigned long long)bound, (unsigned long long)ws::peak_rss_bytes(), (unsigned long long)rss_before,
              seconds);
  return 0;
}
