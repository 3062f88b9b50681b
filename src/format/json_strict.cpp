#include "format/json_strict.h"

#include <set>
#include <vector>

namespace ws::detail {

Result<nlohmann::json> parse_json_strict(std::string_view text, ErrorKind kind, const std::string& what) {
  using json = nlohmann::json;
  std::vector<std::set<std::string>> keys_per_object;
  std::string duplicate;
  auto watch_keys = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start: keys_per_object.emplace_back(); break;
      case json::parse_event_t::object_end:
        if (!keys_per_object.empty()) keys_per_object.pop_back();
        break;
      case json::parse_event_t::key:
        if (!keys_per_object.empty() && duplicate.empty() &&
            !keys_per_object.back().insert(parsed.get_ref<const std::string&>()).second) {
          duplicate = parsed.get_ref<const std::string&>();
        }
        break;
      default: break;
    }
    return true;
  };
  json value = json::parse(text.begin(), text.end(), watch_keys, /*allow_exceptions=*/false);
  if (value.is_discarded()) return make_error(kind, what + " is not valid JSON");
  if (!duplicate.empty()) return make_error(kind, what + " has the key \"" + duplicate + "\" twice");
  return value;
}

}  // namespace ws::detail
