// Tokens to a Program, following jinja2's grammar (parser.py): statement
// tags, and expressions with jinja2's precedence (filters and tests bind
// tighter than arithmetic, "~" between + and *, chained comparisons).
#pragma once

#include <memory>
#include <string_view>

#include "core/result.h"
#include "template/ast.h"

namespace ws::jinja {

// Errors: Template ("template line N: ..."): a syntax error, an unknown or
// unclosed tag, nesting deeper than max_depth.
Result<std::shared_ptr<const Program>> parse_program(std::string_view source, int max_depth);

}  // namespace ws::jinja
