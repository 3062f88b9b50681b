// `weightstream generate` end to end on the transformers-written GPT-2
// fixture (with its byte-level BPE tokenizer.json): the same ids as
// transformers' generate(do_sample=False), the same decoded text, streaming
// output, exit statuses. Skipped while the CLI binary has no generate command.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "model_fixture.h"

namespace ws::test {
namespace {

struct CliRun {
  int status;
  std::string out;
};

CliRun run_cli(const std::string& arguments) {
  const std::string command = std::string(WS_CLI) + " generate " + arguments + " 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  CliRun run{-1, ""};
  if (!pipe) return run;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) run.out.append(buffer, n);
  const int status = pclose(pipe);
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

nlohmann::json reference_json() {
  std::ifstream file(fixture_dir("gpt2") + "/reference.json");
  std::stringstream text;
  text << file.rdbuf();
  return nlohmann::json::parse(text.str(), nullptr, false);
}

std::string join(const nlohmann::json& ids) {
  std::string s;
  for (const auto& id : ids) s += (s.empty() ? "" : ",") + std::to_string(id.get<int>());
  return s;
}

class CliGenerate : public testing::Test {
 protected:
  void SetUp() override {
    ref_ = reference_json();
    ASSERT_FALSE(ref_.is_discarded());
  }
  nlohmann::json ref_;
};

TEST_F(CliGenerate, PromptIdsJsonMatchesTransformers) {
  CliRun run = run_cli(fixture_dir("gpt2") + " --prompt-ids " + join(ref_["prompt"]) +
                    " --max-new-tokens 32 --threads 2 --json");
  ASSERT_EQ(run.status, 0) << run.out;
  const nlohmann::json out = nlohmann::json::parse(run.out, nullptr, false);
  ASSERT_FALSE(out.is_discarded()) << run.out;
  EXPECT_EQ(out["prompt_ids"], ref_["prompt"]);
  EXPECT_EQ(out["ids"], ref_["greedy"]);
  EXPECT_GT(out["load"]["bound_bytes"].get<uint64_t>(), 0u);
  EXPECT_GT(out["load"]["peak_rss_bytes"].get<uint64_t>(), 0u);
  EXPECT_TRUE(out["decode_tokens_per_second"].is_number());
  EXPECT_TRUE(out["prefill_tokens_per_second"].is_number());
}

TEST_F(CliGenerate, TextPromptIsTokenizedAndStreamedBack) {
  const std::string prompt = ref_["text_prompt"].get<std::string>();
  CliRun json_run = run_cli(fixture_dir("gpt2") + " --prompt '" + prompt + "' --max-new-tokens 32 --json");
  ASSERT_EQ(json_run.status, 0);
  const nlohmann::json out = nlohmann::json::parse(json_run.out, nullptr, false);
  ASSERT_FALSE(out.is_discarded());
  EXPECT_EQ(out["prompt_ids"], ref_["text_prompt_ids"]);
  EXPECT_EQ(out["ids"], ref_["text_greedy"]);
  // Streaming mode prints the continuation as it is decoded, then a newline.
  CliRun stream = run_cli(fixture_dir("gpt2") + " --prompt '" + prompt + "' --max-new-tokens 32");
  ASSERT_EQ(stream.status, 0);
  ASSERT_FALSE(stream.out.empty());
  EXPECT_EQ(stream.out.back(), '\n');
  EXPECT_EQ(stream.out.substr(0, stream.out.size() - 1), ref_["text_output"].get<std::string>());
}

// --bind mmap computes from the mapped checkpoint: the same ids as
// transformers, every f32 weight of the f32 fixture served from the mapping
// (nothing copied), and a GGUF whose q/k rows llama.cpp reordered has exactly
// those copied.
TEST_F(CliGenerate, MappedWeightsGiveTheSameIds) {
  CliRun run = run_cli(fixture_dir("gpt2") + " --prompt-ids " + join(ref_["prompt"]) +
                       " --max-new-tokens 32 --bind mmap --json");
  ASSERT_EQ(run.status, 0) << run.out;
  const nlohmann::json out = nlohmann::json::parse(run.out, nullptr, false);
  ASSERT_FALSE(out.is_discarded()) << run.out;
  EXPECT_EQ(out["ids"], ref_["greedy"]);
  EXPECT_EQ(out["load"]["bound_bytes"].get<uint64_t>(), 0u);
  EXPECT_GT(out["load"]["mapped_bytes"].get<uint64_t>(), 0u);

  // Converted weights (f32 -> bf16) cannot be views: all are copied.
  CliRun converted = run_cli(fixture_dir("gpt2") + " --prompt-ids " + join(ref_["prompt"]) +
                             " --max-new-tokens 4 --dtype bf16 --bind mmap --json");
  ASSERT_EQ(converted.status, 0) << converted.out;
  const nlohmann::json c = nlohmann::json::parse(converted.out, nullptr, false);
  ASSERT_FALSE(c.is_discarded());
  EXPECT_GT(c["load"]["bound_bytes"].get<uint64_t>(), 0u);

  EXPECT_EQ(run_cli(fixture_dir("gpt2") + " --prompt-ids 1 --bind view").status, 2);
}

// Q8_0 blocks mapped from a GGUF stay in ggml's layout (the backend packs only
// the bytes it owns; the mapping is read-only) and give the copied, packed
// model's ids.
TEST_F(CliGenerate, MappedQ8_0GgufGivesTheCopiedIds) {
  char dir[] = "/tmp/ws-mapped-q8-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string gguf = std::string(dir) + "/model.gguf";
  const std::string convert = std::string(WS_CLI) + " convert " + fixture_dir("llama_gqa") + " " + gguf +
                              " --dtype q8_0 > /dev/null 2>&1";
  ASSERT_EQ(std::system(convert.c_str()), 0);
  const std::string args = gguf + " --prompt-ids 1,2,3,4 --max-new-tokens 12 --json";
  CliRun copied = run_cli(args), mapped = run_cli(args + " --bind mmap");
  ASSERT_EQ(copied.status, 0) << copied.out;
  ASSERT_EQ(mapped.status, 0) << mapped.out;
  const nlohmann::json c = nlohmann::json::parse(copied.out, nullptr, false);
  const nlohmann::json m = nlohmann::json::parse(mapped.out, nullptr, false);
  ASSERT_FALSE(c.is_discarded() || m.is_discarded());
  EXPECT_EQ(m["ids"], c["ids"]);
  EXPECT_GT(m["load"]["mapped_bytes"].get<uint64_t>(), m["load"]["bound_bytes"].get<uint64_t>());
  std::remove(gguf.c_str());
  ::rmdir(dir);
}

TEST_F(CliGenerate, ExitStatuses) {
  EXPECT_EQ(run_cli(fixture_dir("gpt2") + " --prompt-ids 1,2 --dtype f8").status, 2);
  EXPECT_EQ(run_cli(fixture_dir("gpt2") + " --prompt-ids 1,x").status, 2);
  EXPECT_EQ(run_cli(fixture_dir("gpt2") + " --prompt a --prompt-ids 1").status, 2);  // two prompts
  EXPECT_EQ(run_cli(fixture_dir("gpt2") + " " + fixture_dir("gpt2")).status, 2);      // two models
  EXPECT_EQ(run_cli(fixture_dir("gpt2") + " --max-new-tokens 2").status, 0);          // default prompt
  EXPECT_EQ(run_cli(fixture_dir("does_not_exist") + " --prompt-ids 1").status, 1);
  // An id >= vocab_size is found once the model is open: a run-time error.
  EXPECT_EQ(run_cli(fixture_dir("gpt2") + " --prompt-ids 999999").status, 1);
}

// Exit status 2 is for the command line only: InvalidArgument found at run
// time (a prompt longer than --max-context; the command line was fine) is 1.
TEST_F(CliGenerate, RunTimeInvalidArgumentExitsOneUnknownOptionTwo) {
  const std::string args = fixture_dir("gpt2") + " --prompt-ids 1,2,3,4,5 --max-context 3 --max-new-tokens 1";
  FILE* pipe = popen((std::string(WS_CLI) + " generate " + args + " 2>&1").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  const int status = pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status)) << out;
  EXPECT_EQ(WEXITSTATUS(status), 1) << out;
  EXPECT_NE(out.find("InvalidArgument"), std::string::npos) << out;
  EXPECT_EQ(run_cli(fixture_dir("gpt2") + " --prompt-ids 1,2 --max-context 3 --no-such-option").status, 2);
  EXPECT_EQ(run_cli(fixture_dir("gpt2") + " --prompt-ids 1,2 --max-context three").status, 2);
}

}  // namespace
}  // namespace ws::test
