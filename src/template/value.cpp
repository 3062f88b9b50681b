#include "template/value.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace ws::jinja {

Value Value::from_list(List items, bool tuple) {
  Value v;
  for (const Value& item : items) v.depth = std::max(v.depth, item.depth + 1);
  v.type = Type::List;
  v.tuple = tuple;
  v.list = std::make_shared<const List>(std::move(items));
  return v;
}

Value Value::from_dict(Dict items) {
  Value v;
  for (const auto& item : items.items) v.depth = std::max(v.depth, item.second.depth + 1);
  v.type = Type::Dict;
  v.dict = std::make_shared<Dict>(std::move(items));
  return v;
}

Value Value::new_namespace(Dict items) {
  // A namespace is compared by identity and printed with a depth cap; the
  // renderer checks what is stored in it.
  Value v = from_dict(std::move(items));
  v.depth = 0;
  v.type = Type::Namespace;
  return v;
}

const Value* Dict::find(std::string_view key) const {
  for (const auto& [k, v] : items) {
    if (k == key) return &v;
  }
  return nullptr;
}

void Dict::set(const std::string& key, Value value) {
  for (auto& [k, v] : items) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  items.emplace_back(key, std::move(value));
}

int64_t saturating_int(double d) {
  if (std::isnan(d)) return 0;
  if (d >= 9223372036854775807.0) return INT64_MAX;
  if (d <= -9223372036854775808.0) return INT64_MIN;
  return static_cast<int64_t>(d);
}

bool truthy(const Value& v) {
  switch (v.type) {
    case Type::Undefined: case Type::None: return false;
    case Type::Bool: return v.boolean;
    case Type::Int: return v.integer != 0;
    case Type::Float: return v.number != 0.0;
    case Type::String: return !v.text.empty();
    case Type::List: return !v.list->empty();
    case Type::Dict: return !v.dict->items.empty();
    case Type::Namespace: case Type::Callable: return true;
  }
  return false;
}

std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  char buf[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*e", precision - 1, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  // buf: [-]d.ddde[+-]XX. Python's repr uses fixed notation for 1e-4 <= |d| < 1e16.
  std::string text(buf);
  const bool negative = text[0] == '-';
  if (negative) text.erase(0, 1);
  const size_t e = text.find('e');
  const int exponent = std::atoi(text.c_str() + e + 1);
  std::string digits;
  for (size_t i = 0; i < e; ++i) {
    if (text[i] != '.') digits += text[i];
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  std::string out;
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out = "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    } else if (static_cast<size_t>(exponent) + 1 >= digits.size()) {
      out = digits + std::string(static_cast<size_t>(exponent) + 1 - digits.size(), '0') + ".0";
    } else {
      out = digits.substr(0, static_cast<size_t>(exponent) + 1) + "." + digits.substr(static_cast<size_t>(exponent) + 1);
    }
  } else {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char exp_text[16];
    std::snprintf(exp_text, sizeof exp_text, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    out += exp_text;
  }
  return negative ? "-" + out : out;
}

namespace {

std::string repr_string(const std::string& s) {
  const bool has_single = s.find('\'') != std::string::npos, has_double = s.find('"') != std::string::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (unsigned char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == static_cast<unsigned char>(quote)) { out += '\\'; out += static_cast<char>(c); }
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += quote;
  return out;
}

// One UTF-8 sequence's code point (utf8_chars has split the text already);
// U+FFFD for a malformed one.
uint32_t code_point(const std::string& ch) {
  const auto* b = reinterpret_cast<const unsigned char*>(ch.data());
  if (ch.size() == 1) return b[0] < 0x80 ? b[0] : 0xFFFD;
  if (ch.size() == 2) return (b[0] & 0x1Fu) << 6 | (b[1] & 0x3Fu);
  if (ch.size() == 3) return (b[0] & 0x0Fu) << 12 | (b[1] & 0x3Fu) << 6 | (b[2] & 0x3Fu);
  if (ch.size() == 4) return (b[0] & 0x07u) << 18 | (b[1] & 0x3Fu) << 12 | (b[2] & 0x3Fu) << 6 | (b[3] & 0x3Fu);
  return 0xFFFD;
}

void json_string(const std::string& s, std::string& out, bool ensure_ascii) {
  if (ensure_ascii) {
    // json.dumps(ensure_ascii=True): everything outside ' '..'~' without a
    // short escape becomes \uXXXX, astral code points as surrogate pairs.
    out += '"';
    for (const std::string& ch : utf8_chars(s)) {
      const uint32_t cp = code_point(ch);
      char buf[16];
      if (cp == '"') out += "\\\"";
      else if (cp == '\\') out += "\\\\";
      else if (cp == '\n') out += "\\n";
      else if (cp == '\r') out += "\\r";
      else if (cp == '\t') out += "\\t";
      else if (cp == '\b') out += "\\b";
      else if (cp == '\f') out += "\\f";
      else if (cp >= 0x20 && cp < 0x7F) out += static_cast<char>(cp);
      else {
        if (cp >= 0x10000) {
          const uint32_t v = cp - 0x10000;
          std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
        } else {
          std::snprintf(buf, sizeof buf, "\\u%04x", cp);
        }
        out += buf;
      }
    }
    out += '"';
    return;
  }
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

struct JsonWriter {
  int indent;
  std::string item_sep, key_sep;
  bool sort_keys;
  bool ensure_ascii;
  std::string out;
  int depth = 0;

  void newline(int level) {
    out += '\n';
    out.append(static_cast<size_t>(indent) * static_cast<size_t>(level), ' ');
  }

  Status write(const Value& v) {
    if (++depth > 512) return make_error(ErrorKind::OutOfBudget, "tojson: nesting deeper than 512");
    Status s = write_inner(v);
    --depth;
    return s;
  }

  Status write_inner(const Value& v) {
    switch (v.type) {
      case Type::None: out += "null"; return Status::ok();
      case Type::Bool: out += v.boolean ? "true" : "false"; return Status::ok();
      case Type::Int: out += std::to_string(v.integer); return Status::ok();
      case Type::Float:
        if (std::isnan(v.number)) out += "NaN";
        else if (std::isinf(v.number)) out += v.number > 0 ? "Infinity" : "-Infinity";
        else out += float_repr(v.number);
        return Status::ok();
      case Type::String: json_string(v.text, out, ensure_ascii); return Status::ok();
      case Type::List: {
        if (v.list->empty()) { out += "[]"; return Status::ok(); }
        out += '[';
        for (size_t i = 0; i < v.list->size(); ++i) {
          if (i) out += item_sep;
          if (indent >= 0) newline(depth);
          WS_TRY(write((*v.list)[i]));
        }
        if (indent >= 0) newline(depth - 1);
        out += ']';
        return Status::ok();
      }
      case Type::Dict: {
        if (v.dict->items.empty()) { out += "{}"; return Status::ok(); }
        std::vector<const std::pair<std::string, Value>*> items;
        for (const auto& item : v.dict->items) items.push_back(&item);
        if (sort_keys) {
          std::stable_sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->first < b->first; });
        }
        out += '{';
        for (size_t i = 0; i < items.size(); ++i) {
          if (i) out += item_sep;
          if (indent >= 0) newline(depth);
          json_string(items[i]->first, out, ensure_ascii);
          out += key_sep;
          WS_TRY(write(items[i]->second));
        }
        if (indent >= 0) newline(depth - 1);
        out += '}';
        return Status::ok();
      }
      default:
        return make_error(ErrorKind::InvalidArgument, "tojson: Object of type " + type_name(v) + " is not JSON serializable");
    }
  }
};

}  // namespace

namespace {
std::string repr_at(const Value& v, int depth);
}

std::string to_repr(const Value& v) { return repr_at(v, 0); }

namespace {

// A namespace can hold itself: deep nesting prints as "..." rather than recursing forever.
std::string repr_at(const Value& v, int depth) {
  if (depth > 100) return "...";
  switch (v.type) {
    case Type::String: return repr_string(v.text);
    case Type::List: {
      std::string out = v.tuple ? "(" : "[";
      for (size_t i = 0; i < v.list->size(); ++i) {
        if (i) out += ", ";
        out += repr_at((*v.list)[i], depth + 1);
      }
      if (v.tuple && v.list->size() == 1) out += ",";
      return out + (v.tuple ? ")" : "]");
    }
    case Type::Dict: {
      std::string out = "{";
      for (size_t i = 0; i < v.dict->items.size(); ++i) {
        if (i) out += ", ";
        out += repr_string(v.dict->items[i].first) + ": " + repr_at(v.dict->items[i].second, depth + 1);
      }
      return out + "}";
    }
    case Type::Namespace: {
      Value plain = v;
      plain.type = Type::Dict;
      return "<Namespace " + repr_at(plain, depth + 1) + ">";
    }
    default: return to_str(v);
  }
}

}  // namespace

std::string to_str(const Value& v) {
  switch (v.type) {
    case Type::Undefined: return "";
    case Type::None: return "None";
    case Type::Bool: return v.boolean ? "True" : "False";
    case Type::Int: return std::to_string(v.integer);
    case Type::Float: return float_repr(v.number);
    case Type::String: return v.text;
    case Type::List: case Type::Dict: return to_repr(v);
    case Type::Namespace: return to_repr(v);
    case Type::Callable: return "<macro>";
  }
  return "";
}

std::string type_name(const Value& v) {
  switch (v.type) {
    case Type::Undefined: return "Undefined";
    case Type::None: return "NoneType";
    case Type::Bool: return "bool";
    case Type::Int: return "int";
    case Type::Float: return "float";
    case Type::String: return "str";
    case Type::List: return v.tuple ? "tuple" : "list";
    case Type::Dict: return "dict";
    case Type::Namespace: return "Namespace";
    case Type::Callable: return "function";
  }
  return "?";
}

bool equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.type != Type::Float && b.type != Type::Float) {
      return (a.type == Type::Bool ? a.boolean : a.integer) == (b.type == Type::Bool ? b.boolean : b.integer);
    }
    return a.as_double() == b.as_double();
  }
  if (a.type != b.type) return false;
  switch (a.type) {
    case Type::Undefined: case Type::None: return true;
    case Type::String: return a.text == b.text;
    case Type::List:
      if (a.tuple != b.tuple || a.list->size() != b.list->size()) return false;
      for (size_t i = 0; i < a.list->size(); ++i) {
        if (!equal((*a.list)[i], (*b.list)[i])) return false;
      }
      return true;
    case Type::Dict:
      if (a.dict->items.size() != b.dict->items.size()) return false;
      for (const auto& [key, value] : a.dict->items) {
        const Value* other = b.dict->find(key);
        if (!other || !equal(value, *other)) return false;
      }
      return true;
    default: return a.dict == b.dict && a.callable == b.callable;
  }
}

Result<bool> less(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.type != Type::Float && b.type != Type::Float) {
      return (a.type == Type::Bool ? a.boolean : a.integer) < (b.type == Type::Bool ? b.boolean : b.integer);
    }
    return a.as_double() < b.as_double();
  }
  if (a.is_string() && b.is_string()) return a.text < b.text;  // UTF-8 byte order is code point order
  if (a.is_list() && b.is_list()) {
    for (size_t i = 0; i < a.list->size() && i < b.list->size(); ++i) {
      if (equal((*a.list)[i], (*b.list)[i])) continue;
      return less((*a.list)[i], (*b.list)[i]);
    }
    return a.list->size() < b.list->size();
  }
  return make_error(ErrorKind::InvalidArgument,
                    "'<' not supported between instances of '" + type_name(a) + "' and '" + type_name(b) + "'");
}

Value from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return Value::none();
    case nlohmann::ordered_json::value_t::boolean: return Value::from_bool(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Value::from_int(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const uint64_t u = j.get<uint64_t>();
      return u > static_cast<uint64_t>(INT64_MAX) ? Value::from_float(static_cast<double>(u))
                                                  : Value::from_int(static_cast<int64_t>(u));
    }
    case nlohmann::ordered_json::value_t::number_float: return Value::from_float(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return Value::from_string(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      List items;
      items.reserve(j.size());
      for (const auto& item : j) items.push_back(from_json(item));
      return Value::from_list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      Dict dict;
      for (auto it = j.begin(); it != j.end(); ++it) dict.items.emplace_back(it.key(), from_json(it.value()));
      return Value::from_dict(std::move(dict));
    }
    default: return Value::none();
  }
}

Result<std::string> to_json_text(const Value& v, int indent, const std::string& item_sep, const std::string& key_sep,
                                 bool sort_keys, bool ensure_ascii) {
  JsonWriter writer{indent, item_sep, key_sep, sort_keys, ensure_ascii, {}};
  WS_TRY(writer.write(v));
  return std::move(writer.out);
}

std::vector<std::string> utf8_chars(std::string_view s) {
  std::vector<std::string> chars;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    if (c >= 0x80 && c < 0xc0) n = 1;  // a stray continuation byte: one unit
    n = std::min(n, s.size() - i);
    chars.emplace_back(s.substr(i, n));
    i += n;
  }
  return chars;
}

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xc0) != 0x80;
  return n;
}

}  // namespace ws::jinja
