// Template source to tokens, with jinja2's whitespace rules as transformers
// configures them: trim_blocks (one newline after a block or comment tag is
// dropped), lstrip_blocks (spaces and tabs before a block or comment tag on
// its own line are dropped), keep_trailing_newline off, "-" and "+" markers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace ws::jinja {

enum class TokenKind { Text, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Integer, Float, Operator, End };

struct Token {
  TokenKind kind;
  std::string text;  // Text: the data; String: the decoded value; Name/Operator/numbers: as written
  int line;
};

// Errors: Template ("template line N: ...") for an unterminated tag, comment,
// string or raw block, an unbalanced bracket, or a character jinja2 rejects.
Result<std::vector<Token>> tokenize(std::string_view source);

// "template line N: message" as a typed error.
Error template_error(int line, const std::string& message);

}  // namespace ws::jinja
