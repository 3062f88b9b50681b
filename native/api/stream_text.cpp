#include "api/stream_text.h"

#include <algorithm>
#include <optional>

namespace ws {

Result<TextGeneration> generate_text(Model& model, const Tokenizer* tokenizer, const std::vector<int32_t>& prompt,
                                     const GenerateOptions& options, const PieceCallback& on_piece) {
  TextGeneration out;
  std::optional<StreamDecoder> decoder;
  if (tokenizer) decoder.emplace(*tokenizer);
  auto on_token = [&](int32_t id) {
    std::string piece;
    if (decoder) {
      const bool stops = std::find(options.eos_token_ids.begin(), options.eos_token_ids.end(), id) !=
                         options.eos_token_ids.end();
      if (!stops) piece = decoder->push(id);
    } else {
      piece = (out.text.empty() ? "" : " ") + std::to_string(id);
    }
    out.text += piece;
    return on_piece ? on_piece(piece) : true;
  };
  WS_ASSIGN_OR_RETURN(out.result, generate(model, prompt, options, on_token));
  if (decoder) {
    const std::string rest = decoder->flush();
    out.text += rest;
    if (on_piece && !rest.empty()) on_piece(rest);
  }
  return out;
}

}  // namespace ws
