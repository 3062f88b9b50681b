// Jinja templates, as Hugging Face chat templates use them: one C++ engine
// for every target (native and wasm render the same text), rendering what
// Python's jinja2 renders under transformers' settings (trim_blocks,
// lstrip_blocks, loop controls, its tojson, raise_exception, strftime_now,
// an immutable sandbox). Templates are untrusted input: parsing and
// rendering are bounded in nesting, steps and output size, and every failure
// is a value, never an exception or abort.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace ws {

namespace jinja { struct Program; }

struct TemplateLimits {
  int max_depth = 128;                     // statement + expression nesting, macro calls included
  uint64_t max_steps = 5'000'000;          // statements, loop iterations and expressions evaluated
  size_t max_output_bytes = 32u << 20;     // rendered text, and any string built on the way
};

class JinjaTemplate {
 public:
  // Errors: Template ("template line N: ...") for a syntax error, an unknown
  // tag, or nesting deeper than limits.max_depth.
  static Result<JinjaTemplate> parse(std::string_view source, const TemplateLimits& limits = {});

  // Renders with `context` (a JSON object, kept in its key order as Python
  // dicts are: its keys become variables; the
  // engine adds range, namespace, dict, raise_exception and strftime_now).
  // Errors: Template ("template line N: ...") for what jinja2 raises
  // (undefined attributes, type errors, raise_exception's message);
  // OutOfBudget when a limit is reached; Unsupported for a filter, test or
  // method the engine does not have.
  Result<std::string> render(const nlohmann::ordered_json& context) const;

 private:
  std::shared_ptr<const jinja::Program> program_;
  TemplateLimits limits_;
};

}  // namespace ws
