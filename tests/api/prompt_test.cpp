// tokenizer_config.json's chat_template as every target reads it (src/generate/chat): every shape a
// hostile file can give is "no template", never an exception (value() threw
// type_error 302 on a non-string "name").
#include <gtest/gtest.h>

#include "generate/chat.h"

namespace ws {
namespace {

TEST(ChatTemplateText, WrongTypesInTheTemplateListAreSkipped) {
  for (const char* config : {R"({"chat_template": [{"name": 1, "template": "x"}]})",
                             R"({"chat_template": [{"name": ["default"], "template": "x"}]})",
                             R"({"chat_template": [{"name": "default", "template": 3}]})",
                             R"({"chat_template": [null, 1, "s", [], {"name": null}]})",
                             R"({"chat_template": 7})", R"([1, 2])", R"({"chat_template": "a", "chat_template": "b"})",
                             "not json"}) {
    std::string text;
    ASSERT_NO_THROW(text = chat_template_in_config(config)) << config;
    EXPECT_EQ(text, "") << config;
  }
}

TEST(ChatTemplateText, TheDefaultEntryOfAListIsFound) {
  EXPECT_EQ(chat_template_in_config(R"({"chat_template": [{"name": 2}, {"name": "tool_use", "template": "t"},
                                                     {"name": "default", "template": "d"}]})"),
            "d");
  EXPECT_EQ(chat_template_in_config(R"({"chat_template": "plain"})"), "plain");
}

TEST(ChatTemplateText, ANamedEntryIsFoundByName) {
  const char* config = R"({"chat_template": [{"name": "default", "template": "d"}, {"name": "tool_use", "template": "t"},
                                              {"name": "rag", "template": "r"}]})";
  EXPECT_EQ(chat_template_in_config(config, "tool_use"), "t");
  EXPECT_EQ(chat_template_in_config(config, "rag"), "r");
  EXPECT_EQ(chat_template_in_config(config, "nope"), "");
  EXPECT_EQ(chat_template_in_config(R"({"chat_template": "plain"})", "tool_use"), "plain");
}

TEST(ChatTemplateText, NestedTooDeepIsNoTemplate) {
  const std::string deep = R"({"chat_template": )" + std::string(100'000, '[') + std::string(100'000, ']') + "}";
  EXPECT_EQ(chat_template_in_config(deep), "");
}

}  // namespace
}  // namespace ws
