// `weightstream generate` on the real built-in default model (SmolLM2-135M-
// Instruct): chat mode answers in coherent English and stops at the end of
// its turn; no model and no prompt use the defaults.
#include <gtest/gtest.h>

#include <cstdio>
#include <unistd.h>

#include "native/test_support.h"
#include "require.h"

namespace ws {
namespace {

bool have_smollm2() { return ::access(WS_SMOLLM2_GGUF, R_OK) == 0; }

nlohmann::json run_json(const std::string& arguments) {
  auto [status, out] = test::run_command(std::string(WS_CLI) + " generate " + arguments + " --json");
  EXPECT_EQ(status, 0) << out;
  return nlohmann::json::parse(out, nullptr, false);
}

TEST(CliChat, AnswersAndStopsAtTheEndOfTurn) {
  if (!have_smollm2()) WS_SKIP_UNLESS_REQUIRED("WS_REQUIRE_ALL", WS_SMOLLM2_GGUF " absent (.ci/setup.d/30-smollm2.sh)");
  const nlohmann::json out =
      run_json(std::string(WS_SMOLLM2_GGUF) + " --chat --prompt 'What is the capital of France? Answer in one sentence.' --max-new-tokens 40");
  ASSERT_FALSE(out.is_discarded());
  EXPECT_TRUE(out["stopped_at_eos"].get<bool>());
  const std::string text = out["text"];
  EXPECT_NE(text.find("Paris"), std::string::npos) << text;
  EXPECT_EQ(text.find("<|im_end|>"), std::string::npos) << "the end-of-turn marker leaked into the text: " << text;
  // The prompt is the ChatML conversation, SmolLM2's default system turn included.
  EXPECT_GT(out["prompt_ids"].size(), 20u);
}

TEST(CliChat, DefaultModelAndPrompt) {
  if (!have_smollm2()) WS_SKIP_UNLESS_REQUIRED("WS_REQUIRE_ALL", WS_SMOLLM2_GGUF " absent (.ci/setup.d/30-smollm2.sh)");
  auto [status, out] = test::run_command("WEIGHTSTREAM_MODEL=" + std::string(WS_SMOLLM2_GGUF) + " " + WS_CLI +
                                         " generate --max-new-tokens 24 2>/dev/null");
  EXPECT_EQ(status, 0);
  EXPECT_NE(out.find("Paris"), std::string::npos) << out;
}

// The Q4_1 blocks served from the mapped GGUF give the copied model's ids;
// only the q/k projections (rows reordered by llama.cpp) are copied.
TEST(CliChat, MappedGgufBlocksGiveTheCopiedIds) {
  if (!have_smollm2()) WS_SKIP_UNLESS_REQUIRED("WS_REQUIRE_ALL", WS_SMOLLM2_GGUF " absent (.ci/setup.d/30-smollm2.sh)");
  const std::string args = std::string(WS_SMOLLM2_GGUF) + " --prompt 'The capital of France is' --max-new-tokens 12";
  const nlohmann::json copied = run_json(args);
  const nlohmann::json mapped = run_json(args + " --bind mmap");
  ASSERT_FALSE(copied.is_discarded() || mapped.is_discarded());
  EXPECT_EQ(mapped["ids"], copied["ids"]);
  const uint64_t mapped_bytes = mapped["load"]["mapped_bytes"], bound = mapped["load"]["bound_bytes"];
  EXPECT_GT(bound, 0u);
  EXPECT_GT(mapped_bytes, 5 * bound);
  EXPECT_EQ(mapped_bytes + bound, copied["load"]["bound_bytes"].get<uint64_t>());
}

TEST(CliChat, MessagesFileRendersAMultiTurnConversation) {
  if (!have_smollm2()) WS_SKIP_UNLESS_REQUIRED("WS_REQUIRE_ALL", WS_SMOLLM2_GGUF " absent (.ci/setup.d/30-smollm2.sh)");
  const std::string path = ::testing::TempDir() + "/ws_messages.json";
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs(R"([{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi"},
                 {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "What is the capital of France?"}])",
             f);
  std::fclose(f);
  const nlohmann::json out = run_json(std::string(WS_SMOLLM2_GGUF) + " --messages " + path + " --max-new-tokens 30");
  ASSERT_FALSE(out.is_discarded());
  EXPECT_TRUE(out["stopped_at_eos"].get<bool>());
  EXPECT_NE(out["text"].get<std::string>().find("Paris"), std::string::npos) << out["text"];
  // The system message replaces SmolLM2's default one: the prompt is the four turns.
  auto [status, tokens] = test::run_command(std::string(WS_CLI) + " tokenize " + WS_SMOLLM2_GGUF + " --messages " + path + " --json");
  ASSERT_EQ(status, 0) << tokens;
  const nlohmann::json rendered = nlohmann::json::parse(tokens, nullptr, false);
  ASSERT_FALSE(rendered.is_discarded()) << tokens;
  EXPECT_EQ(rendered["ids"], out["prompt_ids"]);
  EXPECT_EQ(rendered["text"].get<std::string>().find("SmolLM"), std::string::npos) << rendered["text"];
}

TEST(CliChat, BadMessagesFileIsAnInvalidArgument) {
  const std::string path = ::testing::TempDir() + "/ws_bad_messages.json";
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs(R"({"role": "user"})", f);
  std::fclose(f);
  auto [status, out] = test::run_command(std::string(WS_CLI) + " tokenize x --messages " + path + " 2>&1");
  EXPECT_EQ(status, 1);  // the file's content, read at run time (the command line was fine)
  EXPECT_NE(out.find("InvalidArgument"), std::string::npos) << out;
}

TEST(CliChat, TokenizeUsageErrors) {
  for (const char* args : {"", " x", " x --text a --messages m.json", " x --text a --chat", " x --prompt a --system s",
                           " x --text a --prompt b"}) {
    EXPECT_EQ(test::run_command(std::string(WS_CLI) + " tokenize" + args + " 2>/dev/null").first, 2) << args;
  }
  EXPECT_EQ(test::run_command(std::string(WS_CLI) + " generate x --messages m.json --prompt a 2>/dev/null").first, 2);
}

TEST(CliChat, ChatWithoutTextIsAUsageError) {
  EXPECT_EQ(test::run_command(std::string(WS_CLI) + " generate x --chat --prompt-ids 1,2 2>/dev/null").first, 2);
}

TEST(CliChat, MissingDefaultModelIsAClearError) {
  auto [status, out] = test::run_command("WEIGHTSTREAM_MODEL=/nonexistent/model.gguf " + std::string(WS_CLI) +
                                         " generate 2>&1");
  EXPECT_EQ(status, 1);
  EXPECT_NE(out.find("NotFound"), std::string::npos) << out;
}

}  // namespace
}  // namespace ws
