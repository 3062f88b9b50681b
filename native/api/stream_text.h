// Generation with text out: runs generate() and turns each id into the text
// it completes as soon as it is sampled (StreamDecoder), so a caller can
// print the answer while it is being written. Shared by the CLI's generate
// command and the library.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/result.h"
#include "generate/generate.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace ws {

// Called once per generated token with its text (possibly empty), then once
// with the text the decoder still held back when that is not empty. Return
// false to stop generating (the return value of the last call is ignored).
using PieceCallback = std::function<bool(const std::string& piece)>;

struct TextGeneration {
  GenerateResult result;
  std::string text;  // every piece, concatenated
};

// `tokenizer` may be null: each id is then written as its decimal number,
// space-separated. An id in options.eos_token_ids adds no text (an
// end-of-turn marker is not part of the answer). Errors: generate()'s.
Result<TextGeneration> generate_text(Model& model, const Tokenizer* tokenizer, const std::vector<int32_t>& prompt,
                                     const GenerateOptions& options, const PieceCallback& on_piece);

}  // namespace ws
