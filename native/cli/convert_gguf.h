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

// The dtype a tensor of `stored` dtype and row-major `shape` is written in:
// 1-D tensors (norms, biases) as F32, as llama.cpp wants them; with no target
// ("keep") the stored dtype; a block target for a matrix whose rows are not
// whole blocks, F16 (as llama-quantize falls back).
DType gguf_output_dtype(DType stored, const std::vector<uint64_t>& shape, std::optional<DType> target);

// Writes `source` as GGUF at `out_path`. `batch_bytes` bounds the tensor
// bytes held at once (one tensor when a single tensor is larger).
// Errors: InvalidArgument (out_path is the model itself), Unsupported (an
// architecture, tokenizer, tensor or dtype GGUF output does not cover yet:
// for block dtypes, until the loader can quantize), Io, and the source's.
Status convert_to_gguf(ModelSource& source, const std::string& location, const std::string& out_path,
                       std::optional<DType> target, uint64_t batch_bytes);

}  // namespace ws::cli
