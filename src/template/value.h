// The values a template computes with, shaped like the Python objects jinja2
// hands around (transformers renders chat templates with jinja2), so printing,
// comparing and truth-testing them gives the text Python would.
// Lists and dicts are immutable once built (transformers renders in an
// ImmutableSandboxedEnvironment) and shared by pointer, so copies are cheap;
// a namespace() is the one mutable object, shared by every copy of it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace ws::jinja {

struct Value;
struct Dict;
struct Callable;
using List = std::vector<Value>;

enum class Type { Undefined, None, Bool, Int, Float, String, List, Dict, Namespace, Callable };

struct Value {
  Type type = Type::Undefined;
  bool boolean = false;
  int64_t integer = 0;
  double number = 0;
  std::string text;  // String; for Undefined, the name that was looked up (for messages)
  bool tuple = false;  // a List written as a tuple: printed with (), as Python does
  // A String that is markupsafe's Markup (from safe/escape): `+` with a plain
  // str escapes the plain one, as Markup.__add__/__radd__ do.
  bool markup = false;
  // Lists and dicts nested inside this one (0 for scalars): the renderer
  // refuses values nested deeper than kMaxValueDepth, so that comparing,
  // printing and destroying them cannot exhaust the stack.
  uint32_t depth = 0;
  std::shared_ptr<const List> list;
  std::shared_ptr<Dict> dict;  // Dict (never mutated after build) or Namespace (mutable)
  std::shared_ptr<const Callable> callable;

  static Value undefined(std::string name = "") { Value v; v.text = std::move(name); return v; }
  static Value none() { Value v; v.type = Type::None; return v; }
  static Value from_bool(bool b) { Value v; v.type = Type::Bool; v.boolean = b; return v; }
  static Value from_int(int64_t i) { Value v; v.type = Type::Int; v.integer = i; return v; }
  static Value from_float(double f) { Value v; v.type = Type::Float; v.number = f; return v; }
  static Value from_string(std::string s) { Value v; v.type = Type::String; v.text = std::move(s); return v; }
  static Value from_list(List items, bool tuple = false);
  static Value from_dict(Dict items);
  static Value new_namespace(Dict items);

  bool is_undefined() const { return type == Type::Undefined; }
  bool is_string() const { return type == Type::String; }
  bool is_number() const { return type == Type::Int || type == Type::Float || type == Type::Bool; }
  bool is_list() const { return type == Type::List; }
  bool is_mapping() const { return type == Type::Dict || type == Type::Namespace; }
  double as_double() const { return type == Type::Float ? number : static_cast<double>(type == Type::Bool ? boolean : integer); }
};

constexpr uint32_t kMaxValueDepth = 200;

// An insertion-ordered string-keyed map, as Python dicts iterate.
struct Dict {
  std::vector<std::pair<std::string, Value>> items;
  const Value* find(std::string_view key) const;
  void set(const std::string& key, Value value);
};

// A double truncated toward zero into int64, saturating (Python's ints are
// unbounded; a cast of an out-of-range double would be undefined behaviour).
int64_t saturating_int(double d);
// Python int arithmetic wraps here instead of growing (no UB).
inline int64_t wrapping_add(int64_t a, int64_t b) { return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b)); }
inline int64_t wrapping_neg(int64_t a) { return static_cast<int64_t>(0 - static_cast<uint64_t>(a)); }

// Python's truth value: empty strings, lists and dicts, 0, None and Undefined are false.
bool truthy(const Value& v);
// str(v): what {{ v }} prints. Undefined prints "".
std::string to_str(const Value& v);
// repr(v): strings quoted as Python quotes them (used inside list and dict printing).
std::string to_repr(const Value& v);
// repr of a float, the shortest text that reads back to the same double.
std::string float_repr(double d);
// Python ==.
bool equal(const Value& a, const Value& b);
// Python <, or an error for unorderable types (e.g. str < int).
Result<bool> less(const Value& a, const Value& b);
std::string type_name(const Value& v);

// Conversions to and from JSON (the context a caller passes; tojson).
Value from_json(const nlohmann::ordered_json& j);
// json.dumps(v, ensure_ascii=..., indent=indent, separators=...) as Python
// writes it. indent < 0: none. Errors: Undefined or a macro inside v.
Result<std::string> to_json_text(const Value& v, int indent, const std::string& item_sep, const std::string& key_sep,
                                 bool sort_keys, bool ensure_ascii = false);

// Strings index by code point, as Python str does.
std::vector<std::string> utf8_chars(std::string_view s);
size_t utf8_length(std::string_view s);

}  // namespace ws::jinja
