// Chat templates run by the Jinja engine must equal transformers'
// apply_chat_template rendering (tests/generate/make_chat_fixtures.py) of the
// same conversations. (tests/template/template_parity.py covers many more
// real templates; this checks the chat layer: context variables, errors.)
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "generate/chat.h"
#include "require.h"

namespace ws {
namespace {

using ojson = nlohmann::ordered_json;

// The special tokens make_chat_fixtures.py gives its tokenizer.
const char* kConfig = R"({"bos_token": "<s>", "eos_token": {"content": "</s>", "lstrip": false}, "unk_token": "<unk>"})";

TEST(Chat, MatchesTransformersApplyChatTemplate) {
  std::ifstream file(std::string(WS_FIXTURES_DIR) + "/chat/cases.json");
  ASSERT_TRUE(file.good()) << "run the fixtures.chat test first";
  const ojson cases = ojson::parse(file);
  ASSERT_GE(cases.size(), 24u);
  // Every template's cases are there: the script fails rather than drop one.
  std::set<std::string> names;
  for (const ojson& c : cases) names.insert(c["name"].get<std::string>());
  for (const char* name : {"llama2", "qwen2", "plain_chatml"}) EXPECT_EQ(names.count(name), 1u) << name;
  if (::access(WS_SMOLLM2_GGUF, R_OK) == 0 || test::required_by("WS_REQUIRE_ALL")) {
    EXPECT_EQ(names.count("model_gguf"), 1u) << "no cases of " << WS_SMOLLM2_GGUF << "'s own template";
  }
  for (const ojson& c : cases) {
    SCOPED_TRACE(c["name"].get<std::string>() + " " + c["messages"].dump());
    Result<ChatTemplate> chat = parse_chat_template(c["template"].get<std::string>(), kConfig);
    ASSERT_TRUE(chat.is_ok()) << chat.error().to_string();
    Result<std::string> rendered = render_chat(*chat, c["messages"], c["add_generation_prompt"].get<bool>());
    ASSERT_TRUE(rendered.is_ok()) << rendered.error().to_string();
    EXPECT_EQ(*rendered, c["expected"].get<std::string>());
  }
}

TEST(Chat, AnyTemplateRuns) {
  Result<ChatTemplate> chat = parse_chat_template("{% for m in messages %}<|{{ m.role }}|>{{ m['content'] }}{% endfor %}{{ eos_token }}", kConfig);
  ASSERT_TRUE(chat.is_ok()) << chat.error().to_string();
  Result<std::string> text = render_chat(*chat, ojson::parse(R"([{"role": "user", "content": "hi"}])"), true);
  ASSERT_TRUE(text.is_ok()) << text.error().to_string();
  EXPECT_EQ(*text, "<|user|>hi</s>");
}

TEST(Chat, SyntaxErrorIsATemplateErrorWithItsLine) {
  Result<ChatTemplate> chat = parse_chat_template("{% for m in messages %}\n{{ m.content }\n{% endfor %}");
  ASSERT_FALSE(chat.is_ok());
  EXPECT_EQ(chat.error().kind, ErrorKind::Template);
  EXPECT_NE(chat.error().message.find("template line 2"), std::string::npos) << chat.error().message;
}

TEST(Chat, RaiseExceptionInTheTemplateIsATemplateError) {
  std::ifstream file(std::string(WS_SOURCE_DIR) + "/tests/data/templates/llama2-chat.jinja");
  const std::string llama2((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  Result<ChatTemplate> chat = parse_chat_template(llama2, kConfig);
  ASSERT_TRUE(chat.is_ok()) << chat.error().to_string();
  Result<std::string> text =
      render_chat(*chat, ojson::parse(R"([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])"), true);
  ASSERT_FALSE(text.is_ok());
  EXPECT_EQ(text.error().kind, ErrorKind::Template);
  EXPECT_NE(text.error().message.find("alternate"), std::string::npos) << text.error().message;
}

TEST(Chat, EndOfTurnMarkerIsWhatFollowsAnAssistantMessage) {
  Result<ChatTemplate> chatml = parse_chat_template(
      "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}");
  ASSERT_TRUE(chatml.is_ok());
  EXPECT_EQ(end_of_turn_marker(*chatml), "<|im_end|>");
  Result<ChatTemplate> llama3 = parse_chat_template(
      "{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n{{ m.content | trim }}<|eot_id|>{% endfor %}");
  ASSERT_TRUE(llama3.is_ok());
  EXPECT_EQ(end_of_turn_marker(*llama3), "<|eot_id|>");
}

TEST(Chat, TemplateSourcesAreTakenInTransformersOrder) {
  const std::string jinja = "from jinja", json_file = R"({"chat_template": "from json"})";
  const std::string config = R"({"chat_template": [{"name": "tool_use", "template": "tools"}, {"name": "default", "template": "from config"}]})";
  EXPECT_EQ(find_chat_template(&jinja, &json_file, &config).text, "from jinja");
  EXPECT_EQ(find_chat_template(&jinja, &json_file, &config).origin, "chat_template.jinja");
  EXPECT_EQ(find_chat_template(nullptr, &json_file, &config).text, "from json");
  EXPECT_EQ(find_chat_template(nullptr, nullptr, &config).text, "from config");
  const std::string plain = R"({"chat_template": "plain"})", none = R"({"bos_token": "<s>"})", broken = "{";
  EXPECT_EQ(find_chat_template(nullptr, nullptr, &plain).origin, "tokenizer_config.json");
  EXPECT_EQ(find_chat_template(nullptr, nullptr, &none).text, "");
  EXPECT_EQ(find_chat_template(nullptr, &broken, &broken).text, "");
}

TEST(Chat, MessagesMustBeAnArrayOfObjectsWithRoles) {
  EXPECT_TRUE(parse_chat_messages(R"([{"role": "user", "content": "x"}])", "m.json").is_ok());
  for (const char* bad : {"{", R"({"role": "user"})", R"([1])", R"([{"content": "x"}])", R"([{"role": "user", "content": 3}])"}) {
    Result<ojson> parsed = parse_chat_messages(bad, "m.json");
    ASSERT_FALSE(parsed.is_ok()) << bad;
    EXPECT_EQ(parsed.error().kind, ErrorKind::InvalidArgument);
    EXPECT_NE(parsed.error().message.find("m.json"), std::string::npos);
  }
}

}  // namespace
}  // namespace ws
