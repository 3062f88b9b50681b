// Times the JSON entry points on the sizes issue 13 names: a safetensors header
// with 1M tensors and an index with 100k entries (DeepSeek-V3's has ~90k),
// best of --repeat runs each, plus the process's peak RSS. Inputs are
// generated here; results in bench/RESULTS-json.md.
//   build/native/bench/ws_json_bench [--repeat N]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>

#include "format/format.h"

namespace {

double best_seconds(int repeat, const std::function<bool()>& run) {
  double best = 1e30;
  for (int i = 0; i < repeat; ++i) {
    const auto start = std::chrono::steady_clock::now();
    if (!run()) std::exit(1);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int repeat = 3;
  if (argc == 3 && std::strcmp(argv[1], "--repeat") == 0) repeat = std::atoi(argv[2]);

  std::string header = "{";
  for (size_t i = 0; i < 1'000'000; ++i) {
    if (i) header += ',';
    header += "\"model.layers." + std::to_string(i) + ".w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}";
  }
  header += "}";
  const double header_s = best_seconds(repeat, [&] {
    ws::ShardInfo shard;
    std::vector<ws::TensorInfo> tensors;
    ws::Status s = ws::parse_safetensors_header(header, 8 + header.size(), "bench.safetensors", 0, shard, tensors);
    if (!s) std::fprintf(stderr, "%s\n", s.error().to_string().c_str());
    return s.is_ok() && tensors.size() == 1'000'000;
  });
  std::printf("safetensors header, 1000000 tensors, %.1f MB: %.3f s (best of %d)\n", header.size() / 1e6, header_s, repeat);

  std::string index = "{\"metadata\":{\"total_size\":0},\"weight_map\":{";
  for (size_t i = 0; i < 100'000; ++i) {
    if (i) index += ',';
    index += "\"model.layers." + std::to_string(i) + ".mlp.experts.w\":\"model-" + std::to_string(i % 163) +
             "-of-00163.safetensors\"";
  }
  index += "}}";
  const double index_s = best_seconds(repeat, [&] {
    ws::Result<ws::ShardIndex> r = ws::parse_shard_index(index, "model.safetensors.index.json");
    if (!r) std::fprintf(stderr, "%s\n", r.error().to_string().c_str());
    return r.is_ok() && r->weight_map.size() == 100'000;
  });
  std::printf("index, 100000 entries, %.1f MB: %.3f s (best of %d)\n", index.size() / 1e6, index_s, repeat);

  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("peak RSS %.0f MB (the inputs themselves: %.0f MB)\n", usage.ru_maxrss / 1024.0,
              (header.size() + index.size()) / 1e6);
  return header_s < 2.0 && index_s < 2.0 ? 0 : 1;
}
