// jinja2's filters and tests (filters.py, tests.py), with transformers'
// tojson (json.dumps with ensure_ascii=False) in place of jinja2's own.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "template/builtins.h"

namespace ws::jinja {

namespace {

Error filter_error(const std::string& message) { return make_error(ErrorKind::Template, message); }

bool arg_bool(const CallArgs& args, size_t index, const std::string& name, bool fallback) {
  const Value* v = args.get(index, name);
  return v ? truthy(*v) : fallback;
}

// What `for x in value` visits: list items, dict keys, string characters.
Result<List> iterate(const Value& v) {
  switch (v.type) {
    case Type::List: return *v.list;
    case Type::Dict: {
      List keys;
      for (const auto& item : v.dict->items) keys.push_back(Value::from_string(item.first));
      return keys;
    }
    case Type::String: {
      List chars;
      for (auto& c : utf8_chars(v.text)) chars.push_back(Value::from_string(c));
      return chars;
    }
    case Type::Undefined: return List{};
    default: return filter_error("'" + type_name(v) + "' object is not iterable");
  }
}

std::string lower_ascii(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// jinja2's ignore_case: strings compare lower-cased unless case_sensitive.
Value sort_key(const Value& v, bool case_sensitive) {
  return v.is_string() && !case_sensitive ? Value::from_string(lower_ascii(v.text)) : v;
}

Status sort_values(List& items, bool case_sensitive, const std::string* attribute, bool reverse) {
  std::optional<Error> failure;
  std::vector<std::pair<Value, Value>> keyed;
  for (Value& item : items) keyed.emplace_back(sort_key(attribute ? get_path(item, *attribute) : item, case_sensitive), item);
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    Result<bool> r = reverse ? less(b.first, a.first) : less(a.first, b.first);
    if (!r) {
      if (!failure) failure = r.error();
      return false;
    }
    return *r;
  });
  if (failure) return filter_error(failure->message);
  for (size_t i = 0; i < items.size(); ++i) items[i] = std::move(keyed[i].second);
  return Status::ok();
}

}  // namespace

Value markup_string(std::string text) {
  Value v = Value::from_string(std::move(text));
  v.markup = true;
  return v;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

// jinja2's do_title: words start after runs of "-", whitespace, "(", "{", "[", "<".
std::string jinja_title(const std::string& s) {
  std::string out;
  bool word_start = true;
  for (char c : s) {
    const bool boundary = c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || std::isspace(static_cast<unsigned char>(c));
    if (boundary) {
      out += c;
      word_start = true;
    } else {
      out += static_cast<char>(word_start ? std::toupper(static_cast<unsigned char>(c)) : std::tolower(static_cast<unsigned char>(c)));
      word_start = false;
    }
  }
  return out;
}

Result<Value> tojson(const Value& v, const CallArgs& args) {
  int indent = -1;
  if (const Value* i = args.get(0, "indent"); i && i->type != Type::None) {
    if (i->type != Type::Int) return filter_error("tojson: indent must be an integer");
    indent = static_cast<int>(std::clamp<int64_t>(i->integer, 0, 64));
  }
  std::string item_sep = indent >= 0 ? "," : ", ", key_sep = ": ";
  if (const Value* s = args.get(2, "separators"); s && s->type != Type::None) {
    if (!s->is_list() || s->list->size() != 2 || !(*s->list)[0].is_string() || !(*s->list)[1].is_string()) {
      return filter_error("tojson: separators must be a pair of strings");
    }
    item_sep = (*s->list)[0].text;
    key_sep = (*s->list)[1].text;
  }
  WS_ASSIGN_OR_RETURN(std::string text, to_json_text(v, indent, item_sep, key_sep, arg_bool(args, 3, "sort_keys", false),
                                                           arg_bool(args, 1, "ensure_ascii", false)));
  return Value::from_string(std::move(text));
}

// "select"/"reject"/"selectattr"/"rejectattr": the items whose test (or truth) holds.
// jinja2 visits `if value:` only, so None or 0 selects nothing rather than failing.
Result<Value> select(const Value& v, const CallArgs& args, bool by_attribute, bool keep) {
  if (!truthy(v)) return Value::from_list({});
  WS_ASSIGN_OR_RETURN(List items, iterate(v));
  size_t next = 0;
  const Value* attribute = nullptr;
  if (by_attribute) {
    attribute = next < args.positional.size() ? &args.positional[next++] : nullptr;
    if (!attribute || !attribute->is_string()) return filter_error("selectattr/rejectattr need an attribute name");
  }
  const Value* test = next < args.positional.size() ? &args.positional[next++] : nullptr;
  CallArgs test_args;
  test_args.positional.assign(args.positional.begin() + static_cast<long>(next), args.positional.end());
  List out;
  for (const Value& item : items) {
    const Value subject = attribute ? get_path(item, attribute->text) : item;
    bool holds;
    if (test) {
      if (!test->is_string()) return filter_error("select: the test name must be a string");
      WS_ASSIGN_OR_RETURN(holds, apply_test(test->text, subject, test_args));
    } else {
      holds = truthy(subject);
    }
    if (holds == keep) out.push_back(item);
  }
  return Value::from_list(std::move(out));
}

Result<Value> map_filter(const Value& v, const CallArgs& args) {
  if (!truthy(v)) return Value::from_list({});  // as select: jinja2 maps `if value:` only
  WS_ASSIGN_OR_RETURN(List items, iterate(v));
  List out;
  if (const Value* attribute = args.get(SIZE_MAX, "attribute")) {
    const Value* fallback = args.get(SIZE_MAX, "default");
    for (const Value& item : items) {
      Value got = get_path(item, to_str(*attribute));
      out.push_back(got.is_undefined() && fallback ? *fallback : got);
    }
    return Value::from_list(std::move(out));
  }
  if (args.positional.empty() || !args.positional[0].is_string()) return filter_error("map: a filter name or attribute= is needed");
  CallArgs rest;
  rest.positional.assign(args.positional.begin() + 1, args.positional.end());
  rest.keyword = args.keyword;
  for (const Value& item : items) {
    WS_ASSIGN_OR_RETURN(Value mapped, apply_filter(args.positional[0].text, item, rest));
    out.push_back(std::move(mapped));
  }
  return Value::from_list(std::move(out));
}

Result<Value> indent_filter(const Value& v, const CallArgs& args) {
  std::string pad = "    ";
  if (const Value* width = args.get(0, "width")) pad = width->is_string() ? width->text : std::string(static_cast<size_t>(std::clamp<int64_t>(width->integer, 0, 1024)), ' ');
  const bool first = arg_bool(args, 1, "first", false), blank = arg_bool(args, 2, "blank", false);
  // Python's splitlines on s + "\n".
  const std::string s = to_str(v) + "\n";
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' || s[i] == '\r') {
      lines.push_back(s.substr(start, i - start));
      if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) out += "\n";
    if (i && (blank || !lines[i].empty())) out += pad;
    out += lines[i];
  }
  if (first) out = pad + out;
  return Value::from_string(out);
}

Result<Value> round_filter(const Value& v, const CallArgs& args) {
  const Value* precision_value = args.get(0, "precision");
  const int64_t precision = precision_value && precision_value->type == Type::Int ? precision_value->integer : 0;
  const Value* method_value = args.get(1, "method");
  const std::string method = method_value ? to_str(*method_value) : "common";
  if (!v.is_number()) return filter_error("round: not a number");
  const double scale = std::pow(10.0, static_cast<double>(precision));
  double x = v.as_double() * scale;
  if (method == "common") x = std::nearbyint(x);  // Python's round(): halves to even
  else if (method == "ceil") x = std::ceil(x);
  else if (method == "floor") x = std::floor(x);
  else return filter_error("round: method must be common, ceil or floor");
  x /= scale;
  if (method == "common" && v.type != Type::Float) return Value::from_int(saturating_int(x));
  return Value::from_float(x);
}

Result<Value> to_int(const Value& v, const CallArgs& args) {
  const Value* fallback = args.get(0, "default");
  const Value def = fallback ? *fallback : Value::from_int(0);
  if (v.type == Type::Int) return v;
  if (v.type == Type::Bool) return Value::from_int(v.boolean);
  if (v.type == Type::Float) return std::isfinite(v.number) ? Value::from_int(saturating_int(v.number)) : def;
  if (v.is_string()) {
    const std::string s = py_strip(v.text, nullptr, true, true);
    char* end = nullptr;
    const long long i = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && end && *end == '\0') return Value::from_int(i);
    const double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end && *end == '\0' && std::isfinite(d)) return Value::from_int(saturating_int(d));
  }
  return def;
}

Result<Value> to_float(const Value& v, const CallArgs& args) {
  const Value* fallback = args.get(0, "default");
  const Value def = fallback ? *fallback : Value::from_float(0.0);
  if (v.is_number()) return Value::from_float(v.as_double());
  if (v.is_string()) {
    const std::string s = py_strip(v.text, nullptr, true, true);
    char* end = nullptr;
    const double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end && *end == '\0') return Value::from_float(d);
  }
  return def;
}

Result<Value> min_max(const Value& v, const CallArgs& args, bool want_max) {
  WS_ASSIGN_OR_RETURN(List items, iterate(v));
  if (items.empty()) return Value::undefined("min/max of an empty sequence");
  const bool case_sensitive = arg_bool(args, 0, "case_sensitive", false);
  const Value* attribute = args.get(1, "attribute");
  const std::string attr = attribute ? to_str(*attribute) : "";
  size_t best = 0;
  for (size_t i = 1; i < items.size(); ++i) {
    Value a = sort_key(attribute ? get_path(items[i], attr) : items[i], case_sensitive);
    Value b = sort_key(attribute ? get_path(items[best], attr) : items[best], case_sensitive);
    WS_ASSIGN_OR_RETURN(bool better, want_max ? less(b, a) : less(a, b));
    if (better) best = i;
  }
  return items[best];
}

}  // namespace

// "%s" % value, "%s and %d" % (a, b): %s %r %d %i %%.
Result<Value> percent_format(const std::string& format, const Value& values) {
  List items = values.is_list() && values.tuple ? *values.list : List{values};
  size_t next = 0;
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') { out += format[i]; continue; }
    if (i + 1 >= format.size()) return filter_error("incomplete format");
    const char spec = format[++i];
    if (spec == '%') { out += '%'; continue; }
    if (next >= items.size()) return filter_error("not enough arguments for format string");
    const Value& v = items[next++];
    if (spec == 's') out += to_str(v);
    else if (spec == 'r') out += to_repr(v);
    else if (spec == 'd' || spec == 'i') {
      if (!v.is_number()) return filter_error("%d format: a number is required");
      out += std::to_string(v.type == Type::Float ? saturating_int(v.number) : static_cast<int64_t>(v.as_double()));
    } else {
      return filter_error(std::string("unsupported format character '") + spec + "'");
    }
  }
  if (next < items.size()) return filter_error("not all arguments converted during string formatting");
  return Value::from_string(std::move(out));
}


const Value* CallArgs::get(size_t index, const std::string& name) const {
  for (const auto& [k, v] : keyword) {
    if (k == name) return &v;
  }
  return index < positional.size() ? &positional[index] : nullptr;
}

Value get_item(const Value& object, const Value& key) {
  if (object.is_mapping() && key.is_string()) {
    if (const Value* hit = object.dict->find(key.text)) return *hit;
    return Value::undefined(key.text);
  }
  if ((object.is_list() || object.is_string()) && (key.type == Type::Int || key.type == Type::Bool)) {
    int64_t i = key.type == Type::Int ? key.integer : key.boolean;
    if (object.is_list()) {
      const int64_t n = static_cast<int64_t>(object.list->size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return Value::undefined("index " + std::to_string(key.integer));
      return (*object.list)[static_cast<size_t>(i)];
    }
    std::vector<std::string> chars = utf8_chars(object.text);
    const int64_t n = static_cast<int64_t>(chars.size());
    if (i < 0) i += n;
    if (i < 0 || i >= n) return Value::undefined("index " + std::to_string(key.integer));
    return Value::from_string(chars[static_cast<size_t>(i)]);
  }
  return Value::undefined(key.is_string() ? key.text : to_str(key));
}

Value get_path(const Value& object, const std::string& dotted) {
  Value v = object;
  size_t start = 0;
  while (true) {
    const size_t dot = dotted.find('.', start);
    const std::string part = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    v = get_item(v, digits && !v.is_mapping() ? Value::from_int(std::atoll(part.c_str())) : Value::from_string(part));
    if (dot == std::string::npos) return v;
    start = dot + 1;
  }
}

Result<Value> apply_filter(const std::string& name, const Value& v, const CallArgs& args) {
  // Markup (markupsafe's str subclass): safe and escape make one, string keeps one.
  if (name == "safe" || (name == "string" && v.markup)) return markup_string(v.is_string() ? v.text : to_str(v));
  if (name == "string") return Value::from_string(to_str(v));
  if (name == "trim") {
    const Value* chars = args.get(0, "chars");
    const std::string* set = chars && chars->is_string() ? &chars->text : nullptr;
    return Value::from_string(py_strip(to_str(v), set, true, true));
  }
  if (name == "upper" || name == "lower" || name == "capitalize") {
    CallArgs none;
    return call_method(Value::from_string(to_str(v)), name, none);
  }
  if (name == "title") return Value::from_string(jinja_title(to_str(v)));
  if (name == "length" || name == "count") {
    switch (v.type) {
      case Type::String: return Value::from_int(static_cast<int64_t>(utf8_length(v.text)));
      case Type::List: return Value::from_int(static_cast<int64_t>(v.list->size()));
      case Type::Dict: return Value::from_int(static_cast<int64_t>(v.dict->items.size()));
      case Type::Undefined: return Value::from_int(0);
      default: return filter_error("object of type '" + type_name(v) + "' has no len()");
    }
  }
  if (name == "default" || name == "d") {
    const Value* fallback = args.get(0, "default_value");
    const bool boolean = arg_bool(args, 1, "boolean", false);
    if (v.is_undefined() || (boolean && !truthy(v))) return fallback ? *fallback : Value::from_string("");
    return v;
  }
  if (name == "first" || name == "last") {
    WS_ASSIGN_OR_RETURN(List items, iterate(v));
    if (items.empty()) return Value::undefined("no " + name + " item, sequence was empty");
    return name == "first" ? items.front() : items.back();
  }
  if (name == "join") {
    WS_ASSIGN_OR_RETURN(List items, iterate(v));
    const Value* sep = args.get(0, "d");
    const Value* attribute = args.get(1, "attribute");
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      if (i && sep) out += to_str(*sep);
      out += to_str(attribute ? get_path(items[i], to_str(*attribute)) : items[i]);
    }
    return Value::from_string(out);
  }
  if (name == "tojson") return tojson(v, args);
  if (name == "int") return to_int(v, args);
  if (name == "float") return to_float(v, args);
  if (name == "abs") {
    if (v.type == Type::Int) return Value::from_int(v.integer < 0 ? wrapping_neg(v.integer) : v.integer);
    if (v.type == Type::Float) return Value::from_float(std::fabs(v.number));
    if (v.type == Type::Bool) return Value::from_int(v.boolean);
    return filter_error("bad operand type for abs(): '" + type_name(v) + "'");
  }
  if (name == "round") return round_filter(v, args);
  if (name == "list") {
    WS_ASSIGN_OR_RETURN(List items, iterate(v));
    return Value::from_list(std::move(items));
  }
  if (name == "items") {
    if (v.is_undefined()) return Value::from_list({});
    if (v.type != Type::Dict) return filter_error("items: can only get item pairs from a mapping");
    CallArgs none;
    return call_method(v, "items", none);
  }
  if (name == "dictsort") {
    if (v.type != Type::Dict) return filter_error("dictsort: not a mapping");
    const bool case_sensitive = arg_bool(args, 0, "case_sensitive", false);
    const Value* by = args.get(1, "by");
    const bool by_value = by && to_str(*by) == "value";
    const bool reverse = arg_bool(args, 2, "reverse", false);
    CallArgs none;
    WS_ASSIGN_OR_RETURN(Value pairs, call_method(v, "items", none));
    List items = *pairs.list;
    const std::string path = by_value ? "1" : "0";
    WS_TRY(sort_values(items, case_sensitive, &path, reverse));
    return Value::from_list(std::move(items));
  }
  if (name == "selectattr" || name == "rejectattr") return select(v, args, true, name == "selectattr");
  if (name == "select" || name == "reject") return select(v, args, false, name == "select");
  if (name == "map") return map_filter(v, args);
  if (name == "format") return percent_format(to_str(v), Value::from_list(args.positional, /*tuple=*/true));
  if (name == "replace") {
    CallArgs method_args;
    method_args.positional = args.positional;
    return call_method(Value::from_string(to_str(v)), "replace", method_args);
  }
  if ((name == "escape" || name == "e") && v.markup) return v;
  if (name == "escape" || name == "e" || name == "forceescape") return markup_string(html_escape(to_str(v)));
  if (name == "unique") {
    WS_ASSIGN_OR_RETURN(List items, iterate(v));
    const bool case_sensitive = arg_bool(args, 0, "case_sensitive", false);
    const Value* attribute = args.get(1, "attribute");
    List out;
    std::vector<Value> seen;
    for (const Value& item : items) {
      Value key = sort_key(attribute ? get_path(item, to_str(*attribute)) : item, case_sensitive);
      if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return equal(s, key); })) {
        seen.push_back(key);
        out.push_back(item);
      }
    }
    return Value::from_list(std::move(out));
  }
  if (name == "reverse") {
    if (v.is_string()) {
      std::vector<std::string> chars = utf8_chars(v.text);
      std::string out;
      for (auto it = chars.rbegin(); it != chars.rend(); ++it) out += *it;
      return Value::from_string(out);
    }
    WS_ASSIGN_OR_RETURN(List items, iterate(v));
    std::reverse(items.begin(), items.end());
    return Value::from_list(std::move(items));
  }
  if (name == "sort") {
    WS_ASSIGN_OR_RETURN(List items, iterate(v));
    const Value* attribute = args.get(2, "attribute");
    const std::string attr = attribute ? to_str(*attribute) : "";
    WS_TRY(sort_values(items, arg_bool(args, 1, "case_sensitive", false), attribute ? &attr : nullptr,
                       arg_bool(args, 0, "reverse", false)));
    return Value::from_list(std::move(items));
  }
  if (name == "min" || name == "max") return min_max(v, args, name == "max");
  if (name == "sum") {
    WS_ASSIGN_OR_RETURN(List items, iterate(v));
    const Value* attribute = args.get(0, "attribute");
    const Value* start = args.get(1, "start");
    Value total = start ? *start : Value::from_int(0);
    for (const Value& item : items) {
      const Value x = attribute ? get_path(item, to_str(*attribute)) : item;
      if (!x.is_number() || !total.is_number()) return filter_error("sum: unsupported operand types");
      if (x.type != Type::Float && total.type != Type::Float) {
        const int64_t a = total.type == Type::Bool ? total.boolean : total.integer, b = x.type == Type::Bool ? x.boolean : x.integer;
        total = Value::from_int(wrapping_add(a, b));
      }
      else total = Value::from_float(total.as_double() + x.as_double());
    }
    return total;
  }
  if (name == "indent") return indent_filter(v, args);
  if (name == "wordcount") {
    int64_t words = 0;
    bool in_word = false;
    for (unsigned char c : to_str(v)) {
      const bool word_char = std::isalnum(c) || c == '_' || c >= 0x80;
      if (word_char && !in_word) ++words;
      in_word = word_char;
    }
    return Value::from_int(words);
  }
  if (name == "center") {
    const Value* width = args.get(0, "width");
    const int64_t w = width && width->type == Type::Int ? std::min<int64_t>(width->integer, 1 << 20) : 80;
    const std::string s = to_str(v);
    const int64_t n = static_cast<int64_t>(utf8_length(s));
    if (w <= n) return Value::from_string(s);
    const int64_t total = w - n, left = total / 2 + (total & w & 1);
    return Value::from_string(std::string(static_cast<size_t>(left), ' ') + s + std::string(static_cast<size_t>(total - left), ' '));
  }
  if (name == "attr") {
    const Value* attribute = args.get(0, "name");
    // getattr only: a dict's keys are items, not attributes; a namespace's are.
    if (!attribute || v.type != Type::Namespace) return Value::undefined();
    return get_item(v, *attribute);
  }
  if (name == "batch" || name == "slice") {
    return make_error(ErrorKind::Unsupported, "the '" + name + "' filter is not supported");
  }
  return make_error(ErrorKind::Unsupported, "no filter named '" + name + "'");
}

Result<bool> apply_test(const std::string& name, const Value& v, const CallArgs& args) {
  const Value* arg = args.get(0, "value");
  auto need_arg = [&]() -> Status {
    if (!arg) return filter_error("test '" + name + "' needs an argument");
    return Status::ok();
  };
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.type == Type::None;
  if (name == "boolean") return v.type == Type::Bool;
  if (name == "true") return v.type == Type::Bool && v.boolean;
  if (name == "false") return v.type == Type::Bool && !v.boolean;
  if (name == "integer") return v.type == Type::Int;
  if (name == "float") return v.type == Type::Float;
  if (name == "number") return v.is_number();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.type == Type::Dict;
  if (name == "iterable") return v.is_string() || v.is_list() || v.type == Type::Dict || v.is_undefined();
  if (name == "sequence") return v.is_string() || v.is_list() || v.type == Type::Dict || v.is_undefined();
  if (name == "callable") return v.type == Type::Callable;
  if (name == "lower" || name == "upper") {
    if (!v.is_string()) return false;
    CallArgs none;
    WS_ASSIGN_OR_RETURN(Value r, call_method(v, name == "lower" ? "islower" : "isupper", none));
    return r.boolean;
  }
  if (name == "odd" || name == "even") {
    if (v.type != Type::Int) return filter_error("test '" + name + "' needs an integer");
    return (v.integer % 2 != 0) == (name == "odd");
  }
  if (name == "divisibleby") {
    WS_TRY(need_arg());
    if (v.type != Type::Int || arg->type != Type::Int || arg->integer == 0) return filter_error("divisibleby needs non-zero integers");
    return v.integer % arg->integer == 0;
  }
  if (name == "eq" || name == "equalto" || name == "==") { WS_TRY(need_arg()); return equal(v, *arg); }
  if (name == "ne" || name == "!=") { WS_TRY(need_arg()); return !equal(v, *arg); }
  if (name == "lt" || name == "lessthan" || name == "<") { WS_TRY(need_arg()); return less(v, *arg); }
  if (name == "gt" || name == "greaterthan" || name == ">") { WS_TRY(need_arg()); return less(*arg, v); }
  if (name == "le" || name == "<=") { WS_TRY(need_arg()); WS_ASSIGN_OR_RETURN(bool gt, less(*arg, v)); return !gt; }
  if (name == "ge" || name == ">=") { WS_TRY(need_arg()); WS_ASSIGN_OR_RETURN(bool lt, less(v, *arg)); return !lt; }
  if (name == "sameas") {
    WS_TRY(need_arg());
    if (v.type != arg->type) return false;
    if (v.type == Type::None || v.type == Type::Undefined) return true;
    if (v.type == Type::Bool) return v.boolean == arg->boolean;
    if (v.type == Type::Int) return v.integer == arg->integer && v.integer >= -5 && v.integer <= 256;  // CPython's small ints
    return (v.list && v.list == arg->list) || (v.dict && v.dict == arg->dict);
  }
  if (name == "in") {
    WS_TRY(need_arg());
    if (arg->is_string()) return v.is_string() && arg->text.find(v.text) != std::string::npos;
    if (arg->is_list()) return std::any_of(arg->list->begin(), arg->list->end(), [&](const Value& x) { return equal(x, v); });
    if (arg->type == Type::Dict) return v.is_string() && arg->dict->find(v.text) != nullptr;
    return filter_error("argument of type '" + type_name(*arg) + "' is not iterable");
  }
  if (name == "escaped") return false;
  return make_error(ErrorKind::Unsupported, "no test named '" + name + "'");
}

}  // namespace ws::jinja
