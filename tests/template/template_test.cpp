// The engine's own contract: typed errors naming the template line, and the
// limits that keep a hostile template from hanging or exhausting memory.
// (What it renders is checked against jinja2 by template_parity.py.)
#include <gtest/gtest.h>

#include "template/template.h"

namespace ws {
namespace {

using json = nlohmann::ordered_json;

Result<std::string> render(const std::string& source, const json& context = json::object(), TemplateLimits limits = {}) {
  Result<JinjaTemplate> t = JinjaTemplate::parse(source, limits);
  if (!t) return t.error();
  return t->render(context);
}

TEST(JinjaTemplate, RendersAChatTemplate) {
  const std::string source =
      "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";
  json context = {{"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}, {"add_generation_prompt", true}};
  Result<std::string> out = render(source, context);
  ASSERT_TRUE(out) << out.error().to_string();
  EXPECT_EQ(*out, "<|user|>hi\n<|assistant|>");
}

TEST(JinjaTemplate, SyntaxErrorNamesTheLine) {
  Result<std::string> out = render("line one\n{% if x %}\nok\n{% endfor %}");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind, ErrorKind::Template);
  EXPECT_NE(out.error().message.find("template line 4"), std::string::npos) << out.error().message;
}

TEST(JinjaTemplate, UnclosedBlockIsATemplateError) {
  Result<std::string> out = render("{% for x in y %}\n{{ x }}");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind, ErrorKind::Template);
  EXPECT_NE(out.error().message.find("endfor"), std::string::npos) << out.error().message;
}

TEST(JinjaTemplate, RaiseExceptionIsATemplateErrorWithItsMessageAndLine) {
  Result<std::string> out = render("a\nb\n{{ raise_exception('roles must alternate') }}");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind, ErrorKind::Template);
  EXPECT_NE(out.error().message.find("template line 3"), std::string::npos) << out.error().message;
  EXPECT_NE(out.error().message.find("roles must alternate"), std::string::npos) << out.error().message;
}

TEST(JinjaTemplate, AttributeOfUndefinedIsAnErrorButPrintingItIsNot) {
  Result<std::string> printed = render("[{{ nothing }}][{{ m.missing }}]", {{"m", json::object()}});
  ASSERT_TRUE(printed) << printed.error().to_string();
  EXPECT_EQ(*printed, "[][]");
  Result<std::string> used = render("\n{{ nothing.attr }}");
  ASSERT_FALSE(used);
  EXPECT_EQ(used.error().kind, ErrorKind::Template);
  EXPECT_NE(used.error().message.find("template line 2"), std::string::npos) << used.error().message;
  EXPECT_NE(used.error().message.find("'nothing' is undefined"), std::string::npos) << used.error().message;
}

TEST(JinjaTemplate, SelfContainingRecursiveLoopStopsAtTheDepthBudget) {
  Result<std::string> out =
      render("{% set ns = namespace() %}{% set ns.k = [ns] %}{% for n in [ns] recursive %}{{ loop(n.k) }}{% endfor %}");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind, ErrorKind::OutOfBudget);
}

TEST(JinjaTemplate, LoopCallOutsideARecursiveLoopIsATemplateError) {
  Result<std::string> out = render("{% for x in [1] %}\n{{ loop([2]) }}{% endfor %}");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind, ErrorKind::Template);
  EXPECT_NE(out.error().message.find("template line 2"), std::string::npos) << out.error().message;
}

TEST(JinjaTemplate, UnknownFilterIsUnsupported) {
  Result<std::string> out = render("{{ 'x' | no_such_filter }}");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind, ErrorKind::Unsupported);
}

TEST(JinjaTemplate, EndlessLoopsStopAtTheStepBudget) {
  TemplateLimits limits;
  limits.max_steps = 10000;
  Result<std::string> out =
      render("{% for a in range(1000) %}{% for b in range(1000) %}{{ b }}{% endfor %}{% endfor %}", json::object(), limits);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind, ErrorKind::OutOfBudget);
}

TEST(JinjaTemplate, ExponentialStringsStopAtTheOutputBudget) {
  TemplateLimits limits;
  limits.max_output_bytes = 1 << 20;
  Result<std::string> out = render(
      "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
      json::object(), limits);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind, ErrorKind::OutOfBudget);
  Result<std::string> repeated = render("{{ 'x' * 100000000000 }}", json::object(), limits);
  ASSERT_FALSE(repeated);
  EXPECT_EQ(repeated.error().kind, ErrorKind::OutOfBudget);
}

TEST(JinjaTemplate, DeepNestingIsRejectedWhenParsing) {
  std::string source = "{{ ";
  for (int i = 0; i < 5000; ++i) source += "(";
  source += "1";
  for (int i = 0; i < 5000; ++i) source += ")";
  source += " }}";
  Result<std::string> out = render(source);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind, ErrorKind::Template);
}

TEST(JinjaTemplate, RecursiveMacrosStopAtTheDepthLimit) {
  Result<std::string> out = render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind, ErrorKind::OutOfBudget);
}

TEST(JinjaTemplate, DeeplyNestedValuesAreRefused) {
  // Each iteration wraps the list once more: comparing or freeing a 100000-deep
  // list would recurse 100000 frames.
  Result<std::string> out = render(
      "{% set ns = namespace(x=1) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x == ns.x }}");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind, ErrorKind::OutOfBudget);
}

TEST(JinjaTemplate, SelfReferencingNamespacePrintsWithoutRecursingForever) {
  Result<std::string> out = render("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}");
  ASSERT_TRUE(out) << out.error().to_string();
  EXPECT_NE(out->find("..."), std::string::npos);
}

TEST(JinjaTemplate, IntegersBeyondInt64WrapInsteadOfOverflowing) {
  // Python's ints are unbounded; ours are int64 and wrap (the sanitizer build
  // checks that no step of it is undefined behaviour).
  Result<std::string> out = render(
      "{{ -(-9223372036854775807 - 1) }} {{ 9223372036854775807 + 1 }} {{ (-9223372036854775807 - 1)|abs }} "
      "{{ [9223372036854775807, 1]|sum }} {{ -1e300|int }} {{ '%d' % 1e300 }} {{ 'ab'[::-9223372036854775807] }}");
  ASSERT_TRUE(out) << out.error().to_string();
  EXPECT_EQ(*out, "-9223372036854775808 -9223372036854775808 -9223372036854775808 -9223372036854775808 "
                  "-9223372036854775808 9223372036854775807 b");
}

TEST(JinjaTemplate, ContextMustBeAnObject) {
  Result<std::string> out = render("x", json::array());
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind, ErrorKind::InvalidArgument);
}

}  // namespace
}  // namespace ws
