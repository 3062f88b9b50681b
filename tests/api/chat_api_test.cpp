// The C++ library's chat entry points on the real SmolLM2 GGUF: the rendered
// conversation is the native CLI's `tokenize --messages` text (which
// cli.tokenize_parity checks against transformers), and chat() answers and
// stops at the template's end of turn.
#include <gtest/gtest.h>

#include <unistd.h>

#include "native/test_support.h"
#include "require.h"
#include "weightstream/weightstream.h"

namespace {

bool have_smollm2() { return ::access(WS_SMOLLM2_GGUF, R_OK) == 0; }

TEST(LanguageModelChat, RendersLikeTheCliAndAnswers) {
  if (!have_smollm2()) WS_SKIP_UNLESS_REQUIRED("WS_REQUIRE_ALL", WS_SMOLLM2_GGUF " absent (.ci/setup.d/30-smollm2.sh)");
  ws::Result<ws::LanguageModel> model = ws::LanguageModel::load(WS_SMOLLM2_GGUF);
  ASSERT_TRUE(model) << model.error().to_string();
  EXPECT_TRUE(model->has_chat_template());
  const std::vector<ws::ChatMessage> messages = {{"system", "You are terse."}, {"user", "Hi"}, {"assistant", "Hello."},
                                                 {"user", "What is the capital of France? Answer in one sentence."}};
  ws::Result<std::string> text = model->apply_chat_template(messages);
  ASSERT_TRUE(text) << text.error().to_string();

  const std::string path = ::testing::TempDir() + "/ws_api_messages.json";
  nlohmann::json list = nlohmann::json::array();
  for (const auto& m : messages) list.push_back({{"role", m.role}, {"content", m.content}});
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs(list.dump().c_str(), f);
  std::fclose(f);
  auto [status, out] = ws::test::run_command(std::string(WS_CLI) + " tokenize " + WS_SMOLLM2_GGUF + " --messages " + path + " --json");
  ASSERT_EQ(status, 0) << out;
  EXPECT_EQ(*text, nlohmann::json::parse(out)["text"].get<std::string>());

  ws::GenerationOptions options;
  options.max_new_tokens = 40;
  ws::Result<ws::Generation> answer = model->chat(messages, options);
  ASSERT_TRUE(answer) << answer.error().to_string();
  EXPECT_TRUE(answer->stopped_at_eos);
  EXPECT_NE(answer->text.find("Paris"), std::string::npos) << answer->text;
  EXPECT_EQ(answer->text.find("<|im_end|>"), std::string::npos) << answer->text;
}

// The cross-target chat (tests/web/chat_parity.test.mjs runs it on the CLI,
// Node and Chromium): chat() and generate() with options.chat + system give the
// CLI's prompt ids and greedy ids, and the streamed pieces carry no
// end-of-turn text.
TEST(LanguageModelChat, SameChatAsTheCliStreamsNoEndOfTurnText) {
  if (!have_smollm2()) WS_SKIP_UNLESS_REQUIRED("WS_REQUIRE_ALL", WS_SMOLLM2_GGUF " absent (.ci/setup.d/30-smollm2.sh)");
  const std::string system = "Answer in one word.", user = "What is the capital of France?";
  auto [status, out] = ws::test::run_command(std::string(WS_CLI) + " generate " + WS_SMOLLM2_GGUF + " --chat --system '" +
                                             system + "' --prompt '" + user +
                                             "' --max-new-tokens 16 --temperature 0 --threads 1 --json");
  ASSERT_EQ(status, 0) << out;
  const nlohmann::json cli = nlohmann::json::parse(out);
  ASSERT_TRUE(cli["stopped_at_eos"].get<bool>()) << "the answer ends at its end of turn within 16 tokens";

  ws::Result<ws::LanguageModel> model = ws::LanguageModel::load(WS_SMOLLM2_GGUF);
  ASSERT_TRUE(model) << model.error().to_string();
  ws::GenerationOptions options;
  options.max_new_tokens = 16;
  std::vector<std::string> pieces;
  auto collect = [&](const std::string& piece) {
    pieces.push_back(piece);
    return true;
  };
  auto check = [&](const ws::Generation& g, const char* label) {
    EXPECT_EQ(g.prompt_ids, cli["prompt_ids"].get<std::vector<int32_t>>()) << label;
    EXPECT_EQ(g.ids, cli["ids"].get<std::vector<int32_t>>()) << label;
    EXPECT_TRUE(g.stopped_at_eos) << label;
    EXPECT_EQ(g.text, cli["text"].get<std::string>()) << label;
    std::string streamed;
    for (const std::string& piece : pieces) {
      streamed += piece;
      for (const char* end : {"<|im_end|>", "<|endoftext|>", "<|im_start|>"}) {
        EXPECT_EQ(piece.find(end), std::string::npos) << label << ": streamed " << piece;
      }
    }
    EXPECT_EQ(streamed, g.text) << label;
    pieces.clear();
  };
  ws::Result<ws::Generation> chat = model->chat({{"system", system}, {"user", user}}, options, collect);
  ASSERT_TRUE(chat) << chat.error().to_string();
  check(*chat, "chat()");
  options.chat = true;
  options.system = system;
  ws::Result<ws::Generation> generated = model->generate(user, options, collect);
  ASSERT_TRUE(generated) << generated.error().to_string();
  check(*generated, "generate() with options.chat");
}

TEST(LanguageModelChat, WithoutATemplateChatIsUnsupported) {
  ws::Result<ws::LanguageModel> model = ws::LanguageModel::load(std::string(WS_FIXTURES_DIR) + "/models/gpt2");
  ASSERT_TRUE(model) << model.error().to_string();
  EXPECT_FALSE(model->has_chat_template());
  ws::Result<std::string> text = model->apply_chat_template({{"user", "hi"}});
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().kind, ws::ErrorKind::Unsupported);
  EXPECT_FALSE(model->chat({{"user", "hi"}}));
}

}  // namespace
