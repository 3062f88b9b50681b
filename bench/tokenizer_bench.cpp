// Tokenizer load time and encode throughput (bench/RESULTS-tokenizer.md):
//   ws_tokenizer_bench TOKENIZER_JSON CORPUS_TXT [REPEAT]
// CORPUS_TXT holds documents separated by a line "\x1e" (record separator);
// each document is encoded on its own, one thread, `REPEAT` passes, best taken.
// Prints one JSON line: load_s (read + parse, best of 3), encode_mb_s, tokens.
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
  const int repeat = argc > 3 ? std::atoi(argv[3]) : 3;
  double load_s = 1e30;
  std::optional<ws::Tokenizer> tokenizer;
  for (int i = 0; i < 3; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const std::string json = read_file(argv[1]);
    ws::Result<ws::Tokenizer> loaded = ws::Tokenizer::from_json(json);
    const double took = seconds_since(start);
    if (!loaded) {
      std::fprintf(stderr, "%s\n", loaded.error().to_string().c_str());
      return 1;
    }
    load_s = std::min(load_s, took);
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
  double encode_s = 1e30;
  size_t tokens = 0;
  for (int pass = 0; pass < repeat; ++pass) {
    tokens = 0;
    const auto start = std::chrono::steady_clock::now();
    for (const std::string& document : documents) tokens += tokenizer->encode(document).size();
    encode_s = std::min(encode_s, seconds_since(start));
  }
  std::printf("{\"load_s\": %.4f, \"encode_s\": %.4f, \"encode_mb_s\": %.3f, \"bytes\": %zu, \"documents\": %zu, "
              "\"tokens\": %zu}\n",
              load_s, encode_s, bytes / 1e6 / encode_s, bytes, documents.size(), tokens);
  return 0;
}
