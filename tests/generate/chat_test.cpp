// Chat templates rendered natively must equal transformers' Jinja rendering
// (tests/generate/make_chat_fixtures.py) of the same conversations.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "generate/chat.h"
#include "require.h"

namespace ws {
namespace {

TEST(Chat, MatchesTransformersApplyChatTemplate) {
  std::ifstream file(std::string(WS_FIXTURES_DIR) + "/chat/cases.json");
  ASSERT_TRUE(file.good()) << "run the fixtures.chat test first";
  const nlohmann::json cases = nlohmann::json::parse(file);
  ASSERT_GE(cases.size(), 24u);
  // Every template's cases are there: the script fails rather than drop one.
  std::set<std::string> names;
  for (const nlohmann::json& c : cases) names.insert(c["name"].get<std::string>());
  for (const char* name : {"llama2", "qwen2", "plain_chatml"}) EXPECT_EQ(names.count(name), 1u) << name;
  if (::access(WS_SMOLLM2_GGUF, R_OK) == 0 || test::required_by("WS_REQUIRE_ALL")) {
    EXPECT_EQ(names.count("model_gguf"), 1u) << "no cases of " << WS_SMOLLM2_GGUF << "'s own template";
  }
  for (const nlohmann::json& c : cases) {
    SCOPED_TRACE(c["name"].get<std::string>() + " " + c["messages"].dump());
    Result<ChatTemplate> chat = parse_chat_template(c["template"].get<std::string>());
    ASSERT_TRUE(chat.is_ok()) << chat.error().to_string();
    std::vector<ChatMessage> messages;
    for (const nlohmann::json& m : c["messages"]) messages.push_back({m["role"], m["content"]});
    Result<std::string> rendered = render_chat(*chat, messages, c["add_generation_prompt"].get<bool>());
    ASSERT_TRUE(rendered.is_ok()) << rendered.error().to_string();
    EXPECT_EQ(*rendered, c["expected"].get<std::string>());
  }
}

TEST(Chat, UnknownTemplateIsUnsupported) {
  Result<ChatTemplate> chat = parse_chat_template("{% for m in messages %}<|user|>{{ m['content'] }}{% endfor %}");
  ASSERT_FALSE(chat.is_ok());
  EXPECT_EQ(chat.error().kind, ErrorKind::Unsupported);
  EXPECT_NE(chat.error().message.find("ChatML"), std::string::npos);
}

TEST(Chat, BadRolesAreRejected) {
  ChatTemplate chatml{ChatStyle::ChatML, "", "<|im_end|>"};
  EXPECT_FALSE(render_chat(chatml, {{"narrator", "x"}}, true).is_ok());
  ChatTemplate llama2{ChatStyle::Llama2, "", "</s>"};
  EXPECT_FALSE(render_chat(llama2, {{"user", "a"}, {"user", "b"}}, true).is_ok());
}

}  // namespace
}  // namespace ws
