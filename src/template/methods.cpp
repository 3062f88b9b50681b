// Python's str and dict methods as chat templates call them
// (message.content.strip(), text.split('\n'), message.get('tool_calls')).
#include <algorithm>
#include <cctype>

#include "template/builtins.h"

namespace ws::jinja {

namespace {

Error method_error(const std::string& message) { return make_error(ErrorKind::Template, message); }

bool is_py_space(const std::string& ch) {
  if (ch.size() == 1) {
    const unsigned char c = static_cast<unsigned char>(ch[0]);
    return c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
  }
  static const char* kWide[] = {"\xc2\x85", "\xc2\xa0", "\xe1\x9a\x80", "\xe2\x80\xa8", "\xe2\x80\xa9", "\xe2\x80\xaf",
                                "\xe2\x81\x9f", "\xe3\x80\x80"};
  for (const char* w : kWide) {
    if (ch == w) return true;
  }
  // U+2000..U+200A
  return ch.size() == 3 && static_cast<unsigned char>(ch[0]) == 0xe2 && static_cast<unsigned char>(ch[1]) == 0x80 &&
         static_cast<unsigned char>(ch[2]) >= 0x80 && static_cast<unsigned char>(ch[2]) <= 0x8a;
}

const std::string* string_arg(const CallArgs& args, size_t index, const std::string& name) {
  const Value* v = args.get(index, name);
  return v && v->is_string() ? &v->text : nullptr;
}

// str.split(sep=None, maxsplit=-1) and rsplit.
Result<Value> split(const std::string& s, const CallArgs& args, bool from_right) {
  const Value* sep_value = args.get(0, "sep");
  const Value* max_value = args.get(1, "maxsplit");
  int64_t maxsplit = max_value && max_value->type == Type::Int ? max_value->integer : -1;
  List parts;
  if (sep_value && sep_value->is_string()) {
    const std::string& sep = sep_value->text;
    if (sep.empty()) return method_error("split: empty separator");
    if (!from_right) {
      size_t start = 0;
      while (maxsplit != 0) {
        const size_t hit = s.find(sep, start);
        if (hit == std::string::npos) break;
        parts.push_back(Value::from_string(s.substr(start, hit - start)));
        start = hit + sep.size();
        --maxsplit;
      }
      parts.push_back(Value::from_string(s.substr(start)));
    } else {
      size_t end = s.size();
      while (maxsplit != 0 && end >= sep.size()) {
        const size_t hit = s.rfind(sep, end - sep.size());
        if (hit == std::string::npos) break;
        parts.insert(parts.begin(), Value::from_string(s.substr(hit + sep.size(), end - hit - sep.size())));
        end = hit;
        --maxsplit;
      }
      parts.insert(parts.begin(), Value::from_string(s.substr(0, end)));
    }
    return Value::from_list(std::move(parts));
  }
  // Whitespace runs, empty strings dropped.
  std::vector<std::string> chars = utf8_chars(s);
  if (from_right) std::reverse(chars.begin(), chars.end());
  size_t i = 0;
  while (i < chars.size()) {
    while (i < chars.size() && is_py_space(chars[i])) ++i;
    if (i == chars.size()) break;
    if (maxsplit == 0) {
      // Python keeps the remainder as it is, whitespace at its far end included.
      std::vector<std::string> rest(chars.begin() + static_cast<long>(i), chars.end());
      if (from_right) std::reverse(rest.begin(), rest.end());
      std::string text;
      for (auto& c : rest) text += c;
      parts.push_back(Value::from_string(text));
      break;
    }
    std::string word;
    std::vector<std::string> word_chars;
    while (i < chars.size() && !is_py_space(chars[i])) word_chars.push_back(chars[i++]);
    if (from_right) std::reverse(word_chars.begin(), word_chars.end());
    for (auto& c : word_chars) word += c;
    parts.push_back(Value::from_string(word));
    --maxsplit;
  }
  if (from_right) std::reverse(parts.begin(), parts.end());
  return Value::from_list(std::move(parts));
}

Result<bool> affix_test(const std::string& s, const Value* affix, bool prefix) {
  auto one = [&](const std::string& a) {
    if (a.size() > s.size()) return false;
    return prefix ? s.compare(0, a.size(), a) == 0 : s.compare(s.size() - a.size(), a.size(), a) == 0;
  };
  if (affix && affix->is_string()) return one(affix->text);
  if (affix && affix->is_list()) {
    for (const Value& a : *affix->list) {
      if (!a.is_string()) return method_error("startswith/endswith: the tuple must hold strings");
      if (one(a.text)) return true;
    }
    return false;
  }
  return method_error(std::string(prefix ? "startswith" : "endswith") + " first arg must be str or a tuple of str");
}

std::string replace_all(const std::string& s, const std::string& old, const std::string& with, int64_t count) {
  std::string out;
  if (old.empty()) {
    // Python inserts `with` before every character and at the end.
    std::vector<std::string> chars = utf8_chars(s);
    for (size_t i = 0; i <= chars.size(); ++i) {
      if (count < 0 || static_cast<int64_t>(i) < count) out += with;
      if (i < chars.size()) out += chars[i];
    }
    return out;
  }
  size_t start = 0;
  while (count != 0) {
    const size_t hit = s.find(old, start);
    if (hit == std::string::npos) break;
    out.append(s, start, hit - start);
    out += with;
    start = hit + old.size();
    --count;
  }
  out.append(s, start, std::string::npos);
  return out;
}

std::string ascii_map(std::string s, int (*f)(int)) {
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x80) c = static_cast<char>(f(static_cast<unsigned char>(c)));
  }
  return s;
}

bool ascii_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// str.title(): a letter after a non-letter is upper-cased, others lowered.
std::string py_title(const std::string& s) {
  std::string out = s;
  bool previous_cased = false;
  for (char& c : out) {
    if (ascii_alpha(c)) {
      c = static_cast<char>(previous_cased ? std::tolower(c) : std::toupper(c));
      previous_cased = true;
    } else {
      previous_cased = static_cast<unsigned char>(c) >= 0x80 && previous_cased;
    }
  }
  return out;
}

// str.format with {} / {0} / {name} fields (no format specs or conversions).
Result<std::string> py_format(const std::string& s, const CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '{' && i + 1 < s.size() && s[i + 1] == '{') { out += '{'; ++i; continue; }
    if (c == '}' && i + 1 < s.size() && s[i + 1] == '}') { out += '}'; ++i; continue; }
    if (c == '}') return method_error("format: single '}' encountered in format string");
    if (c != '{') { out += c; continue; }
    const size_t close = s.find('}', i);
    if (close == std::string::npos) return method_error("format: single '{' encountered in format string");
    const std::string field = s.substr(i + 1, close - i - 1);
    if (field.find_first_of(":!.[") != std::string::npos) return method_error("format: format specs are not supported");
    const Value* value = nullptr;
    if (field.empty()) {
      value = auto_index < args.positional.size() ? &args.positional[auto_index] : nullptr;
      ++auto_index;
    } else if (std::all_of(field.begin(), field.end(), [](char d) { return d >= '0' && d <= '9'; })) {
      const size_t index = std::stoul(field);
      value = index < args.positional.size() ? &args.positional[index] : nullptr;
    } else {
      for (const auto& [k, v] : args.keyword) {
        if (k == field) value = &v;
      }
    }
    if (!value) return method_error("format: missing argument for {" + field + "}");
    out += to_str(*value);
    i = close;
  }
  return out;
}

template <class Pred>
Value all_chars(const std::string& s, Pred pred) {
  if (s.empty()) return Value::from_bool(false);
  for (char c : s) {
    if (!pred(static_cast<unsigned char>(c))) return Value::from_bool(false);
  }
  return Value::from_bool(true);
}

Result<Value> string_method(const std::string& s, const std::string& name, const CallArgs& args) {
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const std::string* chars = string_arg(args, 0, "chars");
    return Value::from_string(py_strip(s, chars, name != "rstrip", name != "lstrip"));
  }
  if (name == "split") return split(s, args, false);
  if (name == "rsplit") return split(s, args, true);
  if (name == "splitlines") {
    List lines;
    size_t start = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\n' || s[i] == '\r') {
        lines.push_back(Value::from_string(s.substr(start, i - start)));
        if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
        start = i + 1;
      }
    }
    if (start < s.size()) lines.push_back(Value::from_string(s.substr(start)));
    return Value::from_list(std::move(lines));
  }
  if (name == "startswith" || name == "endswith") {
    WS_ASSIGN_OR_RETURN(bool hit, affix_test(s, args.get(0, "prefix"), name == "startswith"));
    return Value::from_bool(hit);
  }
  if (name == "replace") {
    const std::string* old = string_arg(args, 0, "old");
    const std::string* with = string_arg(args, 1, "new");
    if (!old || !with) return method_error("replace() arguments must be str");
    const Value* count = args.get(2, "count");
    return Value::from_string(replace_all(s, *old, *with, count && count->type == Type::Int ? count->integer : -1));
  }
  if (name == "upper") return Value::from_string(ascii_map(s, ::toupper));
  if (name == "lower") return Value::from_string(ascii_map(s, ::tolower));
  if (name == "title") return Value::from_string(py_title(s));
  if (name == "capitalize") {
    std::string out = ascii_map(s, ::tolower);
    if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
    return Value::from_string(out);
  }
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex" || name == "count") {
    const std::string* needle = string_arg(args, 0, "sub");
    if (!needle) return method_error(name + "() argument must be str");
    if (name == "count") {
      if (needle->empty()) return Value::from_int(static_cast<int64_t>(utf8_length(s) + 1));
      int64_t n = 0;
      for (size_t at = s.find(*needle); at != std::string::npos; at = s.find(*needle, at + needle->size())) ++n;
      return Value::from_int(n);
    }
    const size_t at = name[0] == 'r' ? s.rfind(*needle) : s.find(*needle);
    if (at == std::string::npos) {
      if (name == "index" || name == "rindex") return method_error("substring not found");
      return Value::from_int(-1);
    }
    return Value::from_int(static_cast<int64_t>(utf8_length(std::string_view(s).substr(0, at))));
  }
  if (name == "removeprefix" || name == "removesuffix") {
    const std::string* affix = string_arg(args, 0, name == "removeprefix" ? "prefix" : "suffix");
    if (!affix) return method_error(name + "() argument must be str");
    if (name == "removeprefix" && s.compare(0, affix->size(), *affix) == 0) return Value::from_string(s.substr(affix->size()));
    if (name == "removesuffix" && affix->size() <= s.size() && !affix->empty() &&
        s.compare(s.size() - affix->size(), affix->size(), *affix) == 0) {
      return Value::from_string(s.substr(0, s.size() - affix->size()));
    }
    return Value::from_string(s);
  }
  if (name == "join") {
    const Value* items = args.get(0, "iterable");
    if (!items || !items->is_list()) return method_error("join() argument must be a list of str");
    std::string out;
    for (size_t i = 0; i < items->list->size(); ++i) {
      const Value& item = (*items->list)[i];
      if (!item.is_string()) return method_error("sequence item " + std::to_string(i) + ": expected str instance, " + type_name(item) + " found");
      if (i) out += s;
      out += item.text;
    }
    return Value::from_string(out);
  }
  if (name == "format") {
    WS_ASSIGN_OR_RETURN(std::string out, py_format(s, args));
    return Value::from_string(out);
  }
  if (name == "isdigit") return all_chars(s, [](unsigned char c) { return c >= '0' && c <= '9'; });
  if (name == "isalpha") return all_chars(s, [](unsigned char c) { return ascii_alpha(static_cast<char>(c)) || c >= 0x80; });
  if (name == "isalnum") return all_chars(s, [](unsigned char c) { return std::isalnum(c) || c >= 0x80; });
  if (name == "isspace") return all_chars(s, [](unsigned char c) { return c == ' ' || (c >= 0x09 && c <= 0x0d); });
  if (name == "islower" || name == "isupper") {
    bool cased = false;
    for (char c : s) {
      if (!ascii_alpha(c)) continue;
      cased = true;
      if ((name == "islower") != static_cast<bool>(std::islower(static_cast<unsigned char>(c)))) return Value::from_bool(false);
    }
    return Value::from_bool(cased);
  }
  return make_error(ErrorKind::Unsupported, "str has no method '" + name + "'");
}

}  // namespace

std::string py_strip(const std::string& s, const std::string* chars, bool left, bool right) {
  std::vector<std::string> cs = utf8_chars(s);
  std::vector<std::string> set;
  if (chars) set = utf8_chars(*chars);
  auto strip_this = [&](const std::string& c) {
    return chars ? std::find(set.begin(), set.end(), c) != set.end() : is_py_space(c);
  };
  size_t begin = 0, end = cs.size();
  if (left) while (begin < end && strip_this(cs[begin])) ++begin;
  if (right) while (end > begin && strip_this(cs[end - 1])) --end;
  std::string out;
  for (size_t i = begin; i < end; ++i) out += cs[i];
  return out;
}

Result<Value> call_method(const Value& object, const std::string& name, const CallArgs& args) {
  if (object.is_string()) return string_method(object.text, name, args);
  if (object.type == Type::Dict) {
    const Dict& dict = *object.dict;
    if (name == "items") {
      List items;
      for (const auto& [k, v] : dict.items) items.push_back(Value::from_list({Value::from_string(k), v}, true));
      return Value::from_list(std::move(items));
    }
    if (name == "keys" || name == "values") {
      List items;
      for (const auto& [k, v] : dict.items) items.push_back(name == "keys" ? Value::from_string(k) : v);
      return Value::from_list(std::move(items));
    }
    if (name == "get") {
      const Value* key = args.get(0, "key");
      const Value* fallback = args.get(1, "default");
      if (key && key->is_string()) {
        if (const Value* hit = dict.find(key->text)) return *hit;
      }
      return fallback ? *fallback : Value::none();
    }
    return make_error(ErrorKind::Unsupported, "dict has no method '" + name + "'");
  }
  if (object.is_list()) {
    if (name == "index" || name == "count") {
      const Value* needle = args.get(0, "value");
      if (!needle) return method_error(name + "() takes exactly one argument");
      int64_t hits = 0;
      for (size_t i = 0; i < object.list->size(); ++i) {
        if (!equal((*object.list)[i], *needle)) continue;
        if (name == "index") return Value::from_int(static_cast<int64_t>(i));
        ++hits;
      }
      if (name == "index") return method_error("value is not in list");
      return Value::from_int(hits);
    }
    if (name == "append" || name == "extend" || name == "pop" || name == "insert" || name == "remove" || name == "clear" ||
        name == "sort" || name == "reverse") {
      return method_error("access to attribute '" + name + "' of 'list' object is unsafe (the sandbox is immutable)");
    }
  }
  return make_error(ErrorKind::Unsupported, type_name(object) + " has no method '" + name + "'");
}

}  // namespace ws::jinja
