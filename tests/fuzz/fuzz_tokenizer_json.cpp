// Fuzzes tokenizer.json parsing; a tokenizer that parses must then encode,
// decode and stream-decode arbitrary text (taken from the input's tail)
// without crashing or touching memory it should not, and the streamed pieces
// must add up to the whole decode (a Strip of several leading spaces once broke
// that: tests/tokenizer/stream_decoder_test.cpp keeps the case).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // "<json>\x00<text>": the text after the first NUL is what gets encoded.
  const size_t split = input.find('\0');
  std::string_view json = input.substr(0, split);
  std::string_view text = split == std::string_view::npos ? "Hello world 123 ☃" : input.substr(split + 1);
  ws::Result<ws::Tokenizer> tokenizer = ws::Tokenizer::from_json(json);
  if (!tokenizer) return 0;
  const std::vector<int32_t> ids = tokenizer->encode(text, /*add_special_tokens=*/true);
  const std::string whole = tokenizer->decode(ids);
  ws::StreamDecoder stream(*tokenizer);
  std::string streamed;
  for (int32_t id : ids) streamed += stream.push(id);
  streamed += stream.flush();
  if (streamed != whole && tokenizer->streams_exactly()) __builtin_trap();
  return 0;
}
