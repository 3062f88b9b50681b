// Walks a parsed Program with jinja2's runtime rules: a for loop's body gets
// a fresh scope each iteration (sets inside do not leak: namespace() exists
// for that), macros see the scope they were defined in, Undefined prints as
// "" and fails only when used as an object, break/continue as
// jinja2.ext.loopcontrols. Every step counts against TemplateLimits.
#include <cmath>
#include <ctime>
#include <functional>

#include "template/ast.h"
#include "template/builtins.h"
#include "template/lexer.h"
#include "template/parser.h"
#include "template/template.h"

namespace ws {

namespace jinja {

struct Scope {
  Dict vars;
  std::shared_ptr<Scope> parent;
  // The scope of a `recursive` for loop's body: loop(items) renders the loop
  // again over items, one level deeper.
  const Node* recursive_for = nullptr;
  int64_t loop_depth = 0;
};

// A macro, a call block's caller(), or a global function.
struct Callable {
  enum class Kind { Macro, Caller, Builtin } kind;
  std::string name;
  const Node* node = nullptr;
  // Weak, so that a macro stored in the scope it closes over is no cycle;
  // a scope that is gone falls back to the template's top scope.
  std::weak_ptr<Scope> closure;
};

namespace {

enum class Flow { Normal, Break, Continue };

Value make_callable(Callable::Kind kind, std::string name, const Node* node, const std::shared_ptr<Scope>& closure) {
  auto c = std::make_shared<Callable>();
  c->kind = kind;
  c->name = std::move(name);
  c->node = node;
  c->closure = closure;
  Value v;
  v.type = Type::Callable;
  v.callable = std::move(c);
  return v;
}

// "'x' is undefined" unless the Undefined already says why it is.
std::string undefined_message(const Value& v) {
  if (v.text.empty()) return "a value is undefined";
  if (v.text.find(' ') != std::string::npos) return v.text;
  return "'" + v.text + "' is undefined";
}

class Renderer {
 public:
  Renderer(const TemplateLimits& limits, std::string* out) : limits_(limits), out_(out) {
    root_ = std::make_shared<Scope>();
  }
  ~Renderer() {
    // A namespace can hold itself (set ns.me = ns): break such cycles.
    for (auto& ns : namespaces_) ns->items.clear();
  }

  Status render(const Program& program, const nlohmann::ordered_json& context) {
    if (!context.is_object()) return make_error(ErrorKind::InvalidArgument, "template context must be a JSON object");
    for (auto it = context.begin(); it != context.end(); ++it) root_->vars.set(it.key(), from_json(it.value()));
    WS_ASSIGN_OR_RETURN(Flow flow, exec_body(program.body, root_));
    if (flow != Flow::Normal) return template_error(last_line_, "break or continue outside a loop");
    return Status::ok();
  }

 private:
  const TemplateLimits& limits_;
  std::string* out_;
  std::shared_ptr<Scope> root_;
  uint64_t steps_ = 0;
  int depth_ = 0;
  int last_line_ = 1;
  std::vector<std::shared_ptr<Dict>> namespaces_;

  struct DepthGuard {
    int& depth;
    explicit DepthGuard(int& d) : depth(d) { ++depth; }
    ~DepthGuard() { --depth; }
  };

  Status step(const Node& node) {
    last_line_ = node.line;
    if (++steps_ > limits_.max_steps) {
      return make_error(ErrorKind::OutOfBudget, "template line " + std::to_string(node.line) + ": rendering took more than " +
                                                    std::to_string(limits_.max_steps) + " steps");
    }
    // Render recursion: the parse depth bounds the tree, macro calls add to
    // it. 2x max_depth keeps a recursive macro well inside the wasm build's
    // 1 MiB stack (about 3 levels per macro call, a few hundred bytes each).
    if (depth_ > limits_.max_depth * 2) {
      return make_error(ErrorKind::OutOfBudget, "template line " + std::to_string(node.line) + ": recursion deeper than " +
                                                    std::to_string(limits_.max_depth * 2));
    }
    return Status::ok();
  }

  Status check_size(size_t bytes, int line) const {
    if (bytes > limits_.max_output_bytes) {
      return make_error(ErrorKind::OutOfBudget, "template line " + std::to_string(line) + ": output larger than " +
                                                    std::to_string(limits_.max_output_bytes) + " bytes");
    }
    return Status::ok();
  }

  Status check_depth(const Value& v, int line) const {
    if (v.depth > kMaxValueDepth) {
      return make_error(ErrorKind::OutOfBudget, "template line " + std::to_string(line) + ": lists or dicts nested deeper than " +
                                                    std::to_string(kMaxValueDepth));
    }
    return Status::ok();
  }

  Status emit(const std::string& text, int line) {
    WS_TRY(check_size(out_->size() + text.size(), line));
    out_->append(text);
    return Status::ok();
  }

  // Errors from builtins get the line; ours already have it.
  static Error at_line(const Error& e, int line) {
    if (e.message.rfind("template line ", 0) == 0) return e;
    return make_error(e.kind, "template line " + std::to_string(line) + ": " + e.message);
  }

  // ---- statements ----

  Result<Flow> exec_body(const Body& body, const std::shared_ptr<Scope>& scope) {
    DepthGuard guard(depth_);
    for (const NodePtr& node : body) {
      WS_ASSIGN_OR_RETURN(Flow flow, exec(*node, scope));
      if (flow != Flow::Normal) return flow;
    }
    return Flow::Normal;
  }

  // The output of `body`, rendered aside.
  Result<std::string> capture(const Body& body, const std::shared_ptr<Scope>& scope, bool loop_controls_allowed,
                              Flow* flow_out) {
    std::string text;
    std::string* saved = out_;
    out_ = &text;
    Result<Flow> flow = exec_body(body, scope);
    out_ = saved;
    if (!flow) return flow.error();
    if (flow_out) *flow_out = *flow;
    if (*flow != Flow::Normal && !loop_controls_allowed) return template_error(last_line_, "break or continue outside a loop");
    return text;
  }

  Result<Flow> exec(const Node& node, const std::shared_ptr<Scope>& scope) {
    WS_TRY(step(node));
    switch (node.kind) {
      case NodeKind::Text:
        WS_TRY(emit(node.name, node.line));
        return Flow::Normal;
      case NodeKind::Print: {
        WS_ASSIGN_OR_RETURN(Value v, eval(*node.kids[0], scope));
        WS_TRY(emit(to_str(v), node.line));
        return Flow::Normal;
      }
      case NodeKind::If:
        for (size_t i = 0; i < node.kids.size(); ++i) {
          WS_ASSIGN_OR_RETURN(Value cond, eval(*node.kids[i], scope));
          if (truthy(cond)) return exec_body(node.bodies[i], scope);
        }
        return exec_body(node.bodies.back(), scope);
      case NodeKind::For: return exec_for(node, scope);
      case NodeKind::Set: WS_TRY(exec_set(node, scope)); return Flow::Normal;
      case NodeKind::Macro:
        scope->vars.set(node.name, make_callable(Callable::Kind::Macro, node.name, &node, scope));
        return Flow::Normal;
      case NodeKind::CallBlock: {
        const Node& call = *node.kids[0];
        Value caller = make_callable(Callable::Kind::Caller, "caller", &node, scope);
        WS_ASSIGN_OR_RETURN(Value result, eval_call(call, scope, &caller));
        WS_TRY(emit(to_str(result), node.line));
        return Flow::Normal;
      }
      case NodeKind::FilterBlock: {
        auto inner = std::make_shared<Scope>();
        inner->parent = scope;
        WS_ASSIGN_OR_RETURN(std::string text, capture(node.bodies[0], inner, false, nullptr));
        if (!node.kids[0]) {
          WS_TRY(emit(text, node.line));
          return Flow::Normal;
        }
        WS_ASSIGN_OR_RETURN(Value v, apply_chain(*node.kids[0], Value::from_string(text), scope));
        WS_TRY(emit(to_str(v), node.line));
        return Flow::Normal;
      }
      case NodeKind::With: {
        auto inner = std::make_shared<Scope>();
        inner->parent = scope;
        for (size_t i = 0; i < node.kids.size(); ++i) {
          WS_ASSIGN_OR_RETURN(Value v, eval(*node.kids[i], scope));
          inner->vars.set(node.targets[i], std::move(v));
        }
        return exec_body(node.bodies[0], inner);
      }
      case NodeKind::Break: return Flow::Break;
      case NodeKind::Continue: return Flow::Continue;
      default: return template_error(node.line, "not a statement");
    }
  }

  // A filter chain parsed with a null innermost operand, applied to `value`.
  Result<Value> apply_chain(const Node& chain, Value value, const std::shared_ptr<Scope>& scope) {
    if (chain.kind != NodeKind::Filter) return template_error(chain.line, "expected a filter");
    if (chain.kids[0]) {
      WS_ASSIGN_OR_RETURN(value, apply_chain(*chain.kids[0], std::move(value), scope));
    }
    WS_ASSIGN_OR_RETURN(CallArgs args, eval_args(chain, scope));
    Result<Value> r = apply_filter(chain.name, value, args);
    if (!r) return at_line(r.error(), chain.line);
    return r;
  }

  Status assign(const std::vector<std::string>& targets, const Value& value, Scope& scope, int line) {
    if (targets.size() == 1) {
      scope.vars.set(targets[0], value);
      return Status::ok();
    }
    WS_ASSIGN_OR_RETURN(List items, iterate_value(value, line));
    if (items.size() != targets.size()) {
      return template_error(line, "cannot unpack " + std::to_string(items.size()) + " values into " +
                                      std::to_string(targets.size()) + " names");
    }
    for (size_t i = 0; i < targets.size(); ++i) scope.vars.set(targets[i], items[i]);
    return Status::ok();
  }

  Status exec_set(const Node& node, const std::shared_ptr<Scope>& scope) {
    if (node.kids.size() > 1 && node.kids[0] && node.kids[1]) {  // ns.attr = value
      const Node& target = *node.kids[1];
      WS_ASSIGN_OR_RETURN(Value ns, eval(*target.kids[0], scope));
      if (ns.type != Type::Namespace) return template_error(node.line, "cannot assign attribute on non-namespace object");
      WS_ASSIGN_OR_RETURN(Value value, eval(*node.kids[0], scope));
      if (!target.name.empty() && target.name[0] == '_') {
        return template_error(node.line, "Chat templates cannot store underscore-prefixed attributes on a namespace");
      }
      WS_TRY(check_depth(value, node.line));
      ns.dict->set(target.name, std::move(value));
      return Status::ok();
    }
    if (node.kids[0]) {
      WS_ASSIGN_OR_RETURN(Value value, eval(*node.kids[0], scope));
      return assign(node.targets, value, *scope, node.line);
    }
    // Block set: the body's text, through its filters.
    auto inner = std::make_shared<Scope>();
    inner->parent = scope;
    WS_ASSIGN_OR_RETURN(std::string text, capture(node.bodies[0], inner, false, nullptr));
    Value value = Value::from_string(std::move(text));
    if (node.kids.size() > 2 && node.kids[2]) {
      WS_ASSIGN_OR_RETURN(value, apply_chain(*node.kids[2], std::move(value), scope));
    }
    return assign(node.targets, value, *scope, node.line);
  }

  Result<List> iterate_value(const Value& v, int line) {
    switch (v.type) {
      case Type::List: return *v.list;
      case Type::Undefined: return List{};
      case Type::String: {
        List chars;
        for (auto& c : utf8_chars(v.text)) chars.push_back(Value::from_string(c));
        return chars;
      }
      case Type::Dict: {
        List keys;
        for (const auto& item : v.dict->items) keys.push_back(Value::from_string(item.first));
        return keys;
      }
      default: return template_error(line, "'" + type_name(v) + "' object is not iterable");
    }
  }

  Result<Flow> exec_for(const Node& node, const std::shared_ptr<Scope>& scope) {
    WS_ASSIGN_OR_RETURN(Value iterable, eval(*node.kids[0], scope));
    return run_loop(node, iterable, scope, 1);
  }

  // The loop of `node` over `iterable` at recursion depth `depth` (1 at the top).
  Result<Flow> run_loop(const Node& node, const Value& iterable, const std::shared_ptr<Scope>& scope, int64_t depth) {
    WS_ASSIGN_OR_RETURN(List all, iterate_value(iterable, node.line));
    List items;
    if (node.kids.size() > 1) {  // for x in y if cond: filtered before the loop counts
      for (const Value& item : all) {
        auto probe = std::make_shared<Scope>();
        probe->parent = scope;
        WS_TRY(assign(node.targets, item, *probe, node.line));
        WS_ASSIGN_OR_RETURN(Value keep, eval(*node.kids[1], probe));
        if (truthy(keep)) items.push_back(item);
      }
    } else {
      items = std::move(all);
    }
    const int64_t n = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < n; ++i) {
      WS_TRY(step(node));
      auto inner = std::make_shared<Scope>();
      inner->parent = scope;
      Dict loop;
      loop.set("index", Value::from_int(i + 1));
      loop.set("index0", Value::from_int(i));
      loop.set("revindex", Value::from_int(n - i));
      loop.set("revindex0", Value::from_int(n - i - 1));
      loop.set("first", Value::from_bool(i == 0));
      loop.set("last", Value::from_bool(i == n - 1));
      loop.set("length", Value::from_int(n));
      loop.set("depth", Value::from_int(depth));
      loop.set("depth0", Value::from_int(depth - 1));
      if (node.flag) {
        inner->recursive_for = &node;
        inner->loop_depth = depth;
      }
      if (i > 0) loop.set("previtem", items[static_cast<size_t>(i - 1)]);
      if (i + 1 < n) loop.set("nextitem", items[static_cast<size_t>(i + 1)]);
      inner->vars.set("loop", Value::from_dict(std::move(loop)));
      WS_TRY(assign(node.targets, items[static_cast<size_t>(i)], *inner, node.line));
      WS_ASSIGN_OR_RETURN(Flow flow, exec_body(node.bodies[0], inner));
      if (flow == Flow::Break) break;
    }
    if (n == 0) {
      auto inner = std::make_shared<Scope>();
      inner->parent = scope;
      return exec_body(node.bodies[1], inner);
    }
    return Flow::Normal;
  }

  // ---- expressions ----

  Value lookup(const std::string& name, const std::shared_ptr<Scope>& scope) const {
    for (const Scope* s = scope.get(); s; s = s->parent.get()) {
      if (const Value* v = s->vars.find(name)) return *v;
    }
    static const char* kGlobals[] = {"range", "namespace", "dict", "raise_exception", "strftime_now"};
    for (const char* g : kGlobals) {
      if (name == g) return make_callable(Callable::Kind::Builtin, name, nullptr, nullptr);
    }
    return Value::undefined(name);
  }

  Result<CallArgs> eval_args(const Node& node, const std::shared_ptr<Scope>& scope) {
    CallArgs args;
    for (size_t i = node.first_arg; i < node.kids.size(); ++i) {
      WS_ASSIGN_OR_RETURN(Value v, eval(*node.kids[i], scope));
      const std::string& keyword = node.keywords[i - node.first_arg];
      if (keyword == "*") {  // f(*items)
        WS_ASSIGN_OR_RETURN(List items, iterate_value(v, node.line));
        for (Value& item : items) args.positional.push_back(std::move(item));
      } else if (keyword == "**") {  // f(**mapping)
        if (!v.is_mapping()) return template_error(node.line, "argument after ** must be a mapping, not " + type_name(v));
        for (const auto& [k, item] : v.dict->items) args.keyword.emplace_back(k, item);
      } else if (keyword.empty()) args.positional.push_back(std::move(v));
      else args.keyword.emplace_back(keyword, std::move(v));
    }
    return args;
  }

  Result<Value> eval(const Node& node, const std::shared_ptr<Scope>& scope) {
    WS_TRY(step(node));
    DepthGuard guard(depth_);
    switch (node.kind) {
      case NodeKind::Literal: return node.literal;
      case NodeKind::Name: return lookup(node.name, scope);
      case NodeKind::ListExpr: {
        List items;
        for (const NodePtr& kid : node.kids) {
          WS_ASSIGN_OR_RETURN(Value v, eval(*kid, scope));
          items.push_back(std::move(v));
        }
        Value list = Value::from_list(std::move(items), node.flag);
        WS_TRY(check_depth(list, node.line));
        return list;
      }
      case NodeKind::DictExpr: {
        Dict dict;
        for (size_t i = 0; i + 1 < node.kids.size(); i += 2) {
          WS_ASSIGN_OR_RETURN(Value key, eval(*node.kids[i], scope));
          if (!key.is_string()) return template_error(node.line, "dict keys other than strings are not supported");
          WS_ASSIGN_OR_RETURN(Value value, eval(*node.kids[i + 1], scope));
          dict.set(key.text, std::move(value));
        }
        Value made = Value::from_dict(std::move(dict));
        WS_TRY(check_depth(made, node.line));
        return made;
      }
      case NodeKind::Attribute: {
        WS_ASSIGN_OR_RETURN(Value object, eval(*node.kids[0], scope));
        if (object.is_undefined()) return template_error(node.line, undefined_message(object));
        if (object.is_mapping()) {
          if (const Value* hit = object.dict->find(node.name)) return *hit;
        }
        return Value::undefined("'" + type_name(object) + " object' has no attribute '" + node.name + "'");
      }
      case NodeKind::Subscript: {
        WS_ASSIGN_OR_RETURN(Value object, eval(*node.kids[0], scope));
        if (object.is_undefined()) return template_error(node.line, undefined_message(object));
        WS_ASSIGN_OR_RETURN(Value key, eval(*node.kids[1], scope));
        Value got = get_item(object, key);
        if (got.is_undefined()) {
          got.text = "'" + type_name(object) + " object' has no attribute '" + (key.is_string() ? key.text : to_str(key)) + "'";
        }
        return got;
      }
      case NodeKind::Slice: return eval_slice(node, scope);
      case NodeKind::Call: return eval_call(node, scope, nullptr);
      case NodeKind::Filter: {
        WS_ASSIGN_OR_RETURN(Value operand, eval(*node.kids[0], scope));
        WS_ASSIGN_OR_RETURN(CallArgs args, eval_args(node, scope));
        Result<Value> r = apply_filter(node.name, operand, args);
        if (!r) return at_line(r.error(), node.line);
        if (r->is_string()) WS_TRY(check_size(r->text.size(), node.line));
        return r;
      }
      case NodeKind::Test: {
        WS_ASSIGN_OR_RETURN(Value operand, eval(*node.kids[0], scope));
        WS_ASSIGN_OR_RETURN(CallArgs args, eval_args(node, scope));
        Result<bool> r = apply_test(node.name, operand, args);
        if (!r) return at_line(r.error(), node.line);
        return Value::from_bool(*r != node.flag);
      }
      case NodeKind::Unary: {
        WS_ASSIGN_OR_RETURN(Value v, eval(*node.kids[0], scope));
        if (node.name == "not") return Value::from_bool(!truthy(v));
        if (v.type == Type::Int || v.type == Type::Bool) {
          const int64_t i = v.type == Type::Int ? v.integer : v.boolean;
          return Value::from_int(node.name == "-" ? wrapping_neg(i) : i);
        }
        if (v.type == Type::Float) return Value::from_float(node.name == "-" ? -v.number : v.number);
        return template_error(node.line, "bad operand type for unary " + node.name + ": '" + type_name(v) + "'");
      }
      case NodeKind::And: case NodeKind::Or: {
        WS_ASSIGN_OR_RETURN(Value left, eval(*node.kids[0], scope));
        if (truthy(left) == (node.kind == NodeKind::Or)) return left;
        return eval(*node.kids[1], scope);
      }
      case NodeKind::Conditional: {
        WS_ASSIGN_OR_RETURN(Value cond, eval(*node.kids[0], scope));
        if (truthy(cond)) return eval(*node.kids[1], scope);
        if (node.kids[2]) return eval(*node.kids[2], scope);
        return Value::undefined("the inline if expression evaluated to false and no else section was defined");
      }
      case NodeKind::Binary: return eval_binary(node, scope);
      default: return template_error(node.line, "not an expression");
    }
  }

  Result<Value> eval_slice(const Node& node, const std::shared_ptr<Scope>& scope) {
    WS_ASSIGN_OR_RETURN(Value object, eval(*node.kids[0], scope));
    if (object.is_undefined()) return template_error(node.line, undefined_message(object));
    int64_t bounds[3];
    bool given[3];
    for (int k = 0; k < 3; ++k) {
      given[k] = false;
      bounds[k] = 0;
      if (!node.kids[static_cast<size_t>(k) + 1]) continue;
      WS_ASSIGN_OR_RETURN(Value b, eval(*node.kids[static_cast<size_t>(k) + 1], scope));
      if (b.type == Type::None) continue;
      if (b.type != Type::Int) return template_error(node.line, "slice indices must be integers or None");
      given[k] = true;
      bounds[k] = b.integer;
    }
    const int64_t step_by = given[2] ? bounds[2] : 1;
    if (step_by == 0) return template_error(node.line, "slice step cannot be zero");
    std::vector<std::string> chars;
    List source;
    if (object.is_string()) {
      chars = utf8_chars(object.text);
    } else if (object.is_list()) {
      source = *object.list;
    } else {
      return template_error(node.line, "'" + type_name(object) + "' object is not subscriptable");
    }
    const int64_t n = static_cast<int64_t>(object.is_string() ? chars.size() : source.size());
    // Python's slice.indices().
    auto clamp_index = [&](int64_t i, bool is_given, int64_t fallback) {
      if (!is_given) return fallback;
      if (i < 0) i += n;
      if (step_by > 0) return std::min(std::max<int64_t>(i, 0), n);
      return std::min(std::max<int64_t>(i, -1), n - 1);
    };
    const int64_t start = clamp_index(bounds[0], given[0], step_by > 0 ? 0 : n - 1);
    const int64_t stop = clamp_index(bounds[1], given[1], step_by > 0 ? n : -1);
    std::string text;
    List items;
    for (int64_t i = start; step_by > 0 ? i < stop : i > stop;) {
      if (object.is_string()) text += chars[static_cast<size_t>(i)];
      else items.push_back(source[static_cast<size_t>(i)]);
      const int64_t next = wrapping_add(i, step_by);
      if ((step_by > 0) != (next > i)) break;  // a huge step wrapped around
      i = next;
    }
    if (object.is_string()) return Value::from_string(std::move(text));
    return Value::from_list(std::move(items), object.tuple);
  }

  Result<Value> eval_call(const Node& node, const std::shared_ptr<Scope>& scope, const Value* caller) {
    const Node& callee = *node.kids[0];
    if (callee.kind == NodeKind::Attribute) {
      WS_ASSIGN_OR_RETURN(Value object, eval(*callee.kids[0], scope));
      if (object.is_undefined()) return template_error(node.line, undefined_message(object));
      WS_ASSIGN_OR_RETURN(CallArgs args, eval_args(node, scope));
      // loop.cycle(a, b, ...)
      if (callee.name == "cycle" && object.type == Type::Dict && object.dict->find("index0") && object.dict->find("revindex")) {
        if (args.positional.empty()) return template_error(node.line, "no items for cycling given");
        const int64_t i = object.dict->find("index0")->integer;
        return args.positional[static_cast<size_t>(i) % args.positional.size()];
      }
      const Value* member = object.is_mapping() ? object.dict->find(callee.name) : nullptr;
      if (member && member->type == Type::Callable) return invoke(*member, args, node.line, caller);
      if (object.type != Type::Namespace) {
        Result<Value> r = call_method(object, callee.name, args);
        if (!r) return at_line(r.error(), node.line);
        if (r->is_string()) WS_TRY(check_size(r->text.size(), node.line));
        return r;
      }
      return template_error(node.line, "'" + type_name(object) + " object' has no attribute '" + callee.name + "'");
    }
    if (callee.kind == NodeKind::Name && callee.name == "loop") {
      // loop(items) inside a `recursive` for: the scope that binds `loop`
      // says which loop and how deep.
      for (const Scope* s = scope.get(); s; s = s->parent.get()) {
        if (!s->vars.find("loop")) continue;
        if (!s->recursive_for) break;
        WS_ASSIGN_OR_RETURN(CallArgs args, eval_args(node, scope));
        if (args.positional.size() != 1 || !args.keyword.empty()) {
          return template_error(node.line, "loop() takes one iterable");
        }
        // The loop's body runs in the scope the for statement ran in.
        std::shared_ptr<Scope> outer = s->parent;
        const Node& loop_node = *s->recursive_for;
        const int64_t depth = s->loop_depth + 1;
        std::string text;
        std::string* saved = out_;
        out_ = &text;
        Result<Flow> flow = run_loop(loop_node, args.positional[0], outer, depth);
        out_ = saved;
        if (!flow) return flow.error();
        return Value::from_string(std::move(text));
      }
    }
    WS_ASSIGN_OR_RETURN(Value fn, eval(callee, scope));
    WS_ASSIGN_OR_RETURN(CallArgs args, eval_args(node, scope));
    if (fn.is_undefined()) return template_error(node.line, undefined_message(fn));
    if (fn.type != Type::Callable) return template_error(node.line, "'" + type_name(fn) + "' object is not callable");
    return invoke(fn, args, node.line, caller);
  }

  Result<Value> invoke(const Value& fn, const CallArgs& args, int line, const Value* caller) {
    const Callable& c = *fn.callable;
    if (c.kind == Callable::Kind::Builtin) return call_builtin(c.name, args, line);
    const Node& def = *c.node;
    auto frame = std::make_shared<Scope>();
    frame->parent = c.closure.lock();
    if (!frame->parent) frame->parent = root_;
    if (c.kind == Callable::Kind::Macro && args.positional.size() > def.targets.size()) {
      List extra(args.positional.begin() + static_cast<long>(def.targets.size()), args.positional.end());
      frame->vars.set("varargs", Value::from_list(std::move(extra), /*tuple=*/true));
    }
    Dict kwargs;
    for (const auto& [k, v] : args.keyword) {
      bool is_param = false;
      for (const auto& p : def.targets) is_param = is_param || p == k;
      if (!is_param) kwargs.set(k, v);
    }
    frame->vars.set("kwargs", Value::from_dict(std::move(kwargs)));
    if (caller) frame->vars.set("caller", *caller);
    for (size_t i = 0; i < def.targets.size(); ++i) {
      const Value* given = nullptr;
      for (const auto& [k, v] : args.keyword) {
        if (k == def.targets[i]) given = &v;
      }
      if (!given && i < args.positional.size()) given = &args.positional[i];
      if (given) {
        frame->vars.set(def.targets[i], *given);
      } else if (def.defaults[i]) {
        WS_ASSIGN_OR_RETURN(Value v, eval(*def.defaults[i], frame));
        frame->vars.set(def.targets[i], std::move(v));
      } else {
        frame->vars.set(def.targets[i], Value::undefined("parameter '" + def.targets[i] + "' was not provided"));
      }
    }
    DepthGuard guard(depth_);
    WS_TRY(step(def));
    WS_ASSIGN_OR_RETURN(std::string text, capture(def.bodies[0], frame, false, nullptr));
    return Value::from_string(std::move(text));
  }

  Result<Value> call_builtin(const std::string& name, const CallArgs& args, int line) {
    if (name == "raise_exception") {
      const Value* message = args.get(0, "message");
      return template_error(line, "raise_exception: " + (message ? to_str(*message) : std::string()));
    }
    if (name == "range") {
      int64_t start = 0, stop = 0, by = 1;
      for (const Value& a : args.positional) {
        if (a.type != Type::Int) return template_error(line, "range() arguments must be integers");
      }
      if (args.positional.size() == 1) stop = args.positional[0].integer;
      else if (args.positional.size() >= 2) { start = args.positional[0].integer; stop = args.positional[1].integer; }
      if (args.positional.size() == 3) by = args.positional[2].integer;
      if (args.positional.empty() || args.positional.size() > 3) return template_error(line, "range expected 1 to 3 arguments");
      if (by == 0) return template_error(line, "range() arg 3 must not be zero");
      const double count = (static_cast<double>(stop) - static_cast<double>(start)) / static_cast<double>(by);
      if (count > static_cast<double>(limits_.max_steps)) {
        return make_error(ErrorKind::OutOfBudget, "template line " + std::to_string(line) + ": range() too large");
      }
      List items;
      // In double and unsigned steps: i + by must not overflow near INT64_MAX.
      for (int64_t i = start; by > 0 ? i < stop : i > stop;) {
        items.push_back(Value::from_int(i));
        const int64_t next = wrapping_add(i, by);
        if ((by > 0) != (next > i)) break;
        i = next;
      }
      return Value::from_list(std::move(items));
    }
    if (name == "namespace" || name == "dict") {
      Dict items;
      for (const Value& a : args.positional) {
        if (a.type != Type::Dict) return template_error(line, name + "() takes a mapping and keywords");
        for (const auto& [k, v] : a.dict->items) items.set(k, v);
      }
      for (const auto& [k, v] : args.keyword) items.set(k, v);
      if (name == "dict") {
        Value made = Value::from_dict(std::move(items));
        WS_TRY(check_depth(made, line));
        return made;
      }
      for (const auto& item : items.items) {
        if (!item.first.empty() && item.first[0] == '_') {
          return template_error(line, "Chat templates cannot store underscore-prefixed attributes on a namespace");
        }
      }
      for (const auto& item : items.items) WS_TRY(check_depth(item.second, line));
      Value ns = Value::new_namespace(std::move(items));
      namespaces_.push_back(ns.dict);
      return ns;
    }
    if (name == "strftime_now") {
      const Value* format = args.get(0, "format");
      if (!format || !format->is_string()) return template_error(line, "strftime_now() needs a format string");
      const std::time_t now = std::time(nullptr);
      std::tm local{};
#if defined(_WIN32)
      localtime_s(&local, &now);
#else
      localtime_r(&now, &local);
#endif
      char buf[512];
      const size_t n = format->text.size() < 200 ? std::strftime(buf, sizeof buf, format->text.c_str(), &local) : 0;
      return Value::from_string(std::string(buf, n));
    }
    return template_error(line, "'" + name + "' is not callable");
  }

  // ---- operators ----

  Result<Value> eval_binary(const Node& node, const std::shared_ptr<Scope>& scope) {
    if (node.name == "compare") {
      WS_ASSIGN_OR_RETURN(Value left, eval(*node.kids[0], scope));
      for (size_t i = 0; i < node.targets.size(); ++i) {
        WS_ASSIGN_OR_RETURN(Value right, eval(*node.kids[i + 1], scope));
        WS_ASSIGN_OR_RETURN(bool holds, compare(node.targets[i], left, right, node.line));
        if (!holds) return Value::from_bool(false);
        left = std::move(right);
      }
      return Value::from_bool(true);
    }
    WS_ASSIGN_OR_RETURN(Value a, eval(*node.kids[0], scope));
    WS_ASSIGN_OR_RETURN(Value b, eval(*node.kids[1], scope));
    Result<Value> r = arithmetic(node.name, a, b, node.line);
    if (r && r->is_string()) WS_TRY(check_size(r->text.size(), node.line));
    return r;
  }

  Result<bool> compare(const std::string& op, const Value& a, const Value& b, int line) {
    if (op == "==") return equal(a, b);
    if (op == "!=") return !equal(a, b);
    if (op == "in" || op == "notin") {
      CallArgs args;
      args.positional.push_back(b);
      // jinja2's Undefined iterates as empty: nothing is in it.
      if (b.is_undefined()) return op == "notin";
      Result<bool> hit = apply_test("in", a, args);
      if (!hit) return at_line(hit.error(), line);
      return *hit == (op == "in");
    }
    if (a.is_undefined() || b.is_undefined()) return template_error(line, undefined_message(a.is_undefined() ? a : b));
    Result<bool> r = op == "<" || op == ">=" ? less(a, b) : less(b, a);
    if (!r) return at_line(r.error(), line);
    return op == "<" || op == ">" ? *r : !*r;
  }

  Result<Value> arithmetic(const std::string& op, const Value& a, const Value& b, int line) {
    if (op == "~") return Value::from_string(to_str(a) + to_str(b));
    if (a.is_undefined() || b.is_undefined()) return template_error(line, undefined_message(a.is_undefined() ? a : b));
    auto type_error = [&]() {
      return template_error(line, "unsupported operand type(s) for " + op + ": '" + type_name(a) + "' and '" + type_name(b) + "'");
    };
    if (op == "+") {
      if (a.is_string() && b.is_string()) {
        if (!a.markup && !b.markup) return Value::from_string(a.text + b.text);
        return markup_string((a.markup ? a.text : html_escape(a.text)) + (b.markup ? b.text : html_escape(b.text)));
      }
      if (a.is_list() && b.is_list() && a.tuple == b.tuple) {
        WS_TRY(check_size((a.list->size() + b.list->size()) * sizeof(Value), line));
        List items = *a.list;
        items.insert(items.end(), b.list->begin(), b.list->end());
        return Value::from_list(std::move(items), a.tuple);
      }
      if (a.is_string() || b.is_string()) {
        return template_error(line, "can only concatenate str (not \"" + type_name(a.is_string() ? b : a) + "\") to str");
      }
    }
    if (op == "*" && (a.is_string() || a.is_list() || b.is_string() || b.is_list())) {
      const Value& seq = a.is_string() || a.is_list() ? a : b;
      const Value& count = &seq == &a ? b : a;
      if (count.type != Type::Int && count.type != Type::Bool) return type_error();
      const int64_t times = std::max<int64_t>(count.type == Type::Int ? count.integer : count.boolean, 0);
      const size_t unit = seq.is_string() ? seq.text.size() : seq.list->size() * sizeof(Value);
      if (unit && static_cast<uint64_t>(times) > limits_.max_output_bytes / unit) {
        return make_error(ErrorKind::OutOfBudget, "template line " + std::to_string(line) + ": repetition too large");
      }
      if (seq.is_string()) {
        std::string out;
        for (int64_t i = 0; i < times; ++i) out += seq.text;
        return Value::from_string(std::move(out));
      }
      List items;
      for (int64_t i = 0; i < times; ++i) items.insert(items.end(), seq.list->begin(), seq.list->end());
      return Value::from_list(std::move(items), seq.tuple);
    }
    if (op == "%" && a.is_string()) {
      Result<Value> r = percent_format(a.text, b);
      if (!r) return at_line(r.error(), line);
      return r;
    }
    if (!a.is_number() || !b.is_number()) return type_error();
    const bool ints = a.type != Type::Float && b.type != Type::Float;
    const int64_t x = ints ? (a.type == Type::Bool ? a.boolean : a.integer) : 0;
    const int64_t y = ints ? (b.type == Type::Bool ? b.boolean : b.integer) : 0;
    const double p = a.as_double(), q = b.as_double();
    if (op == "+") return ints ? Value::from_int(static_cast<int64_t>(static_cast<uint64_t>(x) + static_cast<uint64_t>(y))) : Value::from_float(p + q);
    if (op == "-") return ints ? Value::from_int(static_cast<int64_t>(static_cast<uint64_t>(x) - static_cast<uint64_t>(y))) : Value::from_float(p - q);
    if (op == "*") return ints ? Value::from_int(static_cast<int64_t>(static_cast<uint64_t>(x) * static_cast<uint64_t>(y))) : Value::from_float(p * q);
    if (op == "/") {
      if (q == 0) return template_error(line, "division by zero");
      return Value::from_float(p / q);
    }
    if (op == "//" || op == "%") {
      if (q == 0) return template_error(line, op == "//" ? "integer division or modulo by zero" : "integer modulo by zero");
      if (ints) {
        if (x == INT64_MIN && y == -1) return op == "//" ? Value::from_float(-static_cast<double>(x)) : Value::from_int(0);
        int64_t quotient = x / y, remainder = x % y;
        if (remainder != 0 && ((remainder < 0) != (y < 0))) { --quotient; remainder += y; }
        return Value::from_int(op == "//" ? quotient : remainder);
      }
      const double quotient = std::floor(p / q);
      if (op == "//") return Value::from_float(quotient);
      double m = std::fmod(p, q);
      if (m != 0 && ((m < 0) != (q < 0))) m += q;
      return Value::from_float(m);
    }
    if (op == "**") {
      if (ints && y >= 0) {
        int64_t result = 1;
        for (int64_t i = 0; i < y && i < 64; ++i) result = static_cast<int64_t>(static_cast<uint64_t>(result) * static_cast<uint64_t>(x));
        if (y >= 64 && x != 0 && x != 1 && x != -1) return Value::from_float(std::pow(p, q));
        return Value::from_int(result);
      }
      return Value::from_float(std::pow(p, q));
    }
    return type_error();
  }
};

}  // namespace

}  // namespace jinja

Result<JinjaTemplate> JinjaTemplate::parse(std::string_view source, const TemplateLimits& limits) {
  JinjaTemplate t;
  WS_ASSIGN_OR_RETURN(t.program_, jinja::parse_program(source, limits.max_depth));
  t.limits_ = limits;
  return t;
}

Result<std::string> JinjaTemplate::render(const nlohmann::ordered_json& context) const {
  std::string out;
  {
    jinja::Renderer renderer(limits_, &out);
    WS_TRY(renderer.render(*program_, context));
  }
  return out;
}

}  // namespace ws
