#include "template/lexer.h"

#include <cctype>
#include <cstdint>

namespace ws::jinja {

Error template_error(int line, const std::string& message) {
  return make_error(ErrorKind::Template, "template line " + std::to_string(line) + ": " + message);
}

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// jinja2 splits on \r\n, \r and \n and joins with \n, then drops one trailing
// newline (keep_trailing_newline=False).
std::string normalize_newlines(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A string literal's body decoded as Python's "unicode-escape" codec does
// (jinja2 decodes literals that way); unknown escapes stay as written.
Result<std::string> decode_string(std::string_view body, int line) {
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\' || i + 1 == body.size()) {
      out += body[i];
      continue;
    }
    const char c = body[++i];
    switch (c) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case '\\': out += '\\'; break;
      case '\'': out += '\''; break;
      case '"': out += '"'; break;
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'v': out += '\v'; break;
      case '\n': break;  // a backslash-newline joins lines
      case 'x': case 'u': case 'U': {
        const size_t digits = c == 'x' ? 2 : c == 'u' ? 4 : 8;
        uint32_t cp = 0;
        for (size_t k = 0; k < digits; ++k) {
          const int h = i + 1 + k < body.size() ? hex_value(body[i + 1 + k]) : -1;
          if (h < 0) return template_error(line, std::string("truncated \\") + c + " escape in a string");
          cp = cp * 16 + static_cast<uint32_t>(h);
        }
        if (cp > 0x10ffff) return template_error(line, "illegal Unicode character in a string");
        append_utf8(out, cp);
        i += digits;
        break;
      }
      default:
        if (c >= '0' && c <= '7') {
          uint32_t cp = static_cast<uint32_t>(c - '0');
          for (int k = 0; k < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7'; ++k) {
            cp = cp * 8 + static_cast<uint32_t>(body[++i] - '0');
          }
          append_utf8(out, cp);
        } else {
          out += '\\';
          out += c;
        }
    }
  }
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string source) : src_(std::move(source)) {}

  Result<std::vector<Token>> run() {
    bool line_starting = true;  // the previous tag ended with a newline (or this is the start)
    while (pos_ < src_.size()) {
      const size_t tag = find_tag(pos_);
      std::string text = src_.substr(pos_, tag - pos_);
      if (tag == src_.size()) {
        emit_text(std::move(text));
        pos_ = tag;
        break;
      }
      const char opener = src_[tag + 1];  // '{', '%' or '#'
      const char marker = tag + 2 < src_.size() ? src_[tag + 2] : '\0';
      if (marker == '-') {
        size_t keep = text.size();
        while (keep > 0 && is_space(text[keep - 1])) --keep;
        text.resize(keep);
      } else if (marker != '+' && opener != '{') {
        // lstrip_blocks: only whitespace between the line start and the tag.
        const size_t newline = text.rfind('\n');
        const size_t line_start = newline == std::string::npos ? 0 : newline + 1;
        if ((newline != std::string::npos || line_starting) && line_start < text.size() &&
            text.find_first_not_of(" \t\f\v\r", line_start) == std::string::npos) {
          text.resize(line_start);
        }
      }
      emit_text(std::move(text));
      line_ += count_newlines(pos_, tag);
      pos_ = tag + 2 + ((marker == '-' || marker == '+') ? 1 : 0);
      Status status;
      if (opener == '#') {
        status = comment();
      } else if (opener == '%' && raw_block()) {
        status = raw_body();
      } else {
        status = tag_body(opener == '{');
      }
      if (!status) return status.error();
      line_starting = pos_ > 0 && src_[pos_ - 1] == '\n';
    }
    tokens_.push_back({TokenKind::End, "", line_});
    return std::move(tokens_);
  }

 private:
  std::string src_;
  size_t pos_ = 0;
  int line_ = 1;
  std::vector<Token> tokens_;

  size_t find_tag(size_t from) const {
    for (size_t i = from; i + 1 < src_.size(); ++i) {
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return src_.size();
  }

  int count_newlines(size_t from, size_t to) const {
    int n = 0;
    for (size_t i = from; i < to && i < src_.size(); ++i) n += src_[i] == '\n';
    return n;
  }

  void emit_text(std::string text) {
    if (!text.empty()) tokens_.push_back({TokenKind::Text, std::move(text), line_});
  }

  // After a tag's closing "%}" or "#}": "-" strips all whitespace that
  // follows, trim_blocks one newline ("+" keeps it).
  void after_close(char marker, bool block_like) {
    if (marker == '-') {
      while (pos_ < src_.size() && is_space(src_[pos_])) {
        line_ += src_[pos_] == '\n';
        ++pos_;
      }
    } else if (marker != '+' && block_like && pos_ < src_.size() && src_[pos_] == '\n') {
      ++line_;
      ++pos_;
    }
  }

  Status comment() {
    const int start_line = line_;
    const size_t end = src_.find("#}", pos_);
    if (end == std::string::npos) return template_error(start_line, "missing end of comment tag");
    const char marker = end > pos_ ? src_[end - 1] : '\0';
    line_ += count_newlines(pos_, end);
    pos_ = end + 2;
    after_close(marker == '-' || marker == '+' ? marker : '\0', true);
    return Status::ok();
  }

  // "{% raw %}": its body is text up to "{% endraw %}".
  bool raw_block() {
    size_t i = pos_;
    while (i < src_.size() && is_space(src_[i])) ++i;
    if (src_.compare(i, 3, "raw") != 0 || (i + 3 < src_.size() && is_name_char(src_[i + 3]))) return false;
    i += 3;
    while (i < src_.size() && is_space(src_[i])) ++i;
    char marker = '\0';
    // jinja2's raw_begin rule knows only "-%}" and "%}" and, unlike every
    // other tag, takes no trim_blocks newline after it ("+%}" is then an
    // unknown "raw" tag, as in jinja2).
    if (i < src_.size() && src_[i] == '-') marker = src_[i++];
    if (src_.compare(i, 2, "%}") != 0) return false;
    line_ += count_newlines(pos_, i);
    pos_ = i + 2;
    if (marker == '-') after_close(marker, true);
    return true;
  }

  Status raw_body() {
    const int start_line = line_;
    for (size_t i = pos_; i + 1 < src_.size(); ++i) {
      if (src_[i] != '{' || src_[i + 1] != '%') continue;
      size_t j = i + 2;
      const char open_marker = j < src_.size() ? src_[j] : '\0';
      if (open_marker == '-' || open_marker == '+') ++j;
      while (j < src_.size() && is_space(src_[j])) ++j;
      if (src_.compare(j, 6, "endraw") != 0) continue;
      j += 6;
      while (j < src_.size() && is_space(src_[j])) ++j;
      char marker = '\0';
      if (j < src_.size() && (src_[j] == '-' || src_[j] == '+')) marker = src_[j++];
      if (src_.compare(j, 2, "%}") != 0) continue;
      std::string text = src_.substr(pos_, i - pos_);
      if (open_marker == '-') {
        while (!text.empty() && is_space(text.back())) text.pop_back();
      } else if (open_marker != '+') {
        // lstrip_blocks before {% endraw %} too (jinja2's OptionalLStrip).
        const size_t newline = text.rfind('\n');
        if (newline != std::string::npos && text.find_first_not_of(" \t\f\v\r", newline + 1) == std::string::npos) {
          text.resize(newline + 1);
        }
      }
      emit_text(std::move(text));
      line_ += count_newlines(pos_, j);
      pos_ = j + 2;
      after_close(marker, true);
      return Status::ok();
    }
    return template_error(start_line, "missing end of raw directive");
  }

  Status tag_body(bool variable) {
    tokens_.push_back({variable ? TokenKind::VarBegin : TokenKind::BlockBegin, "", line_});
    std::vector<char> brackets;
    const char closer = variable ? '}' : '%';
    while (true) {
      if (pos_ >= src_.size()) {
        return template_error(line_, variable ? "unexpected end of template, expected '}}'" : "unexpected end of template, expected '%}'");
      }
      // The end tag, checked first at every position (as jinja2's rules are).
      if (brackets.empty()) {
        const char marker = src_[pos_];
        const bool has_marker = marker == '-' || (marker == '+' && !variable);
        const size_t at = has_marker ? pos_ + 1 : pos_;
        if (at + 1 < src_.size() && src_[at] == closer && src_[at + 1] == '}') {
          pos_ = at + 2;
          tokens_.push_back({variable ? TokenKind::VarEnd : TokenKind::BlockEnd, "", line_});
          after_close(has_marker ? marker : '\0', !variable);
          return Status::ok();
        }
      }
      const char c = src_[pos_];
      if (is_space(c)) {
        line_ += c == '\n';
        ++pos_;
        continue;
      }
      if (is_name_start(c)) {
        size_t end = pos_;
        while (end < src_.size() && is_name_char(src_[end])) ++end;
        tokens_.push_back({TokenKind::Name, src_.substr(pos_, end - pos_), line_});
        pos_ = end;
        continue;
      }
      if (std::isdigit(static_cast<unsigned char>(c))) {
        number();
        continue;
      }
      if (c == '\'' || c == '"') {
        WS_TRY(string_literal(c));
        continue;
      }
      static const char* kLong[] = {"//", "**", "==", "!=", ">=", "<="};
      bool matched = false;
      for (const char* op : kLong) {
        if (src_.compare(pos_, 2, op) == 0) {
          tokens_.push_back({TokenKind::Operator, op, line_});
          pos_ += 2;
          matched = true;
          break;
        }
      }
      if (matched) continue;
      if (std::string("+-/*%~[](){}<>=.:|,;").find(c) == std::string::npos) {
        return template_error(line_, std::string("unexpected char '") + c + "'");
      }
      if (c == '(' || c == '[' || c == '{') brackets.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
      if (c == ')' || c == ']' || c == '}') {
        if (brackets.empty()) return template_error(line_, std::string("unexpected '") + c + "'");
        if (brackets.back() != c) {
          return template_error(line_, std::string("unexpected '") + c + "', expected '" + brackets.back() + "'");
        }
        brackets.pop_back();
      }
      tokens_.push_back({TokenKind::Operator, std::string(1, c), line_});
      ++pos_;
    }
  }

  void number() {
    size_t end = pos_;
    auto digits = [&] {
      while (end < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[end])) ||
                                   (src_[end] == '_' && end + 1 < src_.size() && std::isdigit(static_cast<unsigned char>(src_[end + 1]))))) {
        ++end;
      }
    };
    digits();
    bool is_float = false;
    if (end + 1 < src_.size() && src_[end] == '.' && std::isdigit(static_cast<unsigned char>(src_[end + 1]))) {
      is_float = true;
      ++end;
      digits();
    }
    if (end < src_.size() && (src_[end] == 'e' || src_[end] == 'E')) {
      size_t e = end + 1;
      if (e < src_.size() && (src_[e] == '+' || src_[e] == '-')) ++e;
      if (e < src_.size() && std::isdigit(static_cast<unsigned char>(src_[e]))) {
        is_float = true;
        end = e;
        digits();
      }
    }
    std::string text;
    for (size_t i = pos_; i < end; ++i) {
      if (src_[i] != '_') text += src_[i];
    }
    tokens_.push_back({is_float ? TokenKind::Float : TokenKind::Integer, text, line_});
    pos_ = end;
  }

  Status string_literal(char quote) {
    const int start_line = line_;
    size_t end = pos_ + 1;
    while (end < src_.size() && src_[end] != quote) {
      if (src_[end] == '\\') ++end;
      ++end;
    }
    if (end >= src_.size()) return template_error(start_line, "unexpected end of string");
    WS_ASSIGN_OR_RETURN(std::string value, decode_string(std::string_view(src_).substr(pos_ + 1, end - pos_ - 1), start_line));
    line_ += count_newlines(pos_, end);
    tokens_.push_back({TokenKind::String, std::move(value), start_line});
    pos_ = end + 1;
    return Status::ok();
  }
};

}  // namespace

Result<std::vector<Token>> tokenize(std::string_view source) {
  return Lexer(normalize_newlines(source)).run();
}

}  // namespace ws::jinja
