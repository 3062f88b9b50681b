// Fuzzes the one JSON entry point every file we read goes through
// (format/json_strict.h): whatever the input, parsing ends in a value or a
// typed error, both entry points agree on what they accept, and a parsed
// value can be copied and printed (nlohmann recurses on both: the depth bound
// is what keeps them off the stack limit).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "format/json_strict.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ws::Result<nlohmann::json> value = ws::detail::parse_json_strict(text, ws::ErrorKind::InvalidConfig, "fuzz.json");
  size_t members = 0;
  ws::Status streamed = ws::detail::parse_json_object_members(
      text, ws::ErrorKind::InvalidConfig, "fuzz.json", [&](std::string, nlohmann::json member) -> ws::Status {
        ++members;
        nlohmann::json copy = member;
        (void)ws::detail::dump_json(copy);
        return ws::Status::ok();
      });
  if (value.is_ok()) {
    const nlohmann::json copy = *value;
    const std::string printed = ws::detail::dump_json(copy, 1);
    // What parses as an object streams, member for member.
    if (value->is_object() && (!streamed.is_ok() || members != value->size())) std::abort();
    // Our own output parses again (invalid UTF-8 cannot come from parsed JSON).
    if (!ws::detail::parse_json_strict(printed, ws::ErrorKind::InvalidConfig, "again").is_ok()) std::abort();
  } else if (streamed.is_ok()) {
    std::abort();  // the streaming entry point accepted what the other refused
  }
  return 0;
}
