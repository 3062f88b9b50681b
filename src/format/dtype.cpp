#include "format/format.h"

namespace ws {

namespace {
struct DTypeRow {
  DType dtype;
  const char* name;
  size_t block_bytes;
  uint64_t block_elements;
  bool is_float;
  bool safetensors;  // a dtype of the safetensors spec
};
// Block geometry of the ggml types from ggml-common.h (block_q4_0 etc.).
constexpr DTypeRow kDTypes[] = {
    {DType::F64, "F64", 8, 1, true, true},         {DType::F32, "F32", 4, 1, true, true},
    {DType::F16, "F16", 2, 1, true, true},         {DType::BF16, "BF16", 2, 1, true, true},
    {DType::I64, "I64", 8, 1, false, true},        {DType::I32, "I32", 4, 1, false, true},
    {DType::I16, "I16", 2, 1, false, true},        {DType::I8, "I8", 1, 1, false, true},
    {DType::U8, "U8", 1, 1, false, true},          {DType::BOOL, "BOOL", 1, 1, false, true},
    {DType::F8_E4M3, "F8_E4M3", 1, 1, true, true}, {DType::F8_E5M2, "F8_E5M2", 1, 1, true, true},
    {DType::U16, "U16", 2, 1, false, true},        {DType::U32, "U32", 4, 1, false, true},
    {DType::U64, "U64", 8, 1, false, true},
    {DType::Q4_0, "Q4_0", 18, 32, false, false},   {DType::Q4_1, "Q4_1", 20, 32, false, false},
    {DType::Q5_0, "Q5_0", 22, 32, false, false},   {DType::Q5_1, "Q5_1", 24, 32, false, false},
    {DType::Q8_0, "Q8_0", 34, 32, false, false},   {DType::Q4_K, "Q4_K", 144, 256, false, false},
    {DType::Q6_K, "Q6_K", 210, 256, false, false}, {DType::Q5_K, "Q5_K", 176, 256, false, false},
};
static_assert(sizeof(kDTypes) / sizeof(kDTypes[0]) == static_cast<size_t>(DType::Q5_K) + 1,
              "one row per dtype, in enum order");
const DTypeRow& row(DType dtype) { return kDTypes[static_cast<size_t>(dtype)]; }
}  // namespace

size_t dtype_size(DType dtype) { return row(dtype).block_bytes; }
uint64_t dtype_block_elements(DType dtype) { return row(dtype).block_elements; }
uint64_t dtype_block_bytes(DType dtype) { return row(dtype).block_bytes; }
uint64_t dtype_storage_bytes(DType dtype, uint64_t numel) {
  return numel / row(dtype).block_elements * row(dtype).block_bytes;
}
bool dtype_is_quantized(DType dtype) { return row(dtype).block_elements > 1; }
const char* dtype_name(DType dtype) { return row(dtype).name; }
bool dtype_is_float(DType dtype) { return row(dtype).is_float; }

Result<DType> parse_dtype(std::string_view name) {
  for (const DTypeRow& r : kDTypes) {
    if (r.safetensors && name == r.name) return r.dtype;
  }
  return make_error(ErrorKind::InvalidHeader, "unknown dtype \"" + std::string(name) + "\"");
}

}  // namespace ws
