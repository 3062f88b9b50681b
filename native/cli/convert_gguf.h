// `weightstream convert <model> <out.gguf>`: a GGUF v3 file llama.cpp loads,
// written with bounded memory (header first, then tensors a batch at a time
// through the normal load path) into a temporary file that is renamed over
// `out_path` only when complete.
#pragma once

#include <optional>
#include <string>

#include "core/result.h"
#include "format/format.h"
#include "source/model_source.h"

namespace ws::cli {

// The dtype a tensor of `stored` dtype and row-major `shape` is written in,
// by llama.cpp's rules (convert_hf_to_gguf.py, llama-quant.cpp), which the
// loader's quantize-on-load follows too (Model::parameter_dtype):
//   1-D tensors (norms, biases): F32; no target ("keep"): the stored dtype;
//   a block target: the output head (`output_head`: output.weight, or
//   token_embd.weight when the head is tied to it) at Q6_K unless Q8_0 was
//   asked; K-quant rows that are not whole 256-blocks fall back to Q5_0 (Q4_K),
//   Q5_1 (Q5_K), Q8_0 (Q6_K); rows that are not whole 32-blocks either, F16.
DType gguf_output_dtype(DType stored, const std::vector<uint64_t>& shape, std::optional<DType> target,
                        bool output_head);

// Writes `source` as GGUF at `out_path`. `batch_bytes` bounds the tensor
// bytes held at once (one tensor when a single tensor is larger).
// Errors: InvalidArgument (out_path is the model itself), Unsupported (an
// architecture, tokenizer, tensor or dtype GGUF output does not cover yet:
// for block dtypes, until the loader can quantize), Io, and the source's.
Status convert_to_gguf(ModelSource& source, const std::string& location, const std::string& out_path,
                       std::optional<DType> target, uint64_t batch_bytes);

}  // namespace ws::cli
