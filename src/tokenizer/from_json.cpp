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
  data->finish();
  return Tokenizer(std::move(data));
}

}  // namespace ws
