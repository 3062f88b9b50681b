// Tokenizer::from_gpt2_files: OpenAI's encoder.json + vocab.bpe, the layout
// transformers' GPT2TokenizerFast builds from them.
#include "tokenizer/json_loader.h"
#include "tokenizer/pipeline.h"
#include "tokenizer/tokenizer.h"

namespace ws {

Result<Tokenizer> Tokenizer::from_gpt2_files(std::string_view vocab_json, std::string_view merges_txt) {
  using namespace tokenizer_detail;
  WS_ASSIGN_OR_RETURN(Json vocab_object, parse_json_object(vocab_json, "vocab.json"));
  std::unordered_map<std::string, int32_t> vocab;
  vocab.reserve(vocab_object.size());
  for (const auto& [token, id_json] : vocab_object.items()) {
    std::optional<int32_t> id = as_id(id_json);
    if (!id) return make_error(ErrorKind::InvalidConfig, "vocab.json: '" + token + "': expected an id in [0, 2^31)");
    vocab.emplace(token, *id);
  }

  // merges.txt: an optional "#version" line, then "left right" per line.
  std::vector<std::pair<std::string, std::string>> merges;
  size_t line_number = 0;
  size_t pos = 0;
  while (pos < merges_txt.size()) {
    size_t end = merges_txt.find('\n', pos);
    if (end == std::string_view::npos) end = merges_txt.size();
    std::string_view line = merges_txt.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || (line_number == 1 && line.substr(0, 8) == "#version")) continue;
    size_t space = line.find(' ');
    if (space == std::string_view::npos || line.find(' ', space + 1) != std::string_view::npos) {
      return make_error(ErrorKind::InvalidConfig, "merges.txt line " + std::to_string(line_number) +
                                                      ": expected \"left right\", found \"" + std::string(line) + "\"");
    }
    merges.emplace_back(std::string(line.substr(0, space)), std::string(line.substr(space + 1)));
  }

  auto data = std::make_shared<TokenizerData>();
  auto model = BpeModel::build(std::move(vocab), merges, BpeOptions{});
  if (!model) return make_error(model.error().kind, "vocab.json + merges.txt: " + model.error().message);
  data->model.bpe = std::move(model).value();
  PreTokenizerStep byte_level{};
  byte_level.kind = PreTokenizerKind::ByteLevel;
  byte_level.add_prefix_space = false;
  byte_level.use_regex = true;
  data->pre_tokenizers.push_back(byte_level);
  data->has_decoder = true;
  DecoderStep decoder{};
  decoder.kind = DecoderKind::ByteLevel;
  data->decoders.push_back(decoder);
  if (auto eot = data->model.find("<|endoftext|>")) {
    data->added_tokens.push_back(AddedToken{"<|endoftext|>", *eot, /*special=*/true, false, false, false,
                                            /*normalized=*/false});
  }
  data->finish();
  return Tokenizer(std::move(data));
}

}  // namespace ws
