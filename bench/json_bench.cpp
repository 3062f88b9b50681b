// Times the JSON entry points on the sizes issue 13 names: a safetensors header
// with 1M tensors and an index with 100k entries (DeepSeek-V3's has ~90k),
// the median (min-max) of --repeat runs each (default 5), plus the process's
// peak RSS. Inputs are generated here; results in bench/RESULTS-json.md.
//   build/native/bench/ws_json_bench [--repeat N]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "format/format.h"

namespace {

// Seconds of every run, sorted.
std::vector<double> timed_runs(int repeat, const std::function<bool()>& run) {
  std::vector<double> seconds;
  for (int i = 0; i < repeat; ++i) {
    const auto start = std::chrono::steady_clock::now();
    if (!run()) std::exit(1);
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  return seconds;
}

std::string spread(const std::vector<double>& s) {
  char text[96];
  std::snprintf(text, sizeof text, "%.3f s (%.3f-%.3f, median of %zu)", s[s.size() / 2], s.front(), s.back(), s.size());
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  int repeat = 5;
  if (argc == 3 && std::strcmp(argv[1], "--repeat") == 0) repeat = std::max(1, std::atoi(argv[2]));

  std::string header = "{";
  for (size_t i = 0; i < 1'000'000; ++i) {
    if (i) header += ',';
    header += "\"model.layers." + std::to_string(i) + ".w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}";
  }
  header += "}";
  const std::vector<double> header_s = timed_runs(repeat, [&] {
    ws::ShardInfo shard;
    std::vector<ws::TensorInfo> tensors;
    ws::Status s = ws::parse_safetensors_header(header, 8 + header.size(), "bench.safetensors", 0, shard, tensors);
    if (!s) std::fprintf(stderr, "%s\n", s.error().to_string().c_str());
    return s.is_ok() && tensors.size() == 1'000'000;
  });
  std::printf("safetensors header, 1000000 tensors, %.1f MB: %s\n", header.size() / 1e6, spread(header_s).c_str());

  std::string index = "{\"metadata\":{\"total_size\":0},\"weight_map\":{";
  for (size_t i = 0; i < 100'000; ++i) {
    if (i) index += ',';
    index += "\"model.layers." + std::to_string(i) + ".mlp.experts.w\":\"model-" + std::to_string(i % 163) +
             "-of-00163.safetensors\"";
  }
  index += "}}";
  const std::vector<double> index_s = timed_runs(repeat, [&] {
    ws::Result<ws::ShardIndex> r = ws::parse_shard_index(index, "model.safetensors.index.json");
    if (!r) std::fprintf(stderr, "%s\n", r.error().to_string().c_str());
    return r.is_ok() && r->weight_map.size() == 100'000;
  });
  std::printf("index, 100000 entries, %.1f MB: %s\n", index.size() / 1e6, spread(index_s).c_str());

  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("peak RSS %.0f MB (the inputs themselves: %.0f MB)\n", usage.ru_maxrss / 1024.0,
              (header.size() + index.size()) / 1e6);
  return header_s[header_s.size() / 2] < 2.0 && index_s[index_s.size() / 2] < 2.0 ? 0 : 1;
}
