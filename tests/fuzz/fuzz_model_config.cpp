// Fuzzes config.json -> architecture: any accepted config must give sizes the
// manifest can be built from without overflow (checked by the parser).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "model/model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view json(reinterpret_cast<const char*>(data), size);
  (void)ws::parse_model_config(json);
  return 0;
}
