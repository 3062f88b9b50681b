#include "api/stream_text.h"

#include <string>

#include "generate/generator.h"

namespace ws {

Result<TextGeneration> generate_text(Model& model, const Tokenizer* tokenizer, const std::vector<int32_t>& prompt,
                                     const GenerateOptions& options, const PieceCallback& on_piece) {
  TextGeneration out;
  WS_ASSIGN_OR_RETURN(Generator generator, Generator::start(model, prompt, options, tokenizer));
  for (;;) {
    WS_ASSIGN_OR_RETURN(std::optional<int32_t> id, generator.step());
    // Without a tokenizer each id is written as its decimal number.
    const std::string piece = tokenizer || !id ? generator.piece() : (out.text.empty() ? "" : " ") + std::to_string(*id);
    out.text += piece;
    if (!id) {
      if (on_piece && !piece.empty()) on_piece(piece);
      break;
    }
    if (on_piece && !on_piece(piece)) generator.stop();
  }
  out.result = generator.result();
  return out;
}

}  // namespace ws
