#include "format/format.h"

namespace ws {

namespace {
struct DTypeRow {
  DType dtype;
  const char* name;
  size_t size;
  bool is_float;
};
constexpr DTypeRow kDTypes[] = {
    {DType::F64, "F64", 8, true},         {DType::F32, "F32", 4, true},
    {DType::F16, "F16", 2, true},         {DType::BF16, "BF16", 2, true},
    {DType::I64, "I64", 8, false},        {DType::I32, "I32", 4, false},
    {DType::I16, "I16", 2, false},        {DType::I8, "I8", 1, false},
    {DType::U8, "U8", 1, false},          {DType::BOOL, "BOOL", 1, false},
    {DType::F8_E4M3, "F8_E4M3", 1, true}, {DType::F8_E5M2, "F8_E5M2", 1, true},
    {DType::U16, "U16", 2, false},        {DType::U32, "U32", 4, false},
    {DType::U64, "U64", 8, false},
};
const DTypeRow& row(DType dtype) { return kDTypes[static_cast<size_t>(dtype)]; }
}  // namespace

size_t dtype_size(DType dtype) { return row(dtype).size; }
const char* dtype_name(DType dtype) { return row(dtype).name; }
bool dtype_is_float(DType dtype) { return row(dtype).is_float; }

Result<DType> parse_dtype(std::string_view name) {
  for (const DTypeRow& r : kDTypes) {
    if (name == r.name) return r.dtype;
  }
  return make_error(ErrorKind::InvalidHeader, "unknown dtype \"" + std::string(name) + "\"");
}

}  // namespace ws
