// What `weightstream convert ... out.gguf` writes besides tensor bytes: the
// GGUF metadata llama.cpp reads (architecture hyper-parameters, tokenizer) and
// which checkpoint tensor becomes which llama.cpp tensor, with how its rows
// must be rearranged. The inverse of src/format/gguf_config.cpp,
// gguf_tokenizer.cpp and gguf_names.cpp (which read GGUF), written after
// llama.cpp's convert_hf_to_gguf.py.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "format/gguf_writer.h"
#include "model/model.h"

namespace ws::cli {

using GgufMetadata = std::vector<std::pair<std::string, GgufValue>>;

// general.* and <arch>.* keys for the model `config.json` describes
// (gpt2 -> "gpt2"; llama, mistral -> "llama"; qwen2 -> "qwen2").
// Errors: Unsupported (a rope scaling llama.cpp takes as a tensor, llama3),
// InvalidConfig (from parse_model_config).
Result<GgufMetadata> gguf_model_metadata(std::string_view config_json, const std::string& model_name);

// tokenizer.ggml.* and tokenizer.chat_template from tokenizer.json (BPE:
// byte-level -> "gpt2", byte-fallback SentencePiece style -> "llama") and
// tokenizer_config.json (may be empty). The token list is padded to the
// model's vocab_size with "[PAD<i>]" tokens of type UNUSED, as
// convert_hf_to_gguf.py does. Errors: Unsupported (another tokenizer model,
// a pre-tokenizer llama.cpp has no name for), InvalidConfig (malformed JSON,
// more tokens than vocab_size).
Result<GgufMetadata> gguf_tokenizer_metadata(std::string_view tokenizer_json, std::string_view tokenizer_config_json,
                                             const ModelConfig& config);

// How a tensor's rows go from the checkpoint (Hugging Face layout) to GGUF.
enum class GgufRows {
  Same,
  InterleaveHeads,  // llama q/k: each head's two rotary halves interleaved (LlamaModel.permute)
  Transpose,        // GPT-2 Conv1D weights ([in, out] -> [out, in])
};

struct GgufTensorMapping {
  std::string gguf_name;
  const TensorInfo* source;     // the checkpoint tensor (not owned)
  GgufRows rows = GgufRows::Same;
  uint64_t heads = 0;           // InterleaveHeads: heads in the tensor's rows
  std::vector<uint64_t> shape;  // in the GGUF file, row-major
};

// Every tensor of `checkpoint` that llama.cpp wants, in checkpoint order, with
// its llama.cpp name; buffers llama.cpp does not take (GPT-2 attn.bias, rotary
// inv_freq, a tied lm_head) are left out. Errors: Unsupported naming every
// tensor that has no llama.cpp name.
Result<std::vector<GgufTensorMapping>> gguf_tensor_mappings(const ModelConfig& config, const Checkpoint& checkpoint);

// The ggml file type llama.cpp reports (general.file_type, llama_ftype) for a
// file whose big matrices are `dtype`.
uint32_t gguf_file_type(DType dtype);

}  // namespace ws::cli
