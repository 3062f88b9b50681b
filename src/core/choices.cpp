#include "core/choices.h"

#include <utility>

namespace ws {

namespace {
constexpr std::pair<WeightDType, const char*> kWeightDTypeNames[] = {
    {WeightDType::Keep, "keep"}, {WeightDType::F32, "f32"},   {WeightDType::F16, "f16"},
    {WeightDType::BF16, "bf16"}, {WeightDType::Q8_0, "q8_0"}, {WeightDType::Q4_0, "q4_0"},
    {WeightDType::Q4_1, "q4_1"}, {WeightDType::Q5_0, "q5_0"}, {WeightDType::Q5_1, "q5_1"},
    {WeightDType::Q4_K, "q4_k"}, {WeightDType::Q5_K, "q5_k"}, {WeightDType::Q6_K, "q6_k"},
};
}  // namespace

const char* weight_dtype_names() { return "keep, f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k"; }

const char* weight_dtype_name(WeightDType dtype) {
  for (const auto& [value, name] : kWeightDTypeNames) {
    if (value == dtype) return name;
  }
  return "?";
}

Result<WeightDType> parse_weight_dtype(std::string_view text) {
  for (const auto& [value, name] : kWeightDTypeNames) {
    if (text == name) return value;
  }
  return make_error(ErrorKind::InvalidArgument,
                    "weight dtype \"" + std::string(text) + "\" (expected one of " + weight_dtype_names() + ")");
}

Result<BackendKind> parse_backend_kind(std::string_view text) {
  if (text == "portable") return BackendKind::Portable;
  if (text == "torch") return BackendKind::Torch;
  return make_error(ErrorKind::InvalidArgument, "backend must be portable or torch, got \"" + std::string(text) + "\"");
}

const char* backend_kind_name(BackendKind kind) { return kind == BackendKind::Torch ? "torch" : "portable"; }

Result<ComputeDevice> parse_compute_device(std::string_view text) {
  ComputeDevice device;
  if (text == "cpu") return device;
  device.kind = DeviceKind::Cuda;
  if (text == "cuda") return device;
  if (text.size() > 5 && text.size() <= 8 && text.substr(0, 5) == "cuda:" &&
      text.substr(5).find_first_not_of("0123456789") == std::string_view::npos) {
    device.index = std::stoi(std::string(text.substr(5)));
    return device;
  }
  return make_error(ErrorKind::InvalidArgument, "device must be cpu, cuda or cuda:N, got \"" + std::string(text) + "\"");
}

std::string compute_device_name(const ComputeDevice& device) {
  return device.kind == DeviceKind::Cuda ? "cuda:" + std::to_string(device.index) : "cpu";
}

}  // namespace ws
