// The parsed form of a template: one node type for statements and
// expressions alike (a kind plus its parts), built by parser.cpp and walked
// by render.cpp. Internal to src/template.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "template/value.h"

namespace ws::jinja {

struct Node;
using NodePtr = std::unique_ptr<Node>;
using Body = std::vector<NodePtr>;

enum class NodeKind {
  // expressions
  Literal,    // literal
  Name,       // name
  ListExpr,   // kids: items (tuple = true for a tuple)
  DictExpr,   // kids: key, value, key, value, ...
  Attribute,  // kids[0] . name
  Subscript,  // kids[0] [ kids[1] ]
  Slice,      // kids[0] [ kids[1] : kids[2] : kids[3] ]; absent parts are null
  Call,       // kids[0] ( args )
  Filter,     // kids[0] | name ( args ); kids[0] null inside {% filter %}
  Test,       // kids[0] is [not] name ( args )
  Unary,      // op kids[0]: "-", "+", "not"
  Binary,     // kids[0] op kids[1]: + - * / // % ** ~ == != < <= > >= in notin
  And, Or,    // kids[0], kids[1]
  Conditional,  // kids[1] if kids[0] else kids[2] (kids[2] may be null)
  // statements
  Text,       // literal output (name)
  Print,      // {{ kids[0] }}
  If,         // kids: conditions; bodies: one per condition, then the else body
  For,        // targets in kids[0] [if kids[1]]; bodies[0] body, bodies[1] else; flag: recursive
  Set,        // targets (or kids[1] = ns attribute target) = kids[0], or bodies[0] as a block (+ filters in kids[2])
  Macro,      // name(params = defaults) bodies[0]
  CallBlock,  // {% call(params) kids[0] %} bodies[0]
  FilterBlock,  // kids[0]: filter chain with a null innermost operand; bodies[0]
  With,       // targets[i] = kids[i], in a scope of their own, for bodies[0]
  Break, Continue,
};

struct Node {
  NodeKind kind;
  int line = 0;
  std::string name;                // identifier, operator, filter/test name, text
  Value literal;                   // Literal
  bool flag = false;               // Test: negated; ListExpr: tuple; For: recursive
  std::vector<NodePtr> kids;       // operands (see NodeKind); call args after the callee
  std::vector<std::string> keywords;  // Call/Filter/Test: per argument, its keyword ("" = positional, "*"/"**" = spread)
  std::vector<std::string> targets;   // For/Set targets, Macro/CallBlock parameter names
  std::vector<NodePtr> defaults;      // Macro/CallBlock parameter defaults (null = required)
  std::vector<Body> bodies;
  size_t first_arg = 1;            // Call/Filter/Test: index of the first argument in kids
};

struct Program {
  Body body;
};

}  // namespace ws::jinja
