// Tokenizer load time and encode throughput (bench/RESULTS-tokenizer.md):
//   ws_tokenizer_bench TOKENIZER_JSON CORPUS_TXT [REPEAT]
// CORPUS_TXT holds documents separated by a line "\x1e" (record separator);
// each document is encoded on its own, one thread, `REPEAT` passes (default 5).
// Prints one JSON line: load_s (read + parse) and encode_s, medians with min and
// max over REPEAT runs, encode_mb_s (from the median), tokens.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace {

std::string read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s TOKENIZER_JSON CORPUS_TXT [REPEAT]\n", argv[0]);
    return 2;
  }
  const int repeat = argc > 3 ? std::max(1, std::atoi(argv[3])) : 5;
  std::vector<double> loads;
  std::optional<ws::Tokenizer> tokenizer;
  for (int i = 0; i < repeat; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const std::string json = read_file(argv[1]);
    ws::Result<ws::Tokenizer> loaded = ws::Tokenizer::from_json(json);
    const double took = seconds_since(start);
    if (!loaded) {
      std::fprintf(stderr, "%s\n", loaded.error().to_string().c_str());
      return 1;
    }
    loads.push_back(took);
    tokenizer = std::move(loaded).value();
  }
  const std::string corpus = read_file(argv[2]);
  std::vector<std::string> documents;
  size_t begin = 0, bytes = 0;
  while (begin <= corpus.size()) {
    size_t end = corpus.find("\n\x1e\n", begin);
    if (end == std::string::npos) end = corpus.size();
    documents.push_back(corpus.substr(begin, end - begin));
    bytes += end - begin;
    begin = end + 3;
  }
  std::vector<double> encodes;
  size_t tokens = 0;
  for (int pass = 0; pass < repeat; ++pass) {
    tokens = 0;
    const auto start = std::chrono::steady_clock::now();
    for (const std::string& document : documents) tokens += tokenizer->encode(document).size();
    encodes.push_back(seconds_since(start));
  }
  std::sort(loads.begin(), loads.end());
  std::sort(encodes.begin(), encodes.end());
  const double load_s = loads[loads.size() / 2], encode_s = encodes[encodes.size() / 2];
  std::printf("{\"load_s\": %.4f, \"load_s_min\": %.4f, \"load_s_max\": %.4f, \"encode_s\": %.4f, "
              "\"encode_s_min\": %.4f, \"encode_s_max\": %.4f, \"encode_mb_s\": %.3f, \"bytes\": %zu, "
              "\"documents\": %zu, \"tokens\": %zu, \"runs\": %d}\n",
              load_s, loads.front(), loads.back(), encode_s, encodes.front(), encodes.back(), bytes / 1e6 / encode_s,
              bytes, documents.size(), tokens, repeat);
  return 0;
}
