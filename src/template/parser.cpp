#include "template/parser.h"

#include <cerrno>
#include <cstdlib>
#include <set>

#include "template/lexer.h"

namespace ws::jinja {

namespace {

NodePtr make(NodeKind kind, int line) {
  auto node = std::make_unique<Node>();
  node->kind = kind;
  node->line = line;
  return node;
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, int max_depth) : tokens_(std::move(tokens)), max_depth_(max_depth) {}

  Result<Body> parse_all() {
    WS_ASSIGN_OR_RETURN(Body body, subparse({}));
    if (peek().kind != TokenKind::End) return fail("unexpected '" + peek_name() + "'");
    return body;
  }

 private:
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
  int max_depth_;

  const Token& peek(size_t ahead = 0) const {
    const size_t i = pos_ + ahead;
    return i < tokens_.size() ? tokens_[i] : tokens_.back();
  }
  const Token& next() { const Token& t = peek(); if (pos_ + 1 < tokens_.size()) ++pos_; return t; }
  std::string peek_name() const { return peek().kind == TokenKind::End ? "end of template" : peek().text; }
  int line() const { return peek().line; }
  bool is_op(const char* op, size_t ahead = 0) const { return peek(ahead).kind == TokenKind::Operator && peek(ahead).text == op; }
  bool is_name(const char* name, size_t ahead = 0) const { return peek(ahead).kind == TokenKind::Name && peek(ahead).text == name; }
  Error fail(const std::string& message) const { return template_error(line(), message); }

  Status expect_op(const char* op) {
    if (!is_op(op)) return fail(std::string("expected '") + op + "', got '" + peek_name() + "'");
    next();
    return Status::ok();
  }
  Result<std::string> expect_name() {
    if (peek().kind != TokenKind::Name) return fail("expected a name, got '" + peek_name() + "'");
    return next().text;
  }
  Status expect_block_end() {
    if (peek().kind != TokenKind::BlockEnd) return fail("expected end of statement block, got '" + peek_name() + "'");
    next();
    return Status::ok();
  }

  // Guards the recursion of both statement and expression parsing.
  struct DepthGuard {
    Parser& p;
    explicit DepthGuard(Parser& parser) : p(parser) { ++p.depth_; }
    ~DepthGuard() { --p.depth_; }
  };
  Status check_depth() const {
    if (depth_ > max_depth_) return fail("template nests deeper than " + std::to_string(max_depth_) + " levels");
    return Status::ok();
  }

  // Statements up to a block tag whose first name is in `ends` (left unread:
  // the position is at that name).
  Result<Body> subparse(const std::set<std::string>& ends) {
    DepthGuard guard(*this);
    WS_TRY(check_depth());
    Body body;
    while (true) {
      const Token& t = peek();
      if (t.kind == TokenKind::End) {
        if (!ends.empty()) {
          std::string names;
          for (const auto& e : ends) names += (names.empty() ? "" : " or ") + std::string("'") + e + "'";
          return fail("unexpected end of template, expected " + names);
        }
        return body;
      }
      if (t.kind == TokenKind::Text) {
        NodePtr text = make(NodeKind::Text, t.line);
        text->name = t.text;
        body.push_back(std::move(text));
        next();
      } else if (t.kind == TokenKind::VarBegin) {
        next();
        NodePtr print = make(NodeKind::Print, t.line);
        WS_ASSIGN_OR_RETURN(NodePtr expr, parse_tuple(true, false, {}));
        print->kids.push_back(std::move(expr));
        if (peek().kind != TokenKind::VarEnd) return fail("expected end of print statement, got '" + peek_name() + "'");
        next();
        body.push_back(std::move(print));
      } else if (t.kind == TokenKind::BlockBegin) {
        if (peek(1).kind == TokenKind::Name && ends.count(peek(1).text)) {
          next();
          return body;
        }
        next();
        WS_ASSIGN_OR_RETURN(NodePtr statement, parse_statement());
        if (statement) body.push_back(std::move(statement));
      } else {
        return fail("unexpected '" + peek_name() + "'");
      }
    }
  }

  Result<NodePtr> parse_statement() {
    const int at = line();
    if (peek().kind != TokenKind::Name) return fail("tag name expected");
    const std::string tag = next().text;
    if (tag == "if") return parse_if(at);
    if (tag == "for") return parse_for(at);
    if (tag == "set") return parse_set(at);
    if (tag == "macro") return parse_macro(at);
    if (tag == "call") return parse_call_block(at);
    if (tag == "filter") return parse_filter_block(at);
    if (tag == "generation") return parse_generation(at);
    if (tag == "with") return parse_with(at);
    if (tag == "break" || tag == "continue") {
      WS_TRY(expect_block_end());
      return make(tag == "break" ? NodeKind::Break : NodeKind::Continue, at);
    }
    return template_error(at, "encountered unknown tag '" + tag + "'");
  }

  // Consumes "endX" (already peeked by subparse) and the block end.
  Status end_tag(const char* name) {
    if (!is_name(name)) return fail(std::string("expected '") + name + "'");
    next();
    return expect_block_end();
  }

  Result<NodePtr> parse_if(int at) {
    NodePtr node = make(NodeKind::If, at);
    while (true) {
      WS_ASSIGN_OR_RETURN(NodePtr cond, parse_tuple(false, false, {}));
      WS_TRY(expect_block_end());
      node->kids.push_back(std::move(cond));
      WS_ASSIGN_OR_RETURN(Body body, subparse({"elif", "else", "endif"}));
      node->bodies.push_back(std::move(body));
      const std::string which = next().text;
      if (which == "elif") continue;
      if (which == "else") {
        WS_TRY(expect_block_end());
        WS_ASSIGN_OR_RETURN(Body other, subparse({"endif"}));
        node->bodies.push_back(std::move(other));
        next();
      } else {
        node->bodies.emplace_back();
      }
      WS_TRY(expect_block_end());
      return node;
    }
  }

  // Names, or a tuple of names ("for k, v in", "set a, b =").
  Result<std::vector<std::string>> parse_targets() {
    std::vector<std::string> names;
    const bool paren = is_op("(");
    if (paren) next();
    while (true) {
      WS_ASSIGN_OR_RETURN(std::string name, expect_name());
      names.push_back(name);
      if (!is_op(",")) break;
      next();
      if (peek().kind != TokenKind::Name) break;
    }
    if (paren) WS_TRY(expect_op(")"));
    return names;
  }

  Result<NodePtr> parse_for(int at) {
    NodePtr node = make(NodeKind::For, at);
    WS_ASSIGN_OR_RETURN(node->targets, parse_targets());
    if (!is_name("in")) return fail("expected 'in', got '" + peek_name() + "'");
    next();
    WS_ASSIGN_OR_RETURN(NodePtr iter, parse_tuple(false, false, {"recursive", "if"}));
    node->kids.push_back(std::move(iter));
    if (is_name("if")) {
      next();
      WS_ASSIGN_OR_RETURN(NodePtr cond, parse_expression(true));
      node->kids.push_back(std::move(cond));
    }
    if (is_name("recursive")) {
      next();
      node->flag = true;
    }
    WS_TRY(expect_block_end());
    WS_ASSIGN_OR_RETURN(Body body, subparse({"endfor", "else"}));
    node->bodies.push_back(std::move(body));
    if (next().text == "else") {
      WS_TRY(expect_block_end());
      WS_ASSIGN_OR_RETURN(Body other, subparse({"endfor"}));
      node->bodies.push_back(std::move(other));
      next();
    } else {
      node->bodies.emplace_back();
    }
    WS_TRY(expect_block_end());
    return node;
  }

  Result<NodePtr> parse_set(int at) {
    NodePtr node = make(NodeKind::Set, at);
    if (peek().kind == TokenKind::Name && is_op(".", 1) && peek(2).kind == TokenKind::Name) {
      // ns.attr = value
      NodePtr target = make(NodeKind::Attribute, at);
      NodePtr ns = make(NodeKind::Name, at);
      ns->name = next().text;
      next();
      target->name = next().text;
      target->kids.push_back(std::move(ns));
      WS_TRY(expect_op("="));
      WS_ASSIGN_OR_RETURN(NodePtr value, parse_tuple(true, false, {}));
      node->kids.push_back(std::move(value));
      node->kids.push_back(std::move(target));
      WS_TRY(expect_block_end());
      return node;
    }
    WS_ASSIGN_OR_RETURN(node->targets, parse_targets());
    if (is_op("=")) {
      next();
      WS_ASSIGN_OR_RETURN(NodePtr value, parse_tuple(true, false, {}));
      node->kids.push_back(std::move(value));
      WS_TRY(expect_block_end());
      return node;
    }
    // {% set x %}...{% endset %}, optionally with "| filter" chains.
    if (node->targets.size() != 1) return fail("a block set takes one name");
    node->kids.push_back(nullptr);
    node->kids.push_back(nullptr);
    if (is_op("|")) {
      WS_ASSIGN_OR_RETURN(NodePtr chain, parse_filters(nullptr, false));
      node->kids.push_back(std::move(chain));
    }
    WS_TRY(expect_block_end());
    WS_ASSIGN_OR_RETURN(Body body, subparse({"endset"}));
    node->bodies.push_back(std::move(body));
    WS_TRY(end_tag("endset"));
    return node;
  }

  Status parse_params(Node& node) {
    WS_TRY(expect_op("("));
    while (!is_op(")")) {
      if (!node.targets.empty()) WS_TRY(expect_op(","));
      if (is_op(")")) break;
      WS_ASSIGN_OR_RETURN(std::string name, expect_name());
      node.targets.push_back(name);
      if (is_op("=")) {
        next();
        WS_ASSIGN_OR_RETURN(NodePtr value, parse_expression(true));
        node.defaults.push_back(std::move(value));
      } else {
        node.defaults.push_back(nullptr);
      }
    }
    next();
    return Status::ok();
  }

  Result<NodePtr> parse_macro(int at) {
    NodePtr node = make(NodeKind::Macro, at);
    WS_ASSIGN_OR_RETURN(node->name, expect_name());
    WS_TRY(parse_params(*node));
    WS_TRY(expect_block_end());
    WS_ASSIGN_OR_RETURN(Body body, subparse({"endmacro"}));
    node->bodies.push_back(std::move(body));
    next();
    if (peek().kind == TokenKind::Name) next();  // {% endmacro name %}
    WS_TRY(expect_block_end());
    return node;
  }

  Result<NodePtr> parse_call_block(int at) {
    NodePtr node = make(NodeKind::CallBlock, at);
    if (is_op("(")) WS_TRY(parse_params(*node));
    WS_ASSIGN_OR_RETURN(NodePtr call, parse_expression(true));
    if (call->kind != NodeKind::Call) return template_error(at, "expected call");
    node->kids.push_back(std::move(call));
    WS_TRY(expect_block_end());
    WS_ASSIGN_OR_RETURN(Body body, subparse({"endcall"}));
    node->bodies.push_back(std::move(body));
    WS_TRY(end_tag("endcall"));
    return node;
  }

  Result<NodePtr> parse_filter_block(int at) {
    NodePtr node = make(NodeKind::FilterBlock, at);
    WS_ASSIGN_OR_RETURN(NodePtr chain, parse_filters(nullptr, true));
    node->kids.push_back(std::move(chain));
    WS_TRY(expect_block_end());
    WS_ASSIGN_OR_RETURN(Body body, subparse({"endfilter"}));
    node->bodies.push_back(std::move(body));
    WS_TRY(end_tag("endfilter"));
    return node;
  }

  // {% with a = x, b = y %}...{% endwith %}: names (targets) bound to kids in
  // a scope of their own.
  Result<NodePtr> parse_with(int at) {
    NodePtr node = make(NodeKind::With, at);
    while (peek().kind != TokenKind::BlockEnd) {
      if (!node->targets.empty()) WS_TRY(expect_op(","));
      WS_ASSIGN_OR_RETURN(std::string name, expect_name());
      WS_TRY(expect_op("="));
      WS_ASSIGN_OR_RETURN(NodePtr value, parse_expression(true));
      node->targets.push_back(name);
      node->kids.push_back(std::move(value));
    }
    WS_TRY(expect_block_end());
    WS_ASSIGN_OR_RETURN(Body body, subparse({"endwith"}));
    node->bodies.push_back(std::move(body));
    WS_TRY(end_tag("endwith"));
    return node;
  }

  // transformers' {% generation %} marks assistant text for its masks; the
  // text itself renders as written.
  Result<NodePtr> parse_generation(int at) {
    NodePtr node = make(NodeKind::FilterBlock, at);
    node->kids.push_back(nullptr);
    WS_TRY(expect_block_end());
    WS_ASSIGN_OR_RETURN(Body body, subparse({"endgeneration"}));
    node->bodies.push_back(std::move(body));
    WS_TRY(end_tag("endgeneration"));
    return node;
  }

  // ---- expressions ----

  bool tuple_end(const std::set<std::string>& extra_ends) const {
    const Token& t = peek();
    if (t.kind == TokenKind::VarEnd || t.kind == TokenKind::BlockEnd || t.kind == TokenKind::End) return true;
    if (t.kind == TokenKind::Operator && (t.text == ")" || t.text == "]" || t.text == "}")) return true;
    return t.kind == TokenKind::Name && extra_ends.count(t.text);
  }

  Result<NodePtr> parse_tuple(bool with_condexpr, bool explicit_parens, const std::set<std::string>& extra_ends) {
    const int at = line();
    std::vector<NodePtr> items;
    bool is_tuple = false;
    while (true) {
      if (!items.empty()) {
        if (!is_op(",")) break;
        next();
        is_tuple = true;
      }
      if (tuple_end(extra_ends)) break;
      WS_ASSIGN_OR_RETURN(NodePtr item, parse_expression(with_condexpr));
      items.push_back(std::move(item));
    }
    if (!is_tuple && items.size() == 1) return std::move(items[0]);
    if (items.empty() && !explicit_parens) return fail("expected an expression, got '" + peek_name() + "'");
    NodePtr node = make(NodeKind::ListExpr, at);
    node->flag = true;
    node->kids = std::move(items);
    return node;
  }

  Result<NodePtr> parse_expression(bool with_condexpr) {
    DepthGuard guard(*this);
    WS_TRY(check_depth());
    if (!with_condexpr) return parse_or();
    WS_ASSIGN_OR_RETURN(NodePtr expr, parse_or());
    while (is_name("if")) {
      const int at = line();
      next();
      WS_ASSIGN_OR_RETURN(NodePtr cond, parse_or());
      NodePtr node = make(NodeKind::Conditional, at);
      node->kids.push_back(std::move(cond));
      node->kids.push_back(std::move(expr));
      if (is_name("else")) {
        next();
        WS_ASSIGN_OR_RETURN(NodePtr other, parse_expression(true));
        node->kids.push_back(std::move(other));
      } else {
        node->kids.push_back(nullptr);
      }
      expr = std::move(node);
    }
    return expr;
  }

  NodePtr binary(NodeKind kind, const std::string& op, NodePtr left, NodePtr right, int at) {
    NodePtr node = make(kind, at);
    node->name = op;
    node->kids.push_back(std::move(left));
    node->kids.push_back(std::move(right));
    return node;
  }

  Result<NodePtr> parse_or() {
    WS_ASSIGN_OR_RETURN(NodePtr left, parse_and());
    while (is_name("or")) {
      const int at = line();
      next();
      WS_ASSIGN_OR_RETURN(NodePtr right, parse_and());
      left = binary(NodeKind::Or, "or", std::move(left), std::move(right), at);
    }
    return left;
  }

  Result<NodePtr> parse_and() {
    WS_ASSIGN_OR_RETURN(NodePtr left, parse_not());
    while (is_name("and")) {
      const int at = line();
      next();
      WS_ASSIGN_OR_RETURN(NodePtr right, parse_not());
      left = binary(NodeKind::And, "and", std::move(left), std::move(right), at);
    }
    return left;
  }

  Result<NodePtr> parse_not() {
    if (is_name("not")) {
      const int at = line();
      next();
      DepthGuard guard(*this);
      WS_TRY(check_depth());
      WS_ASSIGN_OR_RETURN(NodePtr operand, parse_not());
      NodePtr node = make(NodeKind::Unary, at);
      node->name = "not";
      node->kids.push_back(std::move(operand));
      return node;
    }
    return parse_compare();
  }

  // a < b < c is (a < b) and (b < c), as in Python: kept as one Binary node
  // per operator, chained through `name` "chain".
  Result<NodePtr> parse_compare() {
    const int at = line();
    WS_ASSIGN_OR_RETURN(NodePtr first, parse_math1());
    std::vector<std::string> ops;
    std::vector<NodePtr> operands;
    operands.push_back(std::move(first));
    while (true) {
      std::string op;
      const Token& t = peek();
      if (t.kind == TokenKind::Operator && (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == "<=" ||
                                            t.text == ">" || t.text == ">=")) {
        op = t.text;
        next();
      } else if (is_name("in")) {
        op = "in";
        next();
      } else if (is_name("not") && is_name("in", 1)) {
        op = "notin";
        next();
        next();
      } else {
        break;
      }
      WS_ASSIGN_OR_RETURN(NodePtr right, parse_math1());
      ops.push_back(op);
      operands.push_back(std::move(right));
    }
    if (ops.empty()) return std::move(operands[0]);
    NodePtr node = make(NodeKind::Binary, at);
    node->name = "compare";
    node->targets = std::move(ops);
    node->kids = std::move(operands);
    return node;
  }

  Result<NodePtr> parse_math1() {
    WS_ASSIGN_OR_RETURN(NodePtr left, parse_concat());
    while (is_op("+") || is_op("-")) {
      const int at = line();
      const std::string op = next().text;
      WS_ASSIGN_OR_RETURN(NodePtr right, parse_concat());
      left = binary(NodeKind::Binary, op, std::move(left), std::move(right), at);
    }
    return left;
  }

  Result<NodePtr> parse_concat() {
    WS_ASSIGN_OR_RETURN(NodePtr left, parse_math2());
    while (is_op("~")) {
      const int at = line();
      next();
      WS_ASSIGN_OR_RETURN(NodePtr right, parse_math2());
      left = binary(NodeKind::Binary, "~", std::move(left), std::move(right), at);
    }
    return left;
  }

  Result<NodePtr> parse_math2() {
    WS_ASSIGN_OR_RETURN(NodePtr left, parse_pow());
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const int at = line();
      const std::string op = next().text;
      WS_ASSIGN_OR_RETURN(NodePtr right, parse_pow());
      left = binary(NodeKind::Binary, op, std::move(left), std::move(right), at);
    }
    return left;
  }

  Result<NodePtr> parse_pow() {
    WS_ASSIGN_OR_RETURN(NodePtr left, parse_unary(true));
    while (is_op("**")) {
      const int at = line();
      next();
      WS_ASSIGN_OR_RETURN(NodePtr right, parse_unary(true));
      left = binary(NodeKind::Binary, "**", std::move(left), std::move(right), at);
    }
    return left;
  }

  Result<NodePtr> parse_unary(bool with_filter) {
    DepthGuard guard(*this);
    WS_TRY(check_depth());
    NodePtr node;
    if (is_op("-") || is_op("+")) {
      const int at = line();
      const std::string op = next().text;
      WS_ASSIGN_OR_RETURN(NodePtr operand, parse_unary(false));
      node = make(NodeKind::Unary, at);
      node->name = op;
      node->kids.push_back(std::move(operand));
    } else {
      WS_ASSIGN_OR_RETURN(node, parse_primary());
    }
    WS_ASSIGN_OR_RETURN(node, parse_postfix(std::move(node)));
    if (with_filter) return parse_filter_expr(std::move(node));
    return node;
  }

  Result<NodePtr> parse_primary() {
    const Token& t = peek();
    const int at = t.line;
    if (t.kind == TokenKind::Name) {
      const std::string name = next().text;
      NodePtr node = make(NodeKind::Literal, at);
      if (name == "true" || name == "True") node->literal = Value::from_bool(true);
      else if (name == "false" || name == "False") node->literal = Value::from_bool(false);
      else if (name == "none" || name == "None") node->literal = Value::none();
      else {
        node->kind = NodeKind::Name;
        node->name = name;
      }
      return node;
    }
    if (t.kind == TokenKind::String) {
      std::string text;
      while (peek().kind == TokenKind::String) text += next().text;
      NodePtr node = make(NodeKind::Literal, at);
      node->literal = Value::from_string(std::move(text));
      return node;
    }
    if (t.kind == TokenKind::Integer || t.kind == TokenKind::Float) {
      const std::string text = next().text;
      NodePtr node = make(NodeKind::Literal, at);
      errno = 0;
      if (t.kind == TokenKind::Integer) {
        const long long value = std::strtoll(text.c_str(), nullptr, 10);
        if (errno == ERANGE) return template_error(at, "integer literal out of range: " + text);
        node->literal = Value::from_int(value);
      } else {
        node->literal = Value::from_float(std::strtod(text.c_str(), nullptr));
      }
      return node;
    }
    if (is_op("(")) {
      next();
      WS_ASSIGN_OR_RETURN(NodePtr inner, parse_tuple(true, true, {}));
      WS_TRY(expect_op(")"));
      return inner;
    }
    if (is_op("[")) {
      next();
      NodePtr node = make(NodeKind::ListExpr, at);
      while (!is_op("]")) {
        if (!node->kids.empty()) WS_TRY(expect_op(","));
        if (is_op("]")) break;
        WS_ASSIGN_OR_RETURN(NodePtr item, parse_expression(true));
        node->kids.push_back(std::move(item));
      }
      next();
      return node;
    }
    if (is_op("{")) {
      next();
      NodePtr node = make(NodeKind::DictExpr, at);
      while (!is_op("}")) {
        if (!node->kids.empty()) WS_TRY(expect_op(","));
        if (is_op("}")) break;
        WS_ASSIGN_OR_RETURN(NodePtr key, parse_expression(true));
        WS_TRY(expect_op(":"));
        WS_ASSIGN_OR_RETURN(NodePtr value, parse_expression(true));
        node->kids.push_back(std::move(key));
        node->kids.push_back(std::move(value));
      }
      next();
      return node;
    }
    return fail("unexpected '" + peek_name() + "'");
  }

  Result<NodePtr> parse_postfix(NodePtr node) {
    while (true) {
      if (is_op(".") || is_op("[")) {
        WS_ASSIGN_OR_RETURN(node, parse_subscript(std::move(node)));
      } else if (is_op("(")) {
        WS_ASSIGN_OR_RETURN(node, parse_call(std::move(node), NodeKind::Call));
      } else {
        return node;
      }
    }
  }

  Result<NodePtr> parse_filter_expr(NodePtr node) {
    while (true) {
      if (is_op("|")) {
        WS_ASSIGN_OR_RETURN(node, parse_filters(std::move(node), false));
      } else if (is_name("is")) {
        WS_ASSIGN_OR_RETURN(node, parse_test(std::move(node)));
      } else if (is_op("(")) {
        WS_ASSIGN_OR_RETURN(node, parse_call(std::move(node), NodeKind::Call));
      } else {
        return node;
      }
    }
  }

  Result<NodePtr> parse_subscript(NodePtr node) {
    const int at = line();
    if (next().text == ".") {
      const Token& t = peek();
      if (t.kind == TokenKind::Name) {
        NodePtr attr = make(NodeKind::Attribute, at);
        attr->name = next().text;
        attr->kids.push_back(std::move(node));
        return attr;
      }
      if (t.kind == TokenKind::Integer) {
        NodePtr item = make(NodeKind::Subscript, at);
        NodePtr index = make(NodeKind::Literal, at);
        index->literal = Value::from_int(std::strtoll(next().text.c_str(), nullptr, 10));
        item->kids.push_back(std::move(node));
        item->kids.push_back(std::move(index));
        return item;
      }
      return fail("expected name or number");
    }
    // [index] or [start:stop:step]
    std::vector<NodePtr> parts(3);
    bool slice = false;
    int part = 0;
    while (!is_op("]")) {
      if (is_op(":")) {
        next();
        slice = true;
        if (++part > 2) return fail("too many ':' in a slice");
        continue;
      }
      if (parts[static_cast<size_t>(part)]) return fail("expected ']', got '" + peek_name() + "'");
      WS_ASSIGN_OR_RETURN(parts[static_cast<size_t>(part)], parse_expression(true));
    }
    next();
    if (!slice) {
      if (!parts[0]) return template_error(at, "expected an index");
      NodePtr item = make(NodeKind::Subscript, at);
      item->kids.push_back(std::move(node));
      item->kids.push_back(std::move(parts[0]));
      return item;
    }
    NodePtr item = make(NodeKind::Slice, at);
    item->kids.push_back(std::move(node));
    for (auto& p : parts) item->kids.push_back(std::move(p));
    return item;
  }

  // "(" args ")" onto `node`, which becomes kids[0] of a Call/Filter/Test.
  Status parse_args(Node& node) {
    WS_TRY(expect_op("("));
    bool first = true;
    while (!is_op(")")) {
      if (!first) WS_TRY(expect_op(","));
      first = false;
      if (is_op(")")) break;
      std::string keyword;
      if (is_op("*") || is_op("**")) {
        // f(*list) / f(**dict): spread when the call is evaluated; the
        // keyword slot holds "*" or "**" (no name can be spelled so).
        keyword = next().text;
      } else if (peek().kind == TokenKind::Name && is_op("=", 1)) {
        keyword = next().text;
        next();
      } else {
        for (const auto& k : node.keywords) {
          if (!k.empty() && k != "*") return fail("positional argument after a keyword argument");
        }
      }
      WS_ASSIGN_OR_RETURN(NodePtr value, parse_expression(true));
      node.kids.push_back(std::move(value));
      node.keywords.push_back(keyword);
    }
    next();
    return Status::ok();
  }

  Result<NodePtr> parse_call(NodePtr callee, NodeKind kind) {
    NodePtr node = make(kind, line());
    node->kids.push_back(std::move(callee));
    WS_TRY(parse_args(*node));
    return node;
  }

  Result<std::string> dotted_name() {
    WS_ASSIGN_OR_RETURN(std::string name, expect_name());
    while (is_op(".") && peek(1).kind == TokenKind::Name) {
      next();
      name += "." + next().text;
    }
    return name;
  }

  // "| name(args) | name ..." onto `node` (null inside {% filter %} / block set).
  Result<NodePtr> parse_filters(NodePtr node, bool start_inline) {
    while (is_op("|") || start_inline) {
      if (!start_inline) next();
      start_inline = false;
      NodePtr filter = make(NodeKind::Filter, line());
      WS_ASSIGN_OR_RETURN(filter->name, dotted_name());
      filter->kids.push_back(std::move(node));
      if (is_op("(")) WS_TRY(parse_args(*filter));
      node = std::move(filter);
    }
    return node;
  }

  Result<NodePtr> parse_test(NodePtr node) {
    const int at = line();
    next();  // is
    NodePtr test = make(NodeKind::Test, at);
    if (is_name("not")) {
      next();
      test->flag = true;
    }
    WS_ASSIGN_OR_RETURN(test->name, dotted_name());
    test->kids.push_back(std::move(node));
    const Token& t = peek();
    if (is_op("(")) {
      WS_TRY(parse_args(*test));
    } else if ((t.kind == TokenKind::Name || t.kind == TokenKind::String || t.kind == TokenKind::Integer ||
                t.kind == TokenKind::Float || is_op("[") || is_op("{")) &&
               !is_name("else") && !is_name("or") && !is_name("and")) {
      if (is_name("is")) return fail("You cannot chain multiple tests with is");
      WS_ASSIGN_OR_RETURN(NodePtr arg, parse_primary());
      WS_ASSIGN_OR_RETURN(arg, parse_postfix(std::move(arg)));
      test->kids.push_back(std::move(arg));
      test->keywords.emplace_back();
    }
    return test;
  }
};

}  // namespace

Result<std::shared_ptr<const Program>> parse_program(std::string_view source, int max_depth) {
  WS_ASSIGN_OR_RETURN(std::vector<Token> tokens, tokenize(source));
  Parser parser(std::move(tokens), max_depth);
  WS_ASSIGN_OR_RETURN(Body body, parser.parse_all());
  auto program = std::make_shared<Program>();
  program->body = std::move(body);
  return std::shared_ptr<const Program>(std::move(program));
}

}  // namespace ws::jinja
