// Tokenizer::from_json: tokenizer.json -> TokenizerData, stage by stage.
#include "tokenizer/json_loader.h"
#include "tokenizer/pipeline.h"
#include "tokenizer/tokenizer.h"

namespace ws {

Result<Tokenizer> Tokenizer::from_json(std::string_view tokenizer_json) {
  using namespace tokenizer_detail;
  WS_ASSIGN_OR_RETURN(Json root, parse_json_object(tokenizer_json, "tokenizer.json"));
  auto data = std::make_shared<TokenizerData>();
  WS_TRY(load_bpe_model(root, data.get()));
  WS_TRY(load_added_tokens(root, data.get()));
  WS_TRY(load_normalizer(root, data.get()));
  WS_TRY(load_pre_tokenizer(root, data.get()));
  WS_TRY(load_post_processor(root, data.get()));
  WS_TRY(load_decoder(root, data.get()));
  // Ids index dense tables: refuse ids far beyond the number of tokens (a
  // corrupt or hostile file would otherwise make us allocate gigabytes).
  size_t largest = data->model.id_limit(), count = data->model.vocab().size() + data->added_tokens.size();
  for (const auto& token : data->added_tokens) largest = std::max(largest, static_cast<size_t>(token.id) + 1);
  if (largest > 2 * count + (1u << 16)) {
    return make_error(ErrorKind::InvalidConfig, "tokenizer.json: token id " + std::to_string(largest - 1) +
                                                    " is far beyond its " + std::to_string(count) + " tokens");
  }
  data->finish();
  return Tokenizer(std::move(data));
}

}  // namespace ws
