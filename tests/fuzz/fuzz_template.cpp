// Fuzzes the Jinja engine (src/template) with hostile templates: whatever the
// source, parsing and rendering end in text or a typed error, within the
// limits (no hang, no unbounded memory, no stack overflow). The context is a
// fixed chat, so that loops over messages, attribute access and filters on
// real values are reached.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "template/template.h"

namespace {

const nlohmann::ordered_json& context() {
  static const nlohmann::ordered_json value = nlohmann::ordered_json::parse(R"({
    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi <think>x</think> 🤖"},
                 {"role": "assistant", "content": "Hello", "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}]}],
    "tools": null, "documents": null, "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>"})");
  return value;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 1 << 16) return 0;
  ws::TemplateLimits limits;
  limits.max_steps = 200000;
  limits.max_output_bytes = 1 << 20;
  ws::Result<ws::JinjaTemplate> parsed = ws::JinjaTemplate::parse(std::string_view(reinterpret_cast<const char*>(data), size), limits);
  if (!parsed) {
    if (parsed.error().kind != ws::ErrorKind::Template) std::abort();
    return 0;
  }
  ws::Result<std::string> rendered = parsed->render(context());
  if (rendered && rendered->size() > limits.max_output_bytes) std::abort();
  return 0;
}
