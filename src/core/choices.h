// The closed sets a caller chooses from when loading a model: the weight
// dtype, the backend and the device. Every C++ API takes them as these enums;
// text appears only at the edges (the CLI, the Python and JS bindings,
// environment variables), through the parse_* / *_name functions here, the
// one place their spellings live. Installed with the public header
// (weightstream/weightstream.h includes it).
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace ws {

// Which dtype the big (2-D) weights are held in. 1-D parameters (norms,
// biases) are always f32. Keep = whatever the checkpoint stores: F16/BF16 stay
// as they are, GGUF blocks stay blocks where the backend computes on them
// (else F32). The block dtypes quantize every matrix while it streams in
// (see parameter_dtype in model.cpp for the mix: the output head is held at
// Q6_K unless Q8_0 is asked, as llama.cpp does; rows that are not whole
// 256-blocks fall back to a 32-block format).
enum class WeightDType { Keep, F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K };
// "keep", "f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1",
// "q4_k", "q5_k", "q6_k". Errors: InvalidArgument.
Result<WeightDType> parse_weight_dtype(std::string_view text);
const char* weight_dtype_name(WeightDType dtype);  // the spelling parse_weight_dtype takes
// The names parse_weight_dtype accepts, for usage text: "keep, f32, ...".
const char* weight_dtype_names();

// The portable CPU backend, or LibTorch's ATen ops (builds configured with
// -DWS_TORCH=ON; elsewhere asking for it is an Unsupported error at load).
enum class BackendKind { Portable, Torch };
// "portable" / "torch". Errors: InvalidArgument.
Result<BackendKind> parse_backend_kind(std::string_view text);
const char* backend_kind_name(BackendKind kind);

enum class DeviceKind { Cpu, Cuda };
struct ComputeDevice {
  DeviceKind kind = DeviceKind::Cpu;
  int index = 0;  // the CUDA device ordinal
};
// "cpu", "cuda" (= "cuda:0") or "cuda:N". Errors: InvalidArgument.
Result<ComputeDevice> parse_compute_device(std::string_view text);
std::string compute_device_name(const ComputeDevice& device);  // "cpu", "cuda:N"

}  // namespace ws
