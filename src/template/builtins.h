// The filters, tests, string/dict methods and global functions a template
// can call, each with the semantics of jinja2's (and Python's) own, as
// transformers configures them. Internal to src/template.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "template/value.h"

namespace ws::jinja {

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;

  // Argument `index` (positional) or `name` (keyword), else nullptr.
  const Value* get(size_t index, const std::string& name) const;
};

// Errors are plain messages here; the renderer adds the template line.
// `name` unknown: Unsupported ("no filter named ...").
Result<Value> apply_filter(const std::string& name, const Value& operand, const CallArgs& args);
Result<bool> apply_test(const std::string& name, const Value& operand, const CallArgs& args);
// A method of a str/dict/list. Unsupported when `object` has no such method.
Result<Value> call_method(const Value& object, const std::string& name, const CallArgs& args);
// jinja2's environment.getattr / getitem: a dict key, list index, or Undefined.
Value get_item(const Value& object, const Value& key);
// "a.b.c" through get_item, as attribute= arguments of filters take it.
Value get_path(const Value& object, const std::string& dotted);
// markupsafe: a Markup string (what safe/escape return), and escape() itself.
Value markup_string(std::string text);
std::string html_escape(const std::string& s);
// Python's `format % values` (and jinja2's format filter): %s %r %d %i %%.
Result<Value> percent_format(const std::string& format, const Value& values);
// Python's str.strip family on code points: chars null = Unicode whitespace.
std::string py_strip(const std::string& s, const std::string* chars, bool left, bool right);

}  // namespace ws::jinja
